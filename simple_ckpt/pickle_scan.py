"""Static inspection of torch zip checkpoints: which globals the pickle names, without unpickling it.

The legacy policy store wrote its pickles under the very names simple_ckpt uses (``model_0010.pt``), so a
run dir can hold legacy files where new ones are expected. They are recognised here by walking the zip's
``data.pkl`` opcodes with `simple_ckpt.opcode_scan` (nothing is executed) and looking for the legacy record
modules, or by the layout of a ``torch.package`` archive. The same walk tells whether a file holds only
tensors and plain containers, i.e. whether ``torch.load(weights_only=True)`` can open it.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from simple_ckpt.opcode_scan import PickleMalformed, scan_pickle

# Module-name fragments of the legacy policy-store classes (PolicyRecord, PolicyStore, PolicyMetadata).
_LEGACY_MODULE_PARTS = ("policy_record", "policy_store", "policy_metadata")
_LEGACY_CLASS_NAMES = ("PolicyRecord", "PolicyStore", "PolicyMetadata")

_MAX_PICKLE_BYTES = 256 << 20  # data.pkl holds structure only (tensor bytes are separate records)


def zip_members(path: str | os.PathLike[str]) -> list[str] | None:
    """The member names of a zip file, or None if ``path`` is not a zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def is_torch_package(members: list[str]) -> bool:
    """A ``torch.package`` archive (legacy generation L5), which torch.load cannot read."""
    return any(
        m.endswith("/.data/extern_modules") or m == ".data/extern_modules" or m.endswith("/policy/model.pkl")
        for m in members
    )


def data_pickle_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The ``*/data.pkl`` member of a torch zip checkpoint (the object structure), or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
            if not names:
                return None
            name = min(names, key=len)  # the top-level record, not a nested one
            if archive.getinfo(name).file_size > _MAX_PICKLE_BYTES:
                return None
            return archive.read(name)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None


def pickle_globals(data: bytes) -> set[tuple[str, str]]:
    """Every (module, name) a pickle references via GLOBAL / STACK_GLOBAL / INST, by opcode walk only.

    A malformed pickle references nothing this check can trust: it yields the empty set, and loading the
    file then fails with torch's own error.
    """
    try:
        return set(scan_pickle(data).globals)
    except PickleMalformed:
        return set()


def legacy_reason(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is a legacy policy-store checkpoint, or None if it does not look like one."""
    members = zip_members(path)
    if members is None:
        return None
    if is_torch_package(members):
        return "a legacy torch.package policy archive"
    data = data_pickle_bytes(path)
    if data is None:
        return None
    hits = [
        (module, attr)
        for module, attr in pickle_globals(data)
        if module.rsplit(".", 1)[-1] in _LEGACY_MODULE_PARTS or attr in _LEGACY_CLASS_NAMES
    ]
    if not hits:
        return None
    # Name the record class when present: it is what the user knows the file as.
    module, attr = min(hits, key=lambda hit: (hit[1] != "PolicyRecord", hit))
    return f"a legacy policy-store pickle (references {module}.{attr})"


def migrate_hint(path: str | os.PathLike[str]) -> str:
    """The advice appended to errors about legacy files."""
    ckpt_dir = Path(path).parent
    run_dir = ckpt_dir.parent if ckpt_dir.name == "checkpoints" else ckpt_dir
    return f"convert it with `simple-ckpt migrate {run_dir}`"
