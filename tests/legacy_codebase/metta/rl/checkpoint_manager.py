"""Legacy internal: the generation D CheckpointManager and maybe_establish_checkpoint."""

from typing import Any


class CheckpointManager:
    def __init__(self, policy_store: Any, checkpoint_config: Any, device: Any, is_master: bool, rank: int, run_name: str):
        self.policy_store = policy_store


def maybe_establish_checkpoint(**kwargs: Any) -> Any:
    return None
