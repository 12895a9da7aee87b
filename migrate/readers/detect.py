"""Which reader a file needs, from its first bytes (spec §17 step 1): zip, safetensors, raw pickle.

Empty files and unknown magic are CorruptFile; a raw (non-zip) pickle is scanned for refused globals and
otherwise reported as not a legacy checkpoint (Metta never wrote torch's legacy non-zip format).
"""

from __future__ import annotations

import stat
from pathlib import Path

from migrate.errors import CorruptFile
from migrate.readers.safetensors_pair import looks_like_safetensors

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"


# Opcodes a protocol 0/1 pickle (which has no PROTO header, but which torch.load would still unpickle) can
# start with; such a file is scanned like any pickle so a refusal names its globals.
_PROTO0_FIRST = frozenset(b"(cil]})NISVXFGJKLMTUPQ")
_MAX_UNVERSIONED = 16 << 20


def _is_unversioned_pickle(path: Path, head: bytes, size: int) -> bool:
    if not head or head[0] not in _PROTO0_FIRST or size > _MAX_UNVERSIONED:
        return False
    from simple_ckpt.opcode_scan import PickleMalformed, scan_pickle

    try:
        scan_pickle(path.read_bytes(), path.name)
    except (PickleMalformed, OSError):
        return False
    return True


def detect_container(path: Path) -> str:
    """ "zip" | "safetensors" | "pickle"; raises CorruptFile for anything else."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the open below forever
            raise CorruptFile(path, "not a regular file (a directory, FIFO, socket or device)")
        size = st.st_size
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise CorruptFile(path, f"cannot read ({exc.strerror or exc})") from exc
    if size == 0:
        raise CorruptFile(path, "empty file (0 bytes)")
    if head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP_MAGIC):
        return "zip"
    if looks_like_safetensors(head, size):
        return "safetensors"
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "pickle"
    if _is_unversioned_pickle(path, head, size):
        return "pickle"
    raise CorruptFile(path, f"wrong magic: not a torch zip, safetensors or pickle (starts with {head[:8]!r})")
