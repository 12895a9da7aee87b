"""Evaluate many policies by URI and selector (patterns C1, S2 in a comprehension, Y3 selector field)."""

from dataclasses import dataclass, field
from typing import Any

from simple_ckpt.compat import Selector, select_checkpoints


@dataclass
class SimTool:
    policy_uris: list[str] = field(default_factory=list)
    selector_type: Selector = "top"
    device: str = "cpu"
    data_dir: str = "./train_dir"

    def invoke(self, wandb_run: Any | None = None) -> dict[str, list[str]]:
        policy_records_by_uri: dict[str, list[str]] = {
            uri: select_checkpoints(uri, selector=self.selector_type, n=1, metric="score")
            for uri in self.policy_uris
        }
        return policy_records_by_uri
