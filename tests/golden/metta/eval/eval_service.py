"""Evaluate a policy record and store results keyed by policy (patterns A1, K1, P1 into Simulation)."""

import logging
from typing import Any

from metta.sim.simulation import Simulation

logger = logging.getLogger(__name__)


def evaluate_policy(
    *,
    policy_record: str,
    simulations: dict[str, Any],
    device: Any,
    stats_client: Any | None = None,
) -> dict[str, float]:
    pr = policy_record
    logger.info("evaluating %s", pr)
    scores: dict[str, float] = {}
    for name, cfg in simulations.items():
        sim = Simulation(name, cfg, policy_record, device=device)
        scores[name] = sim.simulate()["reward"]
    if stats_client is not None:
        key, version = stats_client.key_and_version(policy_record)
        stats_client.record(key, version, scores)
    return scores
