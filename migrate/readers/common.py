"""Shared by the pickle readers: bounded zip access and the restricted unpickle with storage loading.

Sizes are checked before anything is allocated: every zip member's declared size must be plausible for
the archive (stored members cannot be larger than the file; deflated ones cannot beat deflate's ratio),
and a storage member must hold at least the bytes its persistent id claims.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from migrate.errors import CorruptFile, RefusedFile
from migrate.unpickler import AllocationRefused, GlobalPolicy, GlobalRefused, RestrictedUnpickler

_DEFLATE_MAX_RATIO = 1100  # deflate cannot expand data by more than ~1032x


MAX_EXPANDED_NODES = 2_000_000


def check_expansion(value: Any, path: Path, what: str, limit: int = MAX_EXPANDED_NODES) -> None:
    """Refuse an object graph that expands, through shared references, to more than `limit` nodes.

    Why: a pickle memo or a YAML alias can reference one list from ten places, ten levels deep: a tiny
    file whose metadata has 10**10 leaves, and every later walk (metadata conversion, YAML dump, inspect)
    would hang. The walk here counts container visits with repetition, iteratively, and stops at `limit`.
    Other objects (records, stubs, modules, which legitimately form cycles) are entered once, through
    their ``__dict__``; tensors and scalars are leaves.
    """
    pending: list[Any] = [value]
    entered: set[int] = set()  # objects (not containers) are entered once: modules and records form cycles
    visits = 0
    while pending:
        item = pending.pop()
        visits += 1
        if visits > limit:
            raise CorruptFile(
                path,
                f"{what} expands to more than {limit:,} objects through shared references "
                "(a memo/alias bomb); not read",
            )
        if isinstance(item, dict):
            pending.extend(item.values())
            pending.extend(k for k in item if not isinstance(k, (str, int)))
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        elif isinstance(item, (str, bytes, int, float, bool, type(None), torch.Tensor)):
            continue
        elif id(item) not in entered:
            entered.add(id(item))
            attributes = getattr(item, "__dict__", None)
            if isinstance(attributes, dict):
                pending.append(attributes)


def memory_limit() -> int:
    """Physical memory in bytes (a hard ceiling for anything a file may ask us to allocate)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 36


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a zip archive, mapping damage to CorruptFile and checking declared sizes."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CorruptFile(path, f"truncated or damaged zip archive ({exc})") from exc
    archive_size = path.stat().st_size
    total = 0
    limit = memory_limit()
    for info in zf.infolist():
        if info.compress_type == zipfile.ZIP_STORED:
            plausible = info.file_size == info.compress_size and info.file_size <= archive_size
        else:
            plausible = info.file_size <= max(info.compress_size, 1) * _DEFLATE_MAX_RATIO
        total += info.file_size
        if not plausible or total > limit:
            zf.close()
            raise CorruptFile(
                path, f"zip member {info.filename} declares an impossible size ({info.file_size} bytes)"
            )
    return zf


def read_member(zf: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        return zf.read(name)
    except KeyError as exc:
        raise CorruptFile(path, f"zip member {name} is missing") from exc
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise CorruptFile(path, f"cannot read zip member {name} ({exc})") from exc


def stored_span(info: zipfile.ZipInfo, path: Path, whole: bytearray) -> tuple[int, int]:
    """(start, end) of a stored member's bytes inside ``whole`` (the archive's bytes), CRC checked."""
    start = info.header_offset
    local = bytes(whole[start : start + 30])
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise CorruptFile(path, f"zip member {info.filename}: bad local header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    begin = start + 30 + name_len + extra_len
    end = begin + info.file_size
    if end > len(whole):
        filled = max(len(whole) - begin, 0)
        raise CorruptFile(
            path, f"zip member {info.filename} is truncated ({filled} of {info.file_size} bytes)"
        )
    if zlib.crc32(memoryview(whole)[begin:end]) != info.CRC:
        raise CorruptFile(path, f"zip member {info.filename}: bad CRC")
    return begin, end


def read_into(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, fh: BinaryIO) -> bytearray:
    """A member's bytes in one buffer, CRC checked. Stored members (torch's layout) are read directly."""
    if info.compress_type != zipfile.ZIP_STORED:
        return bytearray(read_member(zf, info.filename, path))
    buffer = bytearray(info.file_size)
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise CorruptFile(path, f"zip member {info.filename}: bad local header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    filled = fh.readinto(buffer)
    if filled != info.file_size:
        raise CorruptFile(
            path, f"zip member {info.filename} is truncated ({filled} of {info.file_size} bytes)"
        )
    if zlib.crc32(buffer) != info.CRC:
        raise CorruptFile(path, f"zip member {info.filename}: bad CRC")
    return buffer


class StorageLoader:
    """persistent_load for torch pickles: ('storage', type, key, location, numel) -> a CPU storage."""

    def __init__(
        self,
        zf: zipfile.ZipFile,
        path: Path,
        member_for_key: Callable[[str], str],
        whole_file: bytearray | None = None,
    ) -> None:
        # whole_file: the archive's bytes, already in memory; stored storages become views of it (no copy)
        self.whole_file = whole_file
        self.zf = zf
        self.path = path
        self.member_for_key = member_for_key
        self.cache: dict[str, Any] = {}
        self.locations: set[str] = set()
        self._fh: BinaryIO | None = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __call__(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise CorruptFile(self.path, f"unsupported persistent id {str(pid)[:80]}")
        _, storage_type, key, location, numel = pid
        key = str(key)
        self.locations.add(str(location))
        dtype = getattr(storage_type, "dtype", None)
        if not isinstance(dtype, torch.dtype) or not isinstance(numel, int) or numel < 0:
            raise CorruptFile(self.path, f"storage {key}: invalid type or size in persistent id")
        if key in self.cache:
            return self.cache[key]
        name = self.member_for_key(key)
        try:
            info = self.zf.getinfo(name)
        except KeyError as exc:
            raise CorruptFile(self.path, f"storage {key}: zip member {name} is missing") from exc
        needed = numel * torch._utils._element_size(dtype)
        if info.file_size < needed:
            raise CorruptFile(
                self.path, f"storage {key} holds {info.file_size} bytes, its tensors need {needed}"
            )
        offset = 0
        if self.whole_file is not None and info.compress_type == zipfile.ZIP_STORED:
            data = self.whole_file
            offset, _end = stored_span(info, self.path, data)
        else:
            if self._fh is None:
                self._fh = self.path.open("rb")
            data = read_into(self.zf, info, self.path, self._fh)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if needed:
                untyped = torch.frombuffer(
                    data, dtype=torch.uint8, count=needed, offset=offset
                ).untyped_storage()
            else:
                untyped = torch.UntypedStorage(0)
            storage = torch.storage.TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)
        self.cache[key] = storage
        return storage


def note_locations(result: Any, loader: StorageLoader) -> None:
    """Say so when storages were saved on an accelerator (they are always loaded on the CPU)."""
    other = sorted(location for location in loader.locations if location != "cpu")
    if other:
        result.warnings.append(f"storages saved on {', '.join(other)} were loaded on cpu")


def restricted_load(data: bytes, path: Path, policy: GlobalPolicy, storages: StorageLoader | None) -> Any:
    """Unpickle `data` through the gate; refused globals and damage become RefusedFile / CorruptFile."""
    unpickler = RestrictedUnpickler(io.BytesIO(data), policy=policy)
    if storages is not None:
        unpickler.persistent_load = storages  # type: ignore[method-assign]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return unpickler.load()
    except GlobalRefused as exc:
        raise RefusedFile(path, exc.global_name, exc.reason) from exc
    except (CorruptFile, RefusedFile):
        raise
    except (MemoryError, AllocationRefused) as exc:
        raise CorruptFile(path, "the pickle asks for more memory than is available") from exc
    except RecursionError as exc:
        raise CorruptFile(path, "object graph nested too deeply") from exc
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        RuntimeError,
        AttributeError,
        KeyError,
        IndexError,
    ) as exc:
        raise CorruptFile(path, f"cannot unpickle: {type(exc).__name__}: {str(exc)[:200]}") from exc
    finally:
        if storages is not None:
            storages.close()
