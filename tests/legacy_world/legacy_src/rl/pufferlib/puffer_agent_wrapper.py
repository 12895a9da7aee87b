"""Stand-in for legacy `rl.pufferlib.puffer_agent_wrapper` (L0-L2 puffer-wrapped policies)."""

from __future__ import annotations

from typing import Any

from torch import nn


class PufferAgentWrapper(nn.Module):
    def __init__(self, policy: nn.Module, cfg: Any) -> None:
        super().__init__()
        self.policy = policy
        self.cfg = cfg
        self.is_continuous = False


class Recurrent(nn.Module):
    def __init__(self, policy: nn.Module, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.policy = policy
        self.recurrent = nn.LSTM(input_size, hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
