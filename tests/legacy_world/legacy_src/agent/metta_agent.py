"""Stand-in for legacy `agent.metta_agent` (L0-L3 MettaAgent)."""

from __future__ import annotations

from typing import Any

from torch import nn


class MettaAgent(nn.Module):
    def __init__(self, **modules: Any) -> None:
        super().__init__()
        for name, value in modules.items():
            setattr(self, name, value)
