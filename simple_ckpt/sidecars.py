"""Reading every YAML sidecar of a run dir fast: a small JSON cache keyed by each file's identity.

Parsing 10,000 YAML files takes seconds; listing a run dir should take a fraction of one. The parsed
content of each sidecar is cached in ``checkpoints/.simple_ckpt-index.json`` under the sidecar's name
together with its (size, mtime_ns, inode). On every read the directory is scanned (one ``stat`` per
sidecar) and only sidecars whose identity changed, or that are new, are parsed again; entries of deleted
sidecars are dropped. Writers replace sidecars with ``os.replace`` (new inode), so a rewrite is always
noticed; an in-place edit is noticed through its size or mtime.

The cache is only an accelerator: it is written atomically without fsync (a lost or corrupt cache is
rebuilt, never trusted blindly: anything unreadable in it is ignored), readers may write it without the
writer lease (concurrent rebuilds produce equivalent files), and a run dir that cannot be written is
simply read without caching. Values that JSON cannot represent exactly (dates, non-string keys) are not
cached; those sidecars are parsed every time. Small run dirs (fewer than `INDEX_MIN_SIDECARS`) get no
cache file at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from simple_ckpt.errors import CheckpointError
from simple_ckpt.layout import DirScan
from simple_ckpt.metadata import load_yaml_text, split_integrity
from simple_ckpt.storage import LOCAL, AnyPath, Storage

INDEX_NAME = ".simple_ckpt-index.json"
INDEX_VERSION = 2
INDEX_MIN_SIDECARS = 64


@dataclass(frozen=True)
class Sidecar:
    """One parsed sidecar: the user metadata, the integrity block, or why it could not be read."""

    metadata: dict[str, Any]
    integrity: dict[str, Any] | None
    error: str | None = None


def read_sidecars(ckpt_dir: AnyPath, scan: DirScan, storage: Storage = LOCAL) -> dict[int, Sidecar]:
    """Every sidecar in ``scan``, by epoch, parsed or taken from the cache (local or remote run dir)."""
    index_path = ckpt_dir / INDEX_NAME
    use_index = len(scan.yamls) >= INDEX_MIN_SIDECARS
    cached = _load_index(index_path, storage) if use_index else {}
    fresh: dict[str, dict[str, Any]] = {}
    changed = False
    result: dict[int, Sidecar] = {}
    for epoch, (name, stat) in scan.yamls.items():
        entry = cached.get(name)
        if entry is not None and entry.get("key") == stat.key():
            sidecar = Sidecar(entry["metadata"], entry["integrity"])
            fresh[name] = entry
        else:
            sidecar = parse_sidecar(ckpt_dir / name, storage=storage)
            changed = True
            if (
                use_index
                and sidecar.error is None
                and _json_exact(sidecar.metadata)
                and _json_exact(sidecar.integrity)
            ):
                fresh[name] = {
                    "key": stat.key(),
                    "metadata": sidecar.metadata,
                    "integrity": sidecar.integrity,
                }
        result[epoch] = sidecar
    if use_index and (changed or len(fresh) != len(cached)):
        _store_index(index_path, fresh, storage)
    return result


# What listings carry of the integrity block (the hash is read afresh from the sidecar when verifying).
SUMMARY_KEYS = ("format_version", "payload", "size")


def summarize_integrity(block: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if block is None else {k: block.get(k) for k in SUMMARY_KEYS}


def parse_sidecar(path: AnyPath, *, summary: bool = True, storage: Storage = LOCAL) -> Sidecar:
    """Parse one sidecar; an unreadable one yields a Sidecar with ``error`` set (never raises).

    With ``summary`` (listings) the integrity block is reduced to `SUMMARY_KEYS`.
    """
    try:
        text = storage.read_bytes(path)
    except (OSError, CheckpointError) as exc:
        detail = getattr(exc, "strerror", None) or exc
        return Sidecar({}, None, f"{path}: cannot read: {detail}")
    try:
        document = load_yaml_text(text, str(path))
    except CheckpointError as exc:
        return Sidecar({}, None, str(exc))
    user, integrity = split_integrity(document)
    return Sidecar(user, summarize_integrity(integrity) if summary else integrity)


def _load_index(path: AnyPath, storage: Storage) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(storage.read_bytes(path))
    except (OSError, ValueError, CheckpointError):
        return {}
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
        return {}
    entries = data.get("entries")
    if not isinstance(entries, dict):
        return {}
    valid: dict[str, dict[str, Any]] = {}
    for name, entry in entries.items():
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("key"), list)
            and isinstance(entry.get("metadata"), dict)
            and (entry.get("integrity") is None or isinstance(entry.get("integrity"), dict))
        ):
            valid[name] = entry
    return valid


def _store_index(path: AnyPath, entries: dict[str, dict[str, Any]], storage: Storage) -> None:
    text = json.dumps({"version": INDEX_VERSION, "entries": entries}, separators=(",", ":"))
    try:
        storage.write_cache(path, text.encode("utf-8"))
    except OSError:
        pass  # read-only run dir: stay uncached


def _json_exact(value: Any) -> bool:
    """True if JSON round-trips ``value`` to an equal value of the same types."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return True  # NaN and infinities round-trip too (Python's json writes NaN/Infinity)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_exact(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_exact(v) for v in value)
    return False
