"""Stand-in for legacy `metta.agent.policy_record` (PolicyRecord v2, L5-L9)."""

from __future__ import annotations

from typing import Any


class PolicyRecord:
    def __init__(self, policy_store: Any, run_name: str, uri: str, metadata: Any) -> None:
        self._policy_store = policy_store
        self.run_name = run_name
        self.uri = uri
        self._metadata = metadata
        self._cached_policy = None

    @property
    def metadata(self) -> Any:
        return self._metadata
