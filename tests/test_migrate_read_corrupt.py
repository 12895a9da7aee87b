"""Damaged files become CorruptFile with a message naming the file and the problem (never a crash)."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from legacy_world import LegacyWorld

from migrate.errors import CorruptFile, NotLegacyCheckpoint
from migrate.read import inventory, read_legacy

# Nothing named like a legacy package may be importable: the reader must not find the legacy code.
pytestmark = pytest.mark.usefixtures("no_legacy_modules")


@pytest.fixture
def good_file(legacy_world: LegacyWorld) -> Path:
    return legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L6")


def _expect_corrupt(path: Path, pattern: str) -> None:
    with pytest.raises(CorruptFile, match=pattern) as caught:
        read_legacy(path)
    assert str(path) in str(caught.value)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "model_0000.pt"
    path.write_bytes(b"")
    _expect_corrupt(path, "empty file")


def test_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "model_0001.pt"
    path.write_bytes(b"GIF89a not a checkpoint at all")
    _expect_corrupt(path, "wrong magic")
    with pytest.raises(CorruptFile):
        inventory(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.97])
def test_truncated_zip(good_file: Path, keep: float) -> None:
    data = good_file.read_bytes()
    good_file.write_bytes(data[: int(len(data) * keep)])
    _expect_corrupt(good_file, "truncated or damaged zip")


def _flip_in_member(path: Path, suffix: str) -> None:
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(suffix))
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)  # local header lengths
    offset = info.header_offset + 30 + name_len + extra_len
    data[offset + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_bad_crc_in_pickle(good_file: Path) -> None:
    _flip_in_member(good_file, "/data.pkl")
    _expect_corrupt(good_file, r"data\.pkl.*(CRC|Bad)")


def test_bad_crc_in_storage(good_file: Path) -> None:
    _flip_in_member(good_file, "/data/0")
    _expect_corrupt(good_file, "CRC")


def _rewrite(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as src:
        members = [(i.filename, src.read(i)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in members:
            data = edit(name, data)
            if data is not None:
                dst.writestr(name, data)


def test_storage_shorter_than_its_tensor(good_file: Path) -> None:
    _rewrite(good_file, lambda name, data: data[: len(data) // 2] if name.endswith("/data/0") else data)
    _expect_corrupt(good_file, r"storage 0 holds \d+ bytes, its tensors need \d+")


def test_missing_storage_member(good_file: Path) -> None:
    _rewrite(good_file, lambda name, data: None if name.endswith("/data/1") else data)
    _expect_corrupt(good_file, "storage 1: zip member .* is missing")


def test_truncated_pickle_member(good_file: Path) -> None:
    _rewrite(good_file, lambda name, data: data[:-200] if name.endswith("/data.pkl") else data)
    _expect_corrupt(good_file, "malformed pickle")


def test_declared_member_size_huge(good_file: Path) -> None:
    """A central directory that lies about a member's size is refused before anything is allocated."""
    data = bytearray(good_file.read_bytes())
    with zipfile.ZipFile(good_file) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("/data/0"))
    # Patch the uncompressed-size field (offset 24) of this member's central directory entry.
    needle = info.filename.encode()
    entry = data.find(b"PK\x01\x02")
    while entry != -1 and data[entry + 46 : entry + 46 + len(needle)] != needle:
        entry = data.find(b"PK\x01\x02", entry + 4)
    assert entry != -1
    struct.pack_into("<I", data, entry + 24, 0xFFFF0000)
    good_file.write_bytes(bytes(data))
    _expect_corrupt(good_file, "impossible size")


def test_zip_without_a_pickle_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "model_0002.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(NotLegacyCheckpoint, match="without a torch data.pkl"):
        read_legacy(path)


def _safetensors(path: Path, header: dict, payload: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + payload)


def test_safetensors_offsets_outside_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model_0003.safetensors"
    _safetensors(path, {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\x00" * 8)
    _expect_corrupt(path, "offsets 0..16 do not hold 16 bytes")


def test_safetensors_shape_disagrees_with_bytes(tmp_path: Path) -> None:
    path = tmp_path / "model_0004.safetensors"
    _safetensors(
        path, {"w": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 8]}}, b"\x00" * 8
    )
    _expect_corrupt(path, "do not hold")


def test_yaml_sidecar_with_unknown_tag_is_refused(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_safetensors_pair(legacy_world.root / "model_0010")
    sidecar = path.with_suffix(".yaml")
    sidecar.write_text("metadata: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(CorruptFile, match="cannot be read safely") as caught:
        read_legacy(path)
    assert str(sidecar) in str(caught.value)


def test_record_whose_policy_is_not_a_module(legacy_world: LegacyWorld) -> None:
    import torch
    from legacy_world import builders

    path = legacy_world.root / "model_0005.pt"
    with builders.legacy_importable():
        record = builders.record_v2("model_0005.pt", "file://x", builders.policy_metadata({}), None)
        record._cached_policy = {"weights": [1, 2, 3]}
        torch.save(record, path)
    _expect_corrupt(path, "the record's policy builtins.dict is not an nn.Module")
