"""Read one legacy checkpoint file without the legacy code and without running anything it carries.

`read_legacy(path)` -> `LegacyPolicy` | `LegacyTrainerState`, raising `RefusedFile`, `NotLegacyCheckpoint`
or `CorruptFile` (see migrate.errors). `inventory(path)` lists the globals a file references and how each
would be handled, statically (nothing is unpickled). Detection order follows spec §17: zip (torch.package
markers first, then data.pkl), safetensors (+ YAML sidecar), raw pickle.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from migrate.errors import CorruptFile, NotLegacyCheckpoint
from migrate.model import GlobalUse, LegacyPolicy, LegacyTrainerState, ReadOptions
from migrate.readers.common import open_zip
from migrate.readers.detect import detect_container
from migrate.readers.interpret import tensor_counts
from migrate.readers.pickled import check_refused, global_uses, pickle_members, policy_for, read_pickled
from migrate.readers.safetensors_pair import read_pair
from migrate.scan import PickleMalformed, scan_pickle
from migrate.unpickler import DEFAULT_OPTIONS, GlobalPolicy

__all__ = ["inventory", "read_counted", "read_legacy", "sha256_of"]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_legacy(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> LegacyPolicy | LegacyTrainerState:
    """Read a legacy policy checkpoint or trainer state (see the module docstring)."""
    return read_counted(path, options, count_tensors=False)


def read_counted(
    path: Path, options: ReadOptions = DEFAULT_OPTIONS, count_tensors: bool = True
) -> LegacyPolicy | LegacyTrainerState:
    """`read_legacy`, also attaching `_tensor_counts` = (all, distinct) tensors in the file (for inspect)."""
    path = Path(path)
    kind = detect_container(path)
    if kind == "safetensors":
        result = read_pair(path, sha256_of(path))
        if count_tensors:
            result._tensor_counts = tensor_counts(result.state_dict)  # type: ignore[attr-defined]
        return result
    if kind == "pickle":
        uses = _raw_pickle_uses(path, options)
        check_refused(path, uses)
        raise NotLegacyCheckpoint(
            path, "a raw pickle (torch's legacy non-zip format); Metta never wrote these"
        )
    sha = sha256_of(path)
    with open_zip(path) as zf:
        return read_pickled(zf, path, sha, options, count_tensors)


def inventory(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> list[GlobalUse]:
    """Every global the file's pickles reference, with its handling; nothing is unpickled."""
    path = Path(path)
    kind = detect_container(path)
    if kind == "safetensors":
        return []
    if kind == "pickle":
        return _raw_pickle_uses(path, options)
    with open_zip(path) as zf:
        members = pickle_members(zf, path)
        return global_uses(members.scans, policy_for(members, options))


def _raw_pickle_uses(path: Path, options: ReadOptions) -> list[GlobalUse]:
    try:
        scan = scan_pickle(path.read_bytes(), path.name)
    except PickleMalformed as exc:
        raise CorruptFile(path, f"malformed pickle ({exc})") from exc
    return global_uses([scan], GlobalPolicy(options))
