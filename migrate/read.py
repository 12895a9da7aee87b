"""Read one legacy checkpoint file without the legacy code and without running anything it carries.

`read_legacy(path)` -> `LegacyPolicy` | `LegacyTrainerState`, raising `RefusedFile`, `NotLegacyCheckpoint`
or `CorruptFile` (see migrate.errors). `inventory(path)` lists the globals a file references and how each
would be handled, statically (nothing is unpickled). Detection order follows spec §17: zip (torch.package
markers first, then data.pkl), safetensors (+ YAML sidecar), raw pickle.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from torch import nn

from migrate.errors import CorruptFile, LegacyReadError, NotLegacyCheckpoint
from migrate.model import GlobalUse, LegacyPolicy, LegacyTrainerState, ReadOptions
from migrate.readers.common import memory_limit, open_zip
from migrate.readers.detect import detect_container
from migrate.readers.interpret import tensor_counts
from migrate.readers.pickled import check_refused, global_uses, is_package, pickle_members, policy_for
from migrate.readers.safetensors_pair import read_pair
from migrate.readers.torch_package import read_torch_package
from migrate.readers.torch_zip import read_torch_zip
from migrate.unpickler import DEFAULT_OPTIONS, GlobalPolicy
from simple_ckpt.opcode_scan import PickleMalformed, PickleScan, scan_pickle

__all__ = ["inventory", "pickle_scans", "read_counted", "read_legacy", "sha256_of"]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _WholeFile:
    """A zip checkpoint read from disk once: its bytes (storages become views of them) and its sha256.

    The sha256 is computed on a helper thread (hashlib releases the GIL) while the caller scans and
    unpickles. Only a torch zip (whose storages are nearly all of its bytes) is read whole, and only when
    it fits comfortably (a quarter of physical memory); otherwise `data` is None, the storages are read
    member by member and the hash streams from disk.
    """

    def __init__(self, path: Path, read_whole: bool) -> None:
        self.path = path
        self.data: bytearray | None = None
        size = path.stat().st_size
        if read_whole and size <= memory_limit() // 4:
            self.data = bytearray(size)
            with path.open("rb") as fh:
                filled = fh.readinto(self.data)
            if filled != size:  # changed under us: let the streaming path see what is there now
                self.data = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate-sha256")
        self._sha = self._pool.submit(self._hash)

    def _hash(self) -> str:
        if self.data is None:
            return sha256_of(self.path)
        return hashlib.sha256(self.data).hexdigest()

    def sha256(self) -> str:
        return self._sha.result()

    def __enter__(self) -> _WholeFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)


def read_legacy(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> LegacyPolicy | LegacyTrainerState:
    """Read a legacy policy checkpoint or trainer state (see the module docstring)."""
    return read_counted(path, options, count_tensors=False)


def read_counted(
    path: Path, options: ReadOptions = DEFAULT_OPTIONS, count_tensors: bool = True
) -> LegacyPolicy | LegacyTrainerState:
    """`read_legacy`, also attaching `_tensor_counts` = (all, distinct) tensors in the file (for inspect).

    Real classes are a convenience, never a requirement: when the installed package's classes fail to
    restore the file (its `__setstate__` raises, or the policy is not an nn.Module — another version of
    the package), the file is read again with inert stubs and a warning says why.
    """
    path = Path(path)
    try:
        result = _read(path, options, count_tensors)
    except CorruptFile as exc:
        if not options.import_real_classes:
            raise
        try:
            result = _read(path, replace(options, import_real_classes=False), count_tensors)
        except LegacyReadError:
            raise exc from None
        result.warnings.append(
            f"real classes could not restore the file ({exc.reason}); read with inert stubs"
        )
        return result
    if (
        isinstance(result, LegacyPolicy)
        and result.agent is not None
        and not isinstance(result.agent, nn.Module)
        and any(use.handling == "real" for use in result.globals)
    ):
        kind = type(result.agent)
        result = _read(path, replace(options, import_real_classes=False), count_tensors)
        result.warnings.append(
            f"the installed {kind.__module__}.{kind.__qualname__} is not an nn.Module; read with inert stubs"
        )
    return result


def _read(path: Path, options: ReadOptions, count_tensors: bool) -> LegacyPolicy | LegacyTrainerState:
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
    with open_zip(path) as zf:
        names = zf.namelist()
        package = is_package(names)  # spec §17 step 2 before step 3
        torch_zip = not package and any(n.endswith("/data.pkl") and n.count("/") == 1 for n in names)
        with _WholeFile(path, read_whole=torch_zip) as whole:
            if package:
                result = read_torch_package(zf, path, "", options, count_tensors)
            else:
                result = read_torch_zip(zf, path, "", options, count_tensors, whole.data)
            result.sha256 = whole.sha256()  # interpret only records it
            return result


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


def pickle_scans(path: Path) -> list[PickleScan]:
    """The static scans of every pickle member (opcode use, persistent ids); empty for safetensors."""
    path = Path(path)
    kind = detect_container(path)
    if kind == "safetensors":
        return []
    if kind == "pickle":
        try:
            return [scan_pickle(path.read_bytes(), path.name)]
        except PickleMalformed as exc:
            raise CorruptFile(path, f"malformed pickle ({exc})") from exc
    with open_zip(path) as zf:
        return pickle_members(zf, path).scans


def _raw_pickle_uses(path: Path, options: ReadOptions) -> list[GlobalUse]:
    try:
        scan = scan_pickle(path.read_bytes(), path.name)
    except PickleMalformed as exc:
        raise CorruptFile(path, f"malformed pickle ({exc})") from exc
    return global_uses([scan], GlobalPolicy(options))
