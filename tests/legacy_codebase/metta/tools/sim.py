"""Evaluate many policies by URI and selector (patterns C1, S2 in a comprehension, Y3 selector field)."""

from dataclasses import dataclass, field
from typing import Any

from metta.agent.policy_record import PolicyRecord
from metta.agent.policy_store import PolicySelectorType, PolicyStore


@dataclass
class SimTool:
    policy_uris: list[str] = field(default_factory=list)
    selector_type: PolicySelectorType = "top"
    device: str = "cpu"
    data_dir: str = "./train_dir"

    def invoke(self, wandb_run: Any | None = None) -> dict[str, list[PolicyRecord]]:
        policy_store = PolicyStore.create(
            device=self.device,
            data_dir=self.data_dir,
            wandb_config={},
            wandb_run=wandb_run,
        )
        policy_records_by_uri: dict[str, list[PolicyRecord]] = {
            uri: policy_store.policy_records(
                uri_or_config=uri,
                selector_type=self.selector_type,
                n=1,
                metric="score",
            )
            for uri in self.policy_uris
        }
        return policy_records_by_uri
