"""Legacy internal: the policy record."""

from typing import Any


class PolicyRecord:
    def __init__(self, policy_store: Any, run_name: str, uri: str, metadata: Any) -> None:
        self.run_name = run_name
        self.uri = uri
        self.metadata = metadata
