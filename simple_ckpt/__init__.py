"""simple_ckpt: a tiny, crash-safe checkpoint manager for PyTorch RL runs.

Layout under ``RUN_DIR/checkpoints/``: ``model_NNNN.pt`` (the agent, ``torch.save`` of the module),
``model_NNNN.yaml`` (human-readable metadata, written last, recording the model's size and hash) and
``trainer_state.pt``.

The public names are imported lazily so that ``import simple_ckpt.cli`` (and with it ``simple-ckpt
check``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "SimpleCheckpointManager",
    "load_agent_from",
    "read_metadata",
    "SimpleCkptError",
    "CheckpointError",
    "CheckpointNotFound",
    "LegacyCheckpointError",
    "LeaseHeldError",
    "WeightsOnlyError",
    "AgentFactoryError",
    "CheckpointInfo",
]

_LAZY: dict[str, str] = {
    "SimpleCheckpointManager": "simple_ckpt.manager",
    "load_agent_from": "simple_ckpt.manager",
    "read_metadata": "simple_ckpt.manager",
    "SimpleCkptError": "simple_ckpt.errors",
    "CheckpointError": "simple_ckpt.errors",
    "CheckpointNotFound": "simple_ckpt.errors",
    "LegacyCheckpointError": "simple_ckpt.errors",
    "LeaseHeldError": "simple_ckpt.errors",
    "WeightsOnlyError": "simple_ckpt.errors",
    "AgentFactoryError": "simple_ckpt.errors",
    "CheckpointInfo": "simple_ckpt.manager",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simple_ckpt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
