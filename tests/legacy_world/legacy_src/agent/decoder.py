"""Stand-in for legacy `agent.decoder`."""

from torch import nn


class Decoder(nn.Module):
    def __init__(self, hidden: int, num_actions: int) -> None:
        super().__init__()
        self.actor = nn.Linear(hidden, num_actions)
        self.critic = nn.Linear(hidden, 1)
