"""Kickstarting: distil from teacher policies loaded by URI (pattern S1 via self, A2)."""

from typing import Any

from simple_ckpt import load_agent_from


class Kickstarter:
    def __init__(self, cfg: Any, device: Any, metta_grid_env: Any) -> None:
        self.device = device
        self.teachers: list[Any] = []
        for teacher_cfg in cfg.additional_teachers or []:
            policy_record = load_agent_from(teacher_cfg.teacher_uri)
            self.teachers.append(policy_record)

    def loss(self, student_logits: Any) -> float:
        return float(len(self.teachers))
