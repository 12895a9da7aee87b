"""Stand-in for legacy `metta.rl.puffer_policy` (a "pytorch agent" wrapper, 2025-07-23 .. 08-13)."""

from __future__ import annotations

from torch import nn


class PytorchAgent(nn.Module):
    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy
        self.hidden_size = 16
