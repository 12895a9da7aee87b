"""Kickstarting: distil from teacher policies loaded by URI (pattern S1 via self, A2)."""

from typing import Any

from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


class Kickstarter:
    def __init__(self, cfg: Any, device: Any, policy_store: PolicyStore, metta_grid_env: Any) -> None:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
        self.device = device
        self.policy_store: PolicyStore = policy_store  # TODO(simple-ckpt): the policy store kept on an object: there is no store any more; keep a SimpleCheckpointManager or a path; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
        self.teachers: list[Any] = []
        for teacher_cfg in cfg.additional_teachers or []:
            policy_record = self.policy_store.policy_record(teacher_cfg.teacher_uri)  # TODO(simple-ckpt): .policy_record(): load with SimpleCheckpointManager(...).load_agent() (latest) or find_best_checkpoint(metric) + load_agent_from(path); wandb:// URIs have no equivalent; .policy_record: exposed the PolicyRecord; use the checkpoint path or agent the caller already holds; the policy store kept on an object: there is no store any more; keep a SimpleCheckpointManager or a path; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
            self.teachers.append(policy_record.policy)  # TODO(simple-ckpt): policy_record.policy: the record's agent: use the agent itself (load it with load_agent / load_agent_from)

    def loss(self, student_logits: Any) -> float:
        return float(len(self.teachers))
