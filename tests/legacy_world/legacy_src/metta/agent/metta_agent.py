"""Stand-in for legacy `metta.agent.metta_agent` (A1: owns `components`; A2: owns `policy`)."""

from __future__ import annotations

from typing import Any

from torch import nn


class MettaAgent(nn.Module):
    def __init__(self, **modules: Any) -> None:
        super().__init__()
        for name, value in modules.items():
            setattr(self, name, value)
