"""Small helpers the codemod rewrites legacy call sites onto, so those rewrites stay one-line and safe.

Built only on the manager's public API (``SimpleCheckpointManager``, ``load_agent_from``,
``read_metadata``); nothing here knows the legacy world. Each helper replaces one legacy idiom:

- ``maybe_save_checkpoint(...)``: the legacy ``maybe_establish_checkpoint`` (save the agent and the trainer
  state every ``interval`` epochs, or now with ``force=True``); returns the saved path or None.
- ``select_checkpoints(uri_or_run_dir, selector, n, metric)``: the ``latest``/``top``/``all`` selectors of
  ``store.policy_records(...)`` over a local run dir (or ``file://`` URI); returns paths. The selector may
  be a runtime string: an unsupported one (``rand``, anything else) or a ``wandb://`` URI raises a
  one-line ``CheckpointError``; nothing selected raises ``CheckpointNotFound``.
- ``Selector``: the ``PolicySelectorType`` Literal without the legacy ``rand`` (``Selector.__args__`` works
  as argparse choices, as the legacy one did).
- ``CheckpointNotFound``: what ``PolicyMissingError`` was (nothing matched), a ``CheckpointError``.
- ``SelectorConfig``: the ``PolicySelectorConfig`` fields ``type``/``metric``/``range`` (``filters`` was
  removed from the legacy config in 2025-03; ``rand`` is rejected when the config is built).
- ``checkpoint_metadata(path)``: what ``record.metadata`` was, for a checkpoint path.
- ``make_test_checkpoint(run_name, epoch)``: what ``MockPolicyRecord.from_key_and_version(k, v)`` gave tests:
  a real checkpoint (tiny agent + sidecar with ``epoch``/``run``) in a temporary run dir, as a path string.

Decision F1 of the call-site spec: a PolicyRecord at eval/stats/logging boundaries becomes the checkpoint
path string; code that needs the agent loads it with ``simple_ckpt.load_agent_from(path)``, code that needs
the metadata reads ``simple_ckpt.read_metadata(path)``. These helpers therefore return path strings.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from simple_ckpt.errors import CheckpointError, CheckpointNotFound
from simple_ckpt.manager import SimpleCheckpointManager, read_metadata

Selector = Literal["latest", "top", "all"]
SELECTORS: tuple[str, ...] = get_args(Selector)
_UNSUPPORTED_SCHEMES = ("wandb://", "pytorch://", "puffer://", "mock://")


class UnsupportedSelector(CheckpointError, ValueError):
    """A selector the new layout cannot honour (legacy ``rand``, server-side ranking, a typo)."""


@dataclass
class SelectorConfig:
    """The legacy ``PolicySelectorConfig`` fields: which selector, ranked by which metric, how many."""

    type: Selector = "top"
    metric: str = "score"
    range: int = 1

    def __post_init__(self) -> None:
        if self.type not in SELECTORS:
            raise UnsupportedSelector(
                f"selector config: unsupported type {self.type!r} (expected one of {', '.join(SELECTORS)})"
            )


def _score_of(eval_scores: Any) -> float | None:
    """A single score from legacy evaluation results: a mapping of floats (mean) or an object exposing
    ``avg_simulation_score``; None when there is nothing usable."""
    if eval_scores is None:
        return None
    if isinstance(eval_scores, Mapping):
        values = [float(v) for v in eval_scores.values() if isinstance(v, (int, float))]
        return sum(values) / len(values) if values else None
    score = getattr(eval_scores, "avg_simulation_score", None)
    return float(score) if isinstance(score, (int, float)) and math.isfinite(score) else None


def maybe_save_checkpoint(
    checkpoint_manager: SimpleCheckpointManager,
    epoch: int,
    policy: Any,
    agent_step: int,
    optimizer: Any | None = None,
    eval_scores: Any | None = None,
    timer: Any | None = None,
    *,
    interval: int,
    force: bool = False,
) -> Path | None:
    """Save the agent (and the optimizer) when ``epoch`` is a multiple of ``interval`` or ``force`` is set.

    The metadata holds ``agent_step``, ``total_time`` (when ``timer`` has ``get_elapsed()``) and ``score``
    (when ``eval_scores`` yields one). An ``interval`` of 0 or less saves only when forced."""
    if not force and (interval <= 0 or epoch % interval != 0):
        return None
    metadata: dict[str, Any] = {"agent_step": int(agent_step)}
    elapsed = getattr(timer, "get_elapsed", None)
    if callable(elapsed):
        metadata["total_time"] = float(elapsed())
    score = _score_of(eval_scores)
    if score is not None:
        metadata["score"] = score
    path = checkpoint_manager.save_agent(policy, epoch, metadata)
    if optimizer is not None:
        checkpoint_manager.save_trainer_state(optimizer, epoch, int(agent_step))
    return path


def select_checkpoints(
    uri_or_run_dir: str | os.PathLike[str], selector: str = "latest", n: int = 1, metric: str = "score"
) -> list[str]:
    """Checkpoint paths of a local run dir chosen like the legacy ``latest``/``top``/``all`` selectors.

    ``latest``: the newest ``n``; ``top``: the best ``n`` by ``metric`` (checkpoints without it are left
    out); ``all``: every checkpoint, oldest first. ``selector`` may come from a config or the command line:
    anything else (the legacy ``rand``) raises ``UnsupportedSelector``, a ``wandb://`` (or other legacy
    scheme) URI raises ``CheckpointError``, and an empty selection raises ``CheckpointNotFound``, as the
    legacy store raised ``PolicyMissingError``."""
    if selector not in SELECTORS:
        raise UnsupportedSelector(f"unknown selector {selector!r} (expected one of {', '.join(SELECTORS)})")
    if n < 1 and selector != "all":
        raise ValueError(f"n must be at least 1, got {n}")
    run_dir: str | os.PathLike[str] = uri_or_run_dir
    if isinstance(uri_or_run_dir, str):
        if uri_or_run_dir.startswith(_UNSUPPORTED_SCHEMES):
            raise CheckpointError(
                f"{uri_or_run_dir}: legacy URI schemes cannot be selected from; migrate the run to a local run dir"
            )
        run_dir = uri_or_run_dir.removeprefix("file://")
    if "://" not in str(run_dir) and not Path(run_dir).is_dir():
        raise CheckpointNotFound(f"{uri_or_run_dir}: no such run dir")
    manager = SimpleCheckpointManager(run_dir=run_dir)
    infos = list(manager.list_all_checkpoints())
    if not infos:
        raise CheckpointNotFound(f"{uri_or_run_dir}: no checkpoints found")
    paths = [str(info["model_path"]) for info in infos]
    if selector == "all":
        return paths
    if selector == "latest":
        return paths[::-1][:n]
    scored = [
        (info["metadata"].get(metric), str(info["model_path"]))
        for info in infos
        if isinstance(info["metadata"].get(metric), (int, float))
    ]
    if not scored:
        raise CheckpointNotFound(f"{uri_or_run_dir}: no checkpoint has the metric {metric!r}")
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [path for _, path in scored[:n]]


def checkpoint_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata dict saved next to a checkpoint (what a PolicyRecord's ``metadata`` held)."""
    return read_metadata(path)


def make_test_checkpoint(run_name: str, epoch: int, metadata: Mapping[str, Any] | None = None) -> str:
    """A real checkpoint for tests, standing in for ``MockPolicyRecord.from_key_and_version(run_name, epoch)``.

    Writes a tiny agent as ``<tmp>/<run_name>/checkpoints/model_{epoch:04d}.pt`` plus its YAML sidecar
    (``epoch``, ``run`` and ``metadata``) and returns the model path as a string. The temporary directory
    is removed when the process exits."""
    import torch

    root = tempfile.mkdtemp(prefix="simple-ckpt-test-")
    atexit.register(shutil.rmtree, root, True)
    manager = SimpleCheckpointManager(run_dir=Path(root) / run_name, run_name=run_name, fsync=False)
    try:
        path = manager.save_agent(torch.nn.Linear(1, 1), epoch, dict(metadata or {}))
    finally:
        manager.close()
    return str(path)
