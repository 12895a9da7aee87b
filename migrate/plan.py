"""Where each discovered file goes, and whether a previous run already put it there.

The output of a source is ``<out>/<run>/checkpoints/model_NNNN.pt`` (+ ``.yaml``) or
``.../trainer_state.pt``; with ``--in-place`` ``<out>/<run>`` is the source's own run dir. "Already
converted" is decided from the output alone, by the source's sha256: a policy's YAML records it under
``source.sha256``, a trainer state under ``migration_source.sha256``. An output that exists but records
another source (or none: a checkpoint the user wrote) is a conflict and is never overwritten.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.discover import STAGING_DIRNAME, Candidate

HASH_CHUNK = 8 << 20


@dataclass(frozen=True)
class Options:
    out: Path | None = None
    in_place: bool = False
    dry_run: bool = False
    check: bool = False
    jobs: int = 1
    weights_only: bool = False
    allow_modules: tuple[str, ...] = ()
    fsync: bool = True
    progress: bool = True


@dataclass(frozen=True)
class Target:
    run_dir: Path
    ckpt_dir: Path

    def model(self, epoch: int) -> Path:
        from simple_ckpt.layout import model_path

        return model_path(self.ckpt_dir, epoch)

    def yaml(self, epoch: int) -> Path:
        from simple_ckpt.layout import yaml_path

        return yaml_path(self.ckpt_dir, epoch)

    @property
    def trainer_state(self) -> Path:
        from simple_ckpt.layout import trainer_state_path

        return trainer_state_path(self.ckpt_dir)

    def staging(self, name: str) -> Path:
        return self.ckpt_dir / STAGING_DIRNAME / name


def target_for(candidate: Candidate, options: Options) -> Target | None:
    """The output run dir of ``candidate`` (None: in place was asked for a file outside any run dir)."""
    if options.out is not None:
        run_dir = options.out / candidate.run
    elif candidate.run_dir is not None:
        run_dir = candidate.run_dir
    else:
        return None
    return Target(run_dir, run_dir / "checkpoints")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_policy_source(yaml_file: Path) -> tuple[bool, str | None]:
    """(the sidecar exists, the source sha256 it records or None)."""
    from simple_ckpt.sidecars import parse_sidecar

    if not yaml_file.exists():
        return False, None
    sidecar = parse_sidecar(yaml_file)
    source = sidecar.metadata.get("source") if sidecar.error is None else None
    sha = source.get("sha256") if isinstance(source, dict) else None
    return True, sha if isinstance(sha, str) else None


def recorded_trainer_source(path: Path) -> tuple[bool, str | None]:
    """(the trainer state exists, the source sha256 its ``migration_source`` records or None)."""
    import torch

    if not path.exists():
        return False, None
    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        return True, None
    source = state.get("migration_source") if isinstance(state, dict) else None
    sha = source.get("sha256") if isinstance(source, dict) else None
    return True, sha if isinstance(sha, str) else None


def find_policy_by_sha(ckpt_dir: Path, sha: str) -> Path | None:
    """The sidecar in ``ckpt_dir`` that records ``sha`` as its source (for outputs named by metadata)."""
    from simple_ckpt.layout import scan_checkpoints

    for _, (name, _stat) in sorted(scan_checkpoints(ckpt_dir).yamls.items()):
        _, recorded = recorded_policy_source(ckpt_dir / name)
        if recorded == sha:
            return ckpt_dir / name
    return None


def overlaps(a: Path, b: Path) -> bool:
    """One path is the other or lies inside it (after resolving symlinks)."""
    ra, rb = a.resolve(), b.resolve()
    return ra == rb or ra in rb.parents or rb in ra.parents
