"""Stand-in for legacy `agent.simple_encoder` (2024 encoder/decoder agent design)."""

from torch import nn


class SimpleConvAgent(nn.Module):
    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(channels, 4, 3), nn.ReLU(), nn.Flatten())
        self.fc = nn.Linear(4 * 9 * 9, hidden)
