"""The building blocks other packages use: atomic writes with on-the-fly hashing, layout names, payloads,
static pickle scanning, metadata conversion."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_ckpt import layout
from simple_ckpt.atomic import (
    DEFAULT_HASH,
    SUPPORTED_HASHES,
    atomic_write,
    atomic_write_bytes,
    new_hasher,
    temp_path_for,
)
from simple_ckpt.errors import CheckpointError
from simple_ckpt.metadata import get_dotted, metric_value, plain_metadata
from simple_ckpt.payload import is_weights_only_payload, make_weights_only_payload
from simple_ckpt.pickle_scan import legacy_reason, pickle_globals


def _reference_digest(name: str, data: bytes) -> str:
    if name == "blake3":
        import blake3

        return blake3.blake3(data).hexdigest()
    return hashlib.new(name, data).hexdigest()


@pytest.mark.parametrize("hash_name", SUPPORTED_HASHES)
def test_digest_is_computed_while_writing_and_matches_the_file(tmp_path: Path, hash_name: str) -> None:
    payload = os.urandom(3 << 20) + b"tail"
    target = tmp_path / "blob.bin"

    def write(f: io.RawIOBase) -> None:  # mixed sizes: small (buffered) and large (threaded hash) writes
        f.write(payload[:10])
        f.write(memoryview(payload)[10 : 2 << 20])
        for start in range(2 << 20, len(payload), 4096):
            f.write(payload[start : start + 4096])

    result = atomic_write(target, write, hash_name=hash_name)
    assert target.read_bytes() == payload
    assert result.size == len(payload) and result.hash_name == hash_name
    assert result.digest == _reference_digest(hash_name, payload)


def test_torch_save_through_the_writer(tmp_path: Path) -> None:
    net = torch.nn.Linear(300, 300)
    result = atomic_write(tmp_path / "m.pt", lambda f: torch.save(net, f), hash_name=DEFAULT_HASH)
    data = (tmp_path / "m.pt").read_bytes()
    assert result.size == len(data) and result.digest == _reference_digest(DEFAULT_HASH, data)
    assert torch.equal(torch.load(tmp_path / "m.pt", weights_only=False).weight, net.weight)


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.pt"
    atomic_write_bytes(target, b"old")

    def broken(f: io.RawIOBase) -> None:
        f.write(b"partial new content")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, broken, hash_name="sha256")
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["state.pt"]


def test_temp_names_are_hidden_unique_and_recognised(tmp_path: Path) -> None:
    a, b = temp_path_for(tmp_path / "model_0001.pt"), temp_path_for(tmp_path / "model_0001.pt")
    assert a != b and a.parent == tmp_path and a.name.startswith(".model_0001.pt.tmp-")
    assert layout.is_temp_file(a.name) and not layout.is_temp_file("model_0001.pt")
    assert layout.parse_model_name(a.name) is None


def test_unknown_hash_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported hash algorithm 'md4'"):
        new_hasher("md4")


def test_layout_names() -> None:
    assert layout.model_path("d", 3) == Path("d/model_0003.pt")
    assert layout.yaml_path("d", 12345) == Path("d/model_12345.yaml")
    assert layout.parse_model_name("model_0042.pt") == 42 and layout.parse_model_name("model_42.yaml") is None
    assert layout.TRAINER_STATE == "trainer_state.pt"
    with pytest.raises(ValueError):
        layout.model_filename(-1)


def test_scan_ignores_temp_dot_and_noncanonical_names(tmp_path: Path) -> None:
    for name in (
        "model_0001.pt",
        "model_0001.yaml",
        "model_0002.pt",
        "model_02.pt",
        ".model_0003.pt.tmp-1-ab",
        "model_0004.yaml",
        "notes.txt",
        "trainer_state.pt",
    ):
        (tmp_path / name).write_text("x")
    scan = layout.scan_checkpoints(tmp_path)
    assert scan.models == {1: "model_0001.pt", 2: "model_0002.pt"}
    assert set(scan.yamls) == {1, 4} and scan.epochs() == [1, 2, 4]
    assert layout.scan_checkpoints(tmp_path / "absent").epochs() == []


def test_weights_only_payload_loads_with_weights_only_true(tmp_path: Path) -> None:
    payload = make_weights_only_payload({"w": torch.ones(2)}, "pkg.Agent", {"note": "migrated"})
    assert is_weights_only_payload(payload) and not is_weights_only_payload({"state_dict": {}})
    torch.save(payload, tmp_path / "p.pt")
    back = torch.load(tmp_path / "p.pt", weights_only=True)
    assert is_weights_only_payload(back) and back["agent_class"] == "pkg.Agent" and back["note"] == "migrated"
    with pytest.raises(ValueError, match="reserved"):
        make_weights_only_payload({}, None, {"state_dict": 1})


class _Marker:
    pass


def test_pickle_globals_found_statically_for_all_protocols() -> None:
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps([_Marker, {"k": _Marker}], protocol=protocol)
        assert (__name__, "_Marker") in pickle_globals(data), protocol


def test_legacy_reason_ignores_plain_torch_files_and_non_zips(tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(2, 2), tmp_path / "m.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    assert legacy_reason(tmp_path / "m.pt") is None
    assert legacy_reason(tmp_path / "junk.pt") is None
    with zipfile.ZipFile(tmp_path / "pkg.pt", "w") as archive:
        archive.writestr("x/.data/extern_modules", "")
    assert "torch.package" in (legacy_reason(tmp_path / "pkg.pt") or "")


def test_metadata_paths_and_metrics() -> None:
    meta = {"evals": {"avg_simulation_score": 0.5, "nan": float("nan")}, "a.b": 2, "flag": True}
    assert get_dotted(meta, "evals.avg_simulation_score") == 0.5 and get_dotted(meta, "a.b") == 2
    assert get_dotted(meta, "evals.missing") is None
    assert metric_value(meta, "evals.nan") is None and metric_value(meta, "flag") is None
    with pytest.raises(CheckpointError, match="must be a mapping"):
        plain_metadata([1, 2])  # type: ignore[arg-type]


_yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
_yaml_values = st.recursive(
    _yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), _yaml_values, max_size=6))
def test_any_plain_metadata_round_trips_through_yaml(metadata: dict) -> None:
    import yaml

    from simple_ckpt.metadata import dump_yaml, load_yaml_text

    plain = plain_metadata(metadata)
    assert load_yaml_text(dump_yaml(plain), "x") == plain
    assert yaml.safe_load(dump_yaml(plain)) == plain


def test_early_writeback_runs_during_large_durable_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simple_ckpt.atomic as atomic

    synced: list[int] = []
    real = atomic._fdatasync
    monkeypatch.setattr(atomic._EarlyWriteback, "_STEP", 1 << 20)
    monkeypatch.setattr(atomic, "_fdatasync", lambda fd: synced.append(fd) or real(fd))
    payload = os.urandom(6 << 20)

    def write(f: io.RawIOBase) -> None:
        for start in range(0, len(payload), 1 << 20):
            f.write(payload[start : start + (1 << 20)])

    result = atomic_write(tmp_path / "big.bin", write, hash_name="sha256")
    assert synced, "no early writeback happened"
    assert (tmp_path / "big.bin").read_bytes() == payload
    assert result.digest == hashlib.sha256(payload).hexdigest()
    synced.clear()
    atomic_write(tmp_path / "nosync.bin", write, fsync=False)
    assert synced == []


def test_staged_write_commits_or_discards_without_touching_the_destination(tmp_path: Path) -> None:
    from simple_ckpt.atomic import stage_write

    target = tmp_path / "model_0001.pt"
    target.write_bytes(b"old")
    staged = stage_write(
        target, lambda f: f.write(b"new bytes"), hash_name="sha256", fsync_in_background=True
    )
    assert target.read_bytes() == b"old" and staged.tmp.exists() and layout.is_temp_file(staged.tmp.name)
    staged.discard()
    assert target.read_bytes() == b"old" and not staged.tmp.exists()
    calls: list[bytes] = []
    staged = stage_write(
        target, lambda f: f.write(b"new bytes"), hash_name="sha256", fsync_in_background=True
    )
    result = staged.commit(lambda: calls.append(target.read_bytes()))
    assert calls == [b"old"]  # before_replace runs before the rename
    assert target.read_bytes() == b"new bytes" and result.digest == hashlib.sha256(b"new bytes").hexdigest()
    assert sorted(os.listdir(tmp_path)) == ["model_0001.pt"]


def test_directory_fsync_errors_are_raised_unless_unsupported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EIO on the directory fsync must stop a commit; 'not supported here' must not."""
    import errno

    from simple_ckpt import atomic

    real_fsync = os.fsync

    def failing(code: int) -> Callable[[int], None]:
        def fsync(fd: int) -> None:
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                raise OSError(code, os.strerror(code))
            real_fsync(fd)

        return fsync

    monkeypatch.setattr(atomic.os, "fsync", failing(errno.EINVAL))
    atomic.fsync_dir(tmp_path)  # unsupported: silently a no-op
    monkeypatch.setattr(atomic.os, "fsync", failing(errno.EIO))
    with pytest.raises(OSError) as info:
        atomic.fsync_dir(tmp_path)
    assert info.value.errno == errno.EIO
