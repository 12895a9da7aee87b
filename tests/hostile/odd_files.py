"""Damaged and odd files named like checkpoints, for the CLI robustness tests.

Each builder takes a good legacy file (to damage) and the path to write; `ODD_FILES` maps a file name to
(what it is, builder). "Unreadable" files cannot be made with chmod when tests run as root, so they are
simulated by a FIFO (opening it for reading would block forever: a reader must not open it), a directory
named like a model file, a symlink loop and a dangling symlink.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path


def _members(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _rewrite(src: Path, dst: Path, edit: Callable[[str, bytes], bytes]) -> None:
    members = _members(src)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zf:
        for info, data in members:
            zf.writestr(info.filename, edit(info.filename, data))


def zero_bytes(good: Path, path: Path) -> None:
    path.write_bytes(b"")


def truncated_zip(good: Path, path: Path) -> None:
    data = good.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def wrong_magic(good: Path, path: Path) -> None:
    path.write_bytes(b"GIF89a" + bytes(200))


def bad_crc(good: Path, path: Path) -> None:
    with zipfile.ZipFile(good) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("/data.pkl"))
    data = bytearray(good.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def short_storage(good: Path, path: Path) -> None:
    """Every storage record cut to half its length: shorter than the tensors that view it."""
    _rewrite(good, path, lambda name, data: data[: len(data) // 2] if "/data/" in name else data)


def huge_declared_size(good: Path, path: Path) -> None:
    """The central directory claims a storage record of 2**40 bytes (a reader must not allocate it)."""
    data = bytearray(good.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    (cd_offset,) = struct.unpack_from("<I", data, end + 16)
    pos = cd_offset
    while data[pos : pos + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        name = bytes(data[pos + 46 : pos + 46 + name_len])
        if b"/data/" in name:
            struct.pack_into("<II", data, pos + 20, 0xFFFFFFFE, 0xFFFFFFFE)  # compressed, uncompressed
        pos += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))


def fifo(good: Path, path: Path) -> None:
    os.mkfifo(path)


def directory(good: Path, path: Path) -> None:
    path.mkdir()
    (path / "data.pkl").write_bytes(b"\x80\x02}.")


def symlink_loop(good: Path, path: Path) -> None:
    other = path.with_name(path.name + ".loop")
    os.symlink(other.name, path)
    os.symlink(path.name, other)


def dangling_symlink(good: Path, path: Path) -> None:
    os.symlink("does_not_exist.pt", path)


def text_file(good: Path, path: Path) -> None:
    path.write_text("these are my notes about model 12, not a checkpoint\n")


def not_a_pickle_zip(good: Path, path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("README.txt", "a zip, but no data.pkl")


def memo_bomb(good: Path, path: Path) -> None:
    """A PolicyRecord whose metadata references one list from ten places, nine levels deep (10**9 leaves)."""
    from legacy_world.containers import write_torch_zip

    def s(text: str) -> bytes:
        return b"X" + struct.pack("<I", len(text)) + text.encode()

    level = b"](" + s("x") * 10 + b"eq\x00"
    for i in range(1, 9):
        level += b"](" + (b"h" + bytes([i - 1])) * 10 + b"eq" + bytes([i])
    record = (
        b"\x80\x02cmetta.agent.policy_record\nPolicyRecord\n)\x81}("
        + s("_metadata")
        + b"}("
        + s("epoch")
        + b"K\x14"
        + s("bomb")
        + level
        + b"u"
        + b"ub."
    )
    write_torch_zip(path, record)


ODD_FILES: dict[str, tuple[str, Callable[[Path, Path], None]]] = {
    "model_0001.pt": ("zero-byte file", zero_bytes),
    "model_0002.pt": ("truncated zip", truncated_zip),
    "model_0003.pt": ("wrong magic", wrong_magic),
    "model_0004.pt": ("bad CRC in data.pkl", bad_crc),
    "model_0005.pt": ("storage shorter than its tensor", short_storage),
    "model_0006.pt": ("zip declaring 4 GiB records", huge_declared_size),
    "model_0007.pt": ("FIFO (unreadable stand-in)", fifo),
    "model_0008.pt": ("directory named like a model", directory),
    "model_0009.pt": ("symlink loop", symlink_loop),
    "model_0011.pt": ("dangling symlink", dangling_symlink),
    "model_0012.pt": ("text file", text_file),
    "model_0013.pt": ("zip without data.pkl", not_a_pickle_zip),
    "model_0020.pt": ("pickle memo bomb (10**9 leaves)", memo_bomb),
}


def write_odd_files(good: Path, directory_: Path) -> dict[str, str]:
    """Write every odd file into `directory_`; returns {file name: description}."""
    directory_.mkdir(parents=True, exist_ok=True)
    for name, (_, build) in ODD_FILES.items():
        build(good, directory_ / name)
    return {name: description for name, (description, _) in ODD_FILES.items()}


def write_bad_yaml_pairs(directory_: Path) -> dict[str, str]:
    """Safetensors pairs whose YAML sidecar is garbage or valid YAML of the wrong shape."""
    import torch
    from legacy_world.containers import write_safetensors

    cases = {
        "model_0014": ("garbage YAML", "metadata: [unclosed\n  : : {\n\t- tab"),
        "model_0015": ("YAML of the wrong shape (a list)", "- 1\n- 2\n"),
        "model_0016": ("YAML metadata of the wrong type", "metadata: 42\nmodel_type: MettaAgent\n"),
        "model_0017": ("non-UTF-8 YAML", None),
        "model_0018": ("YAML alias bomb (10**9 leaves)", _alias_bomb()),
    }
    out = {}
    raw = ('{"__metadata__": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    (directory_ / "model_0019.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    out["model_0019.safetensors"] = "safetensors header nested 100,000 deep"
    for stem, (description, text) in cases.items():
        write_safetensors(directory_ / f"{stem}.safetensors", {"w": torch.ones(2)})
        sidecar = directory_ / f"{stem}.yaml"
        if text is None:
            sidecar.write_bytes(b"metadata:\n  note: \xff\xfe\xfa\n")
        else:
            sidecar.write_text(text)
        out[f"{stem}.safetensors"] = description
    return out


def _alias_bomb() -> str:
    lines = ["metadata:", "  epoch: 18", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"
