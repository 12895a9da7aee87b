"""Stand-in for legacy `metta.agent.policy_metadata` (a dict subclass; pickles as NEWOBJ + SETITEMS)."""

from __future__ import annotations

from typing import Any


class PolicyMetadata(dict):
    def __init__(
        self, agent_step: int = 0, epoch: int = 0, generation: int = 0, train_time: float = 0.0, **kw: Any
    ):
        super().__init__(
            agent_step=agent_step, epoch=epoch, generation=generation, train_time=train_time, **kw
        )

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc
