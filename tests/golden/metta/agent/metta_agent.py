"""The agent class (not legacy)."""

from typing import Any


class MettaAgent:
    def __init__(self, env: Any, system_cfg: Any, agent_cfg: Any) -> None:
        self.env = env
