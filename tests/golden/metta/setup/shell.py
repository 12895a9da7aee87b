"""Interactive helpers for a Python shell (patterns C2 factory, I7 late import with noqa)."""

import os
from typing import Any

DEFAULT_DATA_DIR = os.environ.get("DATA_DIR", "./train_dir")

from metta.agent.policy_store import PolicyStore  # noqa: E402  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


def get_policy_store_from_cfg(cfg: Any, wandb_run: Any | None = None) -> PolicyStore:  # TODO(simple-ckpt): PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    """A store for browsing policies from the shell."""
    return PolicyStore(  # TODO(simple-ckpt): the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)
        device="cpu",
        data_dir=DEFAULT_DATA_DIR,
        wandb_entity=cfg.wandb.entity,
        wandb_project=cfg.wandb.project,
        wandb_run=wandb_run,
    )
