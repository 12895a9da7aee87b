"""Evaluate a policy record and store results keyed by policy (patterns A1, K1, P1 into Simulation)."""

import logging
from typing import Any

from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord
from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore
from metta.sim.simulation import Simulation

logger = logging.getLogger(__name__)


def evaluate_policy(  # TODO(simple-ckpt): callers no longer pass policy_store to evaluate_policy() (the codemod drops it at call sites): remove this parameter and its uses; PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    *,
    policy_record: PolicyRecord,
    simulations: dict[str, Any],
    device: Any,
    policy_store: PolicyStore,
    stats_client: Any | None = None,
) -> dict[str, float]:
    pr = policy_record
    logger.info("evaluating %s", pr.uri)  # TODO(simple-ckpt): pr.uri: becomes the bare checkpoint path (no file:// or wandb:// scheme); check comparisons and keys
    scores: dict[str, float] = {}
    for name, cfg in simulations.items():
        sim = Simulation(name, cfg, policy_record, policy_store, device=device)  # TODO(simple-ckpt): policy_record is a PolicyRecord passed on: decide what replaces it (decision F1); policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
        scores[name] = sim.simulate()["reward"]
    if stats_client is not None:
        key, version = stats_client.key_and_version(policy_record)  # TODO(simple-ckpt): policy_record is a PolicyRecord passed on: decide what replaces it (decision F1)
        stats_client.record(key, version, scores)
    return scores
