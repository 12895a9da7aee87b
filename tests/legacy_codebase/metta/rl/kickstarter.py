"""Kickstarting: distil from teacher policies loaded by URI (pattern S1 via self, A2)."""

from typing import Any

from metta.agent.policy_store import PolicyStore


class Kickstarter:
    def __init__(self, cfg: Any, device: Any, policy_store: PolicyStore, metta_grid_env: Any) -> None:
        self.device = device
        self.policy_store: PolicyStore = policy_store
        self.teachers: list[Any] = []
        for teacher_cfg in cfg.additional_teachers or []:
            policy_record = self.policy_store.policy_record(teacher_cfg.teacher_uri)
            self.teachers.append(policy_record.policy)

    def loss(self, student_logits: Any) -> float:
        return float(len(self.teachers))
