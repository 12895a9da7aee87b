"""Legacy internal: the policy store. Deleted by the refactor, never codemodded."""

from typing import Any, Literal

from metta.agent.policy_record import PolicyRecord

PolicySelectorType = Literal["all", "top", "latest", "rand"]


class PolicyMissingError(ValueError):
    pass


class PolicySelectorConfig:
    type: PolicySelectorType = "top"


class PolicyStore:
    @classmethod
    def create(cls, device: str, data_dir: str, wandb_config: Any, wandb_run: Any) -> "PolicyStore":
        return cls()

    def policy_record(self, uri: str, selector_type: str = "top", metric: str = "score") -> PolicyRecord:
        raise PolicyMissingError(uri)
