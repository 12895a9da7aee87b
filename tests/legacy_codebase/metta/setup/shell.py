"""Interactive helpers for a Python shell (patterns C2 factory, I7 late import with noqa)."""

import os
from typing import Any

DEFAULT_DATA_DIR = os.environ.get("DATA_DIR", "./train_dir")

from metta.agent.policy_store import PolicyStore  # noqa: E402


def get_policy_store_from_cfg(cfg: Any, wandb_run: Any | None = None) -> PolicyStore:
    """A store for browsing policies from the shell."""
    return PolicyStore(
        device="cpu",
        data_dir=DEFAULT_DATA_DIR,
        wandb_entity=cfg.wandb.entity,
        wandb_project=cfg.wandb.project,
        wandb_run=wandb_run,
    )
