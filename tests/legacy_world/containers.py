"""Byte-level writers for the legacy containers that `torch.save` alone does not produce.

- `rewrite_pickle`: edit the pickle member of a torch zip after the fact (numpy 1 class paths, a cuda or
  mps storage location), keeping every other member as written.
- `write_package`: a torch.package archive laid out by hand (protocol-3 pickles, `.data/<key>.storage`).
- `write_safetensors`: the safetensors format (8-byte LE header length, JSON header, raw bytes).
- `hostile_pickle`: pickles that name a dangerous global, in the several spellings an attacker can use.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

_NUMPY2 = b"cnumpy._core.multiarray\n"
_NUMPY1 = b"cnumpy.core.multiarray\n"
_CPU = b"X\x03\x00\x00\x00cpu"


def _pickle_member(names: list[str]) -> str:
    return next(name for name in names if name.endswith("/data.pkl"))


def rewrite_pickle(path: Path, edit: Callable[[bytes], bytes]) -> None:
    """Apply `edit` to `<prefix>/data.pkl` of a torch zip, rewriting the archive in place."""
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info)) for info in src.infolist()]
    target = _pickle_member([name for name, _ in members])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for name, data in members:
            dst.writestr(name, edit(data) if name == target else data)


def numpy1_paths(data: bytes) -> bytes:
    """Spell numpy reconstruction globals the numpy 1.x way (`numpy.core.multiarray`)."""
    return data.replace(_NUMPY2, _NUMPY1)


def storage_location(location: str) -> Callable[[bytes], bytes]:
    """Rewrite every `'cpu'` location string (storages and torch.device args) to `location`."""
    encoded = location.encode()
    replacement = b"X" + struct.pack("<I", len(encoded)) + encoded

    def edit(data: bytes) -> bytes:
        return data.replace(_CPU, replacement)

    return edit


class _PackagePickler(pickle.Pickler):
    """Pickles tensors the way torch.package does: storages become ('storage', type, key, loc, numel)."""

    def __init__(self, file: io.BytesIO, storages: dict[str, bytes]) -> None:
        super().__init__(file, protocol=3)
        self.storages = storages
        self._keys: dict[int, str] = {}

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, torch.storage.TypedStorage):
            untyped = obj._untyped_storage
            key = self._keys.setdefault(untyped.data_ptr(), str(len(self._keys)))
            self.storages[key] = bytes(untyped.cpu())
            storage_type = getattr(torch, obj._pickle_storage_type())
            return ("storage", storage_type, key, "cpu", obj._size())
        return None


def write_package(
    path: Path, record: Any, agent: Any, sources: dict[str, str], extern: list[str], numpy_edit: bool
) -> None:
    """A torch.package archive: `policy_record/data.pkl`, `policy/model.pkl`, storages and sources."""
    prefix = path.stem
    storages: dict[str, bytes] = {}
    pickles = {}
    for name, obj in (("policy_record/data.pkl", record), ("policy/model.pkl", agent)):
        buf = io.BytesIO()
        _PackagePickler(buf, storages).dump(obj)
        pickles[name] = numpy1_paths(buf.getvalue()) if numpy_edit else buf.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in pickles.items():
            zf.writestr(f"{prefix}/{name}", data)
        for module_path, text in sources.items():
            zf.writestr(f"{prefix}/{module_path}", text)
        for key, data in storages.items():
            zf.writestr(f"{prefix}/.data/{key}.storage", data)
        zf.writestr(f"{prefix}/.data/extern_modules", "\n".join(extern) + "\n")
        zf.writestr(f"{prefix}/.data/version", "6\n")
        zf.writestr(f"{prefix}/.data/python_version", "3.11\n")
        zf.writestr(f"{prefix}/.data/serialization_id", "1234567890")
        zf.writestr(f"{prefix}/byteorder", "little")


_SAFETENSORS_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def write_safetensors(
    path: Path, tensors: dict[str, torch.Tensor], header_extra: dict[str, Any] | None = None
) -> None:
    header: dict[str, Any] = dict(header_extra or {})
    blobs = []
    offset = 0
    for key, tensor in tensors.items():
        data = tensor.detach().cpu().contiguous().numpy().tobytes()
        header[key] = {
            "dtype": _SAFETENSORS_DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def _unicode(text: str) -> bytes:
    encoded = text.encode()
    return b"X" + struct.pack("<I", len(encoded)) + encoded


def _short_unicode(text: str) -> bytes:
    encoded = text.encode()
    return b"\x8c" + bytes([len(encoded)]) + encoded


HOSTILE_STYLES = ("global", "stack_global", "memo", "inst", "nested")


def hostile_pickle(module: str, name: str, arg: str, style: str = "global") -> bytes:
    """A pickle that calls `module.name(arg)` when loaded without a gate.

    styles: `global` (protocol 2 GLOBAL + REDUCE), `stack_global` (protocol 4 STACK_GLOBAL), `memo`
    (STACK_GLOBAL whose operands come back from the memo via BINGET), `inst` (protocol 0 INST),
    `nested` (the call hides in the metadata dict of an otherwise ordinary-looking record).
    """
    call_arg = _unicode(arg) + b"\x85"  # TUPLE1
    if style == "global":
        return b"\x80\x02c" + f"{module}\n{name}\n".encode() + call_arg + b"R."
    if style == "stack_global":
        return (
            b"\x80\x04"
            + _short_unicode(module)
            + b"\x94"
            + _short_unicode(name)
            + b"\x94\x93"
            + call_arg
            + b"R."
        )
    if style == "memo":
        # Memoize the operands under an innocent-looking list, fetch them later with BINGET.
        return (
            b"\x80\x04]("
            + _short_unicode(module)
            + b"q\x00"
            + _short_unicode(name)
            + b"q\x01e0"  # APPENDS then POP the list
            + b"h\x00h\x01\x93"
            + call_arg
            + b"R."
        )
    if style == "inst":
        return b"(" + _unicode(arg) + b"i" + f"{module}\n{name}\n".encode() + b"."
    if style == "nested":
        record = b"cmetta.agent.policy_record\nPolicyRecord\n)\x81}("
        evil = b"c" + f"{module}\n{name}\n".encode() + call_arg + b"R"
        state = (
            _unicode("run_name")
            + _unicode("model_0001.pt")
            + _unicode("_metadata")
            + b"}"
            + _unicode("x")
            + evil
        )
        return b"\x80\x02" + record + state + b"su" + b"b."
    raise ValueError(f"unknown hostile style {style!r}; one of {HOSTILE_STYLES}")


def write_torch_zip(path: Path, pickle_bytes: bytes, storages: dict[str, bytes] | None = None) -> None:
    """A torch-zip-shaped archive around arbitrary pickle bytes (how hostile files are dressed up)."""
    prefix = path.stem
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{prefix}/data.pkl", pickle_bytes)
        zf.writestr(f"{prefix}/byteorder", "little")
        for key, data in (storages or {}).items():
            zf.writestr(f"{prefix}/data/{key}", data)
        zf.writestr(f"{prefix}/version", "3\n")
        zf.writestr(f"{prefix}/.data/serialization_id", "0000000000")
