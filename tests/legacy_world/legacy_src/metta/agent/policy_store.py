"""Stand-in for legacy `metta.agent.policy_store` (L4) (PolicyRecord v1 and the L1 PolicyStore)."""

from __future__ import annotations

from typing import Any


class PolicyStore:
    def __init__(self, cfg: Any, device: str = "cpu") -> None:
        self._cfg = cfg
        self._device = device
        self._wandb_run = None
        self._cached_prs: dict[str, Any] = {}


class PolicyRecord:
    def __init__(self, policy_store: Any, name: str, uri: str, metadata: dict[str, Any]) -> None:
        self._policy_store = policy_store
        self.name = name
        self.uri = uri
        self.metadata = metadata
        self._policy = None
        self._local_path = uri[len("file://") :] if uri.startswith("file://") else None
