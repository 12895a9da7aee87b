"""Evaluate a policy record and store results keyed by policy (patterns A1, K1, P1 into Simulation)."""

import logging
from typing import Any

from metta.agent.policy_record import PolicyRecord
from metta.agent.policy_store import PolicyStore
from metta.sim.simulation import Simulation

logger = logging.getLogger(__name__)


def evaluate_policy(
    *,
    policy_record: PolicyRecord,
    simulations: dict[str, Any],
    device: Any,
    policy_store: PolicyStore,
    stats_client: Any | None = None,
) -> dict[str, float]:
    pr = policy_record
    logger.info("evaluating %s", pr.uri)
    scores: dict[str, float] = {}
    for name, cfg in simulations.items():
        sim = Simulation(name, cfg, policy_record, policy_store, device=device)
        scores[name] = sim.simulate()["reward"]
    if stats_client is not None:
        key, version = stats_client.key_and_version(policy_record)
        stats_client.record(key, version, scores)
    return scores
