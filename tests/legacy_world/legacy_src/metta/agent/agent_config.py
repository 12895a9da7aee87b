"""Stand-in for `metta.agent.agent_config` (pickles the way a pydantic model does)."""

from __future__ import annotations

from typing import Any


class AgentConfig:
    def __init__(
        self, name: str = "fast", clip_range: float = 0.0, analyze_weights_interval: int = 300
    ) -> None:
        self.name = name
        self.clip_range = clip_range
        self.analyze_weights_interval = analyze_weights_interval

    def __getstate__(self) -> dict[str, Any]:
        return {
            "__dict__": dict(self.__dict__),
            "__pydantic_extra__": None,
            "__pydantic_fields_set__": {"name"},
            "__pydantic_private__": None,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state["__dict__"])
