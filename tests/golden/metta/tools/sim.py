"""Evaluate many policies by URI and selector (patterns C1, S2 in a comprehension, Y3 selector field)."""

from dataclasses import dataclass, field
from typing import Any

from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord
from metta.agent.policy_store import PolicySelectorType, PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicySelectorType, PolicyStore


@dataclass
class SimTool:
    policy_uris: list[str] = field(default_factory=list)
    selector_type: PolicySelectorType = "top"  # TODO(simple-ckpt): PolicySelectorType: policy selectors are CLI/config surface; choose latest/best explicitly
    device: str = "cpu"
    data_dir: str = "./train_dir"

    def invoke(self, wandb_run: Any | None = None) -> dict[str, list[PolicyRecord]]:  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata
        policy_store = PolicyStore.create(  # TODO(simple-ckpt): the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)
            device=self.device,
            data_dir=self.data_dir,
            wandb_config={},
            wandb_run=wandb_run,
        )
        policy_records_by_uri: dict[str, list[PolicyRecord]] = {  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata; .policy_records(): latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
            uri: policy_store.policy_records(
                uri_or_config=uri,
                selector_type=self.selector_type,
                n=1,
                metric="score",
            )
            for uri in self.policy_uris
        }
        return policy_records_by_uri
