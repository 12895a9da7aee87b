"""Trainer-state mapping, tensor verification, A1->A2 restructuring and discovery (no reader needed)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from migrate.convert import a1_to_a2_key, restructure_a1_to_a2
from migrate.discover import discover
from migrate.progress import Progress
from migrate.trainer_state import convert_trainer_state, trainer_facts
from migrate.verify import compare_state_dicts, same_bits

# ---------------------------------------------------------------------------------------- trainer state


def _opt() -> dict:
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    return opt.state_dict()


def test_t7_keys_renamed_and_others_kept() -> None:
    opt = _opt()
    legacy = {
        "optimizer_state_dict": opt,
        "agent_step": np.int64(4096),
        "epoch": 4,
        "policy_path": "file://./train_dir/r/checkpoints/model_0004.pt",
        "stopwatch_state": {
            "timers": {"global": {"total_elapsed": 10.0}, "_rollout": {"total_elapsed": 3.0}}
        },
        "average_reward": np.float64(0.5),
    }
    new, warnings = convert_trainer_state(
        legacy, source_path="r/trainer_state.pt", sha256="ab", generation="T7"
    )
    assert new["optimizer_state"] is opt
    assert new["agent_step"] == 4096 and type(new["agent_step"]) is int
    assert type(new["average_reward"]) is float
    assert new["policy_path"] == legacy["policy_path"]
    assert new["migration_source"]["renamed"] == {"optimizer_state_dict": "optimizer_state"}
    assert "optimizer_state_dict" not in new and warnings == []
    facts = trainer_facts(legacy, "r/trainer_state.pt")
    assert (facts.epoch, facts.agent_step, facts.policy_file, facts.total_time, facts.total_train_time) == (
        4,
        4096,
        "model_0004.pt",
        10.0,
        3.0,
    )


def test_t4_extra_args_flattened_and_n_optimizer_key() -> None:
    t4 = {
        "optimizer_state_dict": {},
        "agent_step": 1,
        "epoch": 1,
        "policy_path": None,
        "extra_args": {"teacher": "u"},
    }
    new, _ = convert_trainer_state(t4, source_path="t", sha256="s", generation="T4")
    assert new["teacher"] == "u" and "extra_args" not in new
    assert new["migration_source"]["flattened_from_extra_args"] == ["teacher"]
    n, _ = convert_trainer_state(
        {"optimizer": {"x": 1}, "epoch": 2, "agent_step": 3}, source_path="t", sha256="s", generation="N"
    )
    assert n["optimizer_state"] == {"x": 1} and "optimizer" not in n


# ---------------------------------------------------------------------------------------- verification


def test_same_bits_is_bitwise() -> None:
    a = torch.tensor([float("nan"), 0.0, 1.0])
    assert same_bits(a, a.clone())
    assert not same_bits(torch.tensor([0.0]), torch.tensor([-0.0]))  # equal values, different bits
    assert not same_bits(torch.zeros(2, dtype=torch.float32), torch.zeros(2, dtype=torch.float64))
    assert not same_bits(torch.zeros(2, 1), torch.zeros(1, 2))
    assert same_bits(torch.tensor([True, False]), torch.tensor([True, False]))


def test_compare_state_dicts_names_every_kind_of_problem() -> None:
    source = {"components.a": torch.ones(2), "components.b": torch.ones(2), "c": torch.ones(2)}
    written = {"policy.components.a": torch.ones(2), "policy.components.b": torch.tensor([1.0, 2.0])}
    problems = compare_state_dicts(source, written, a1_to_a2_key)
    assert len(problems) == 2
    assert any("'policy.components.b'" in p and "differ" in p for p in problems)
    assert any("'c'" in p and "missing" in p for p in problems)
    assert compare_state_dicts({"x": torch.ones(1)}, {"x": torch.ones(1)}) == []


# ---------------------------------------------------------------------------------------- A1 -> A2


class _Agent(torch.nn.Module):
    pass


class _Fast(torch.nn.Module):
    pass


def test_restructure_moves_components_under_policy_sharing_tensors() -> None:
    agent = _Agent()
    agent.components = torch.nn.ModuleDict({"fc": torch.nn.Linear(2, 2)})
    agent.clip_range = 0
    agent.action_names = ["noop"]
    before = dict(agent.state_dict())
    new = restructure_a1_to_a2(agent, _Fast)
    assert type(new) is _Agent and type(new.policy) is _Fast
    assert set(new.state_dict()) == {a1_to_a2_key(k) for k in before}
    assert new.policy.components.fc.weight is agent.components.fc.weight
    assert new.policy.clip_range == 0 and new.action_names == ["noop"]
    assert "components" in agent._modules  # the source object is untouched


# ---------------------------------------------------------------------------------------- discovery


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_discovery_classifies_every_layout(tmp_path: Path) -> None:
    root = tmp_path / "train_dir"
    _touch(root / "run_a/checkpoints/model_0010.pt")
    _touch(root / "run_a/checkpoints/model_12345.pt")
    _touch(root / "run_a/trainer_state.pt")
    _touch(root / "run_a/config.yaml")
    _touch(root / "run_l0/model_000020.pt")
    _touch(root / "run_l0/initial_policy.pt")
    _touch(root / "run_n/run_n/checkpoints/run_n__e5__s500__t9__sc1234.pt")
    _touch(root / "run_n/run_n/checkpoints/trainer_state.pt")
    _touch(root / "run_b/checkpoints/model_0003.safetensors")
    _touch(root / "artifacts/run_a:v7/model.pt")
    _touch(root / "run_a/checkpoints/model_0011.pt.tmp")
    found = discover([root])
    got = {(c.rel, c.kind, c.run, c.epoch, c.layout) for c in found.candidates}
    assert got == {
        ("run_a/checkpoints/model_0010.pt", "policy", "run_a", 10, "checkpoints"),
        ("run_a/checkpoints/model_12345.pt", "policy", "run_a", 12345, "checkpoints"),
        ("run_a/trainer_state.pt", "trainer_state", "run_a", None, "trainer-state"),
        ("run_l0/model_000020.pt", "policy", "run_l0", 20, "run-folder"),
        ("run_n/run_n/checkpoints/run_n__e5__s500__t9__sc1234.pt", "policy", "run_n", 5, "uri-name"),
        ("run_n/run_n/checkpoints/trainer_state.pt", "trainer_state", "run_n", None, "trainer-state"),
        ("run_b/checkpoints/model_0003.safetensors", "policy", "run_b", 3, "safetensors"),
        ("artifacts/run_a:v7/model.pt", "policy", "run_a", None, "wandb-cache"),
    }
    uri = next(c for c in found.candidates if c.layout == "uri-name")
    assert uri.run_dir == root / "run_n"  # N's doubled <run>/<run>/checkpoints
    assert uri.name_fields == {"agent_step": 500, "total_time": 9, "score": 0.1234}
    skipped = {s.rel: s.reason for s in found.skipped}
    assert "initial_policy.pt" in skipped["run_l0/initial_policy.pt"]
    assert "interrupted" in skipped["run_a/checkpoints/model_0011.pt.tmp"]


def test_discovery_prefers_archived_originals_and_skips_new_layout(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _touch(run / "legacy/checkpoints/model_0010.pt", b"original")
    _touch(run / "checkpoints/model_0010.pt", b"converted")
    _touch(run / "checkpoints/model_0010.yaml", b"epoch: 10\nsimple_ckpt:\n  size: 9\n")
    _touch(run / "checkpoints/model_0020.pt", b"native")
    _touch(run / "checkpoints/model_0020.yaml", b"epoch: 20\nsimple_ckpt:\n  size: 6\n")
    found = discover([run])
    assert [(c.rel, c.path) for c in found.candidates] == [
        ("checkpoints/model_0010.pt", run / "legacy/checkpoints/model_0010.pt")
    ]
    assert found.candidates[0].original == run / "checkpoints/model_0010.pt"
    assert found.new_layout_files == 2  # the converted model_0010 and the native model_0020


def test_discovery_reports_symlink_loops_and_keeps_going(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _touch(run / "checkpoints/model_0001.pt")
    os.symlink(run, run / "checkpoints/loop")
    found = discover([tmp_path])
    assert [c.rel for c in found.candidates] == ["run/checkpoints/model_0001.pt"]
    assert any("symlink loop" in p for p in found.problems)


def test_discovery_of_single_file_uses_its_folder_as_root(tmp_path: Path) -> None:
    f = _touch(tmp_path / "r/checkpoints/model_0002.pt")
    (c,) = discover([f]).candidates
    assert (c.rel, c.run, c.epoch) == ("model_0002.pt", "r", 2)


@pytest.mark.parametrize("name", ["notes.pt", "model_abc.pt", "final_model.pt"])
def test_other_pt_names_are_skipped_with_a_reason(tmp_path: Path, name: str) -> None:
    _touch(tmp_path / name)
    found = discover([tmp_path])
    assert found.candidates == []
    assert [s.reason for s in found.skipped] == [
        "the file name is not a checkpoint name of any known generation"
    ]


# ---------------------------------------------------------------------------------------- progress


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_progress_plain_lines_when_not_a_tty_and_one_redrawn_line_on_a_tty() -> None:
    plain = _Stream(tty=False)
    progress = Progress(2, 3_000_000, stream=plain)
    progress.done("converted", "run/checkpoints/model_0001.pt", 1_000_000)
    progress.done("failed", "run/checkpoints/model_0002.pt", 2_000_000)
    progress.finish()
    lines = plain.getvalue().splitlines()
    assert lines == [
        "migrate [1/2] 1.0 MB/3.0 MB converted run/checkpoints/model_0001.pt",
        "migrate [2/2] 3.0 MB/3.0 MB failed run/checkpoints/model_0002.pt",
    ]
    tty = _Stream(tty=True)
    progress = Progress(1, 10, stream=tty)
    progress.done("converted", "a.pt", 10)
    progress.finish()
    assert "\n" not in tty.getvalue() and tty.getvalue().startswith("\rmigrate [1/1]")
    assert tty.getvalue().endswith("\r")  # the line is cleared at the end


def test_discovery_names_the_run_of_a_relative_dot_path_and_prefers_pt_over_its_safetensors_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "my_run"
    _touch(run / "checkpoints/model_0004.pt")
    _touch(run / "checkpoints/model_0004.safetensors")  # B1 pt_also_emit_safetensors
    monkeypatch.chdir(run)
    found = discover([Path(".")])
    assert [(c.run, c.rel) for c in found.candidates] == [("my_run", "checkpoints/model_0004.pt")]
    assert "model_0004.pt" in found.skipped[0].reason


def test_verify_digests_catches_a_changed_a_missing_and_a_retyped_tensor(tmp_path: Path) -> None:
    from migrate.verify import VerificationError, digest_state_dict, verify_digests
    from simple_ckpt.payload import make_weights_only_payload

    source = {"components.a": torch.arange(6.0), "components.b": torch.ones(2, 2), "c": torch.zeros(3)}
    expected = digest_state_dict(source, a1_to_a2_key)
    good = tmp_path / "good.pt"
    torch.save(make_weights_only_payload({a1_to_a2_key(k): v for k, v in source.items()}, "X"), good)
    assert verify_digests(good, "weights-only", expected) == 3
    bad_values = dict(source, **{"components.a": torch.arange(6.0).flip(0)})
    bad = tmp_path / "bad.pt"
    written = {a1_to_a2_key(k): v for k, v in bad_values.items() if k != "c"}
    written["policy.components.b"] = written["policy.components.b"].double()
    torch.save(make_weights_only_payload(written, "X"), bad)
    with pytest.raises(VerificationError) as info:
        verify_digests(bad, "weights-only", expected)
    message = str(info.value)
    assert "'policy.components.a': values differ" in message
    assert "'policy.components.b': torch.float64" in message
    assert "'c' is missing" in message


# ---------------------------------------------------------------------------------------- static scan
# `simple_ckpt.opcode_scan` walks opcodes with a lean loop of its own; it must accept, reject and report exactly what
# a walk with `pickletools.genops` does. The reference below is that straightforward walk.


def _reference_scan(data: bytes) -> tuple:
    """(protocol, globals, unresolved, extension codes, counted opcodes) by pickletools.genops."""
    import pickletools
    from collections import Counter

    strings = {
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "UNICODE",
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
    }
    inert = {"PROTO", "FRAME", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "STOP"}
    counted = ("REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ", "PERSID", "BINPERSID")
    protocol, found, unresolved, ext, ops = 0, [], 0, [], Counter()
    stack: list = []
    memo: dict = {}
    for opcode, arg, _pos in pickletools.genops(data):
        op = opcode.name
        if op in counted:
            ops[op] += 1
        if op == "PROTO":
            protocol = int(arg)
        if op in ("GLOBAL", "INST"):
            module, _, name = str(arg).partition(" ")
            if (module, name) not in found:
                found.append((module, name))
            stack.append(None)
        elif op == "STACK_GLOBAL":
            name_v = stack.pop() if stack else None
            module_v = stack.pop() if stack else None
            if isinstance(module_v, str) and isinstance(name_v, str):
                if (module_v, name_v) not in found:
                    found.append((module_v, name_v))
            else:
                unresolved += 1
            stack.append(None)
        elif op in ("EXT1", "EXT2", "EXT4"):
            ext.append(int(arg))
            stack.append(None)
        elif op in strings:
            stack.append(arg if isinstance(arg, str) else None)
        elif op in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo.get(int(arg)))
        elif op in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = stack[-1] if stack else None
        elif op == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else None
        elif op == "DUP":
            stack.append(stack[-1] if stack else None)
        elif op == "POP":
            if stack:
                stack.pop()
            if stack:
                stack[-1] = None
        elif op not in inert:
            stack.append(None)
        if len(stack) > 64:
            del stack[:-2]
    return protocol, found, unresolved, ext, +ops


def _lean_scan(data: bytes) -> tuple | None:
    from simple_ckpt.opcode_scan import PickleMalformed, scan_pickle

    try:
        s = scan_pickle(data, "x")
    except PickleMalformed:
        return None
    return s.protocol, s.globals, s.unresolved_stack_globals, s.extension_codes, +s.opcodes


def _reference_or_none(data: bytes) -> tuple | None:
    try:
        return _reference_scan(data)
    except (ValueError, IndexError, KeyError):
        return None


class _Obj:
    def __init__(self) -> None:
        self.a, self.b = [1, 2.5, "s"], {"k": (None, True, b"x" * 300)}

    def __reduce_ex__(self, protocol: int) -> tuple:
        return (_Obj, (), self.__dict__)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


def _sample_pickles() -> list[bytes]:
    import collections
    import pickle

    values = [
        {"a": [1, -2, 2**40, -(2**70), 1.5, "é\u1234", b"b" * 70000, bytearray(b"q")], "t": (1,), "s": {1}},
        [_Obj(), _Obj(), frozenset({"x"}), "y" * 300, None, True, False, 10**400],
        torch.nn.Linear(3, 2).state_dict(),
        # module names reused through the memo (BINGET, and LONG_BINGET past 256 memo entries)
        [collections.OrderedDict, collections.Counter, [str(i) for i in range(300)], collections.deque],
    ]
    out = [pickle.dumps(v, protocol=p) for v in values for p in range(6)]
    buf = io.BytesIO()
    torch.save({"m": torch.nn.Linear(4, 4), "o": _opt()}, buf, _use_new_zipfile_serialization=False)
    out.append(buf.getvalue())
    # hand-written: text globals, STRING/UNICODE literals resolved through memo into STACK_GLOBAL, DUP,
    # POP, EXT codes, negative lengths
    out += [
        b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93.",
        b"\x80\x04Vbuiltins\np0\n0g0\nVeval\n\x93.",
        b"\x80\x02S'os'\nS'getcwd'\n\x93)R.",
        b"\x80\x04\x8c\x02os\x942\x93.",
        b"\x80\x02\x82\x01\x83\x02\x01\x84\xff\xff\xff\xff.",
        b"\x80\x02T\xff\xff\xff\xffabc.",
        b"\x80\x02\x8b\xfe\xff\xff\xff.",
        b"cos\nsystem\n(S'echo'\ntR.",
        b"(iposix\nsystem\nS'x'\nb.",
        b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.",
        b"\x80\x04\x8c\x02\xff\xfe.",
        b"\x80\x04\x8c\x02os\x94h\x00\x8c\x06system\x93.",
        b"\x80\x02X\x02\x00\x00\x00osq\x07j\x07\x00\x00\x00X\x06\x00\x00\x00systemr\x00\x01\x00\x00\x93.",
    ]
    return out


def test_static_scan_matches_a_genops_walk_on_real_and_hand_made_pickles(shared_legacy_dir: Path) -> None:
    import zipfile

    pickles = _sample_pickles()
    for path in sorted(shared_legacy_dir.rglob("*.pt")):
        with zipfile.ZipFile(path) as zf:
            pickles += [zf.read(n) for n in zf.namelist() if n.endswith(".pkl")]
    rejected = 0
    for data in pickles:
        want = _reference_or_none(data)
        rejected += want is None
        assert _lean_scan(data) == want, data[:80]
    assert rejected >= 3  # the malformed hand-made ones are rejected by both


@pytest.mark.stress
def test_static_scan_matches_a_genops_walk_on_damaged_pickles() -> None:
    import random

    from conftest import stress_trials

    rng = random.Random(7)
    corpus = _sample_pickles()
    disagreements = []
    for _ in range(stress_trials(400, 5000)):
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[where] = rng.randrange(256)
            elif choice < 0.7:
                del data[where:]
                if not data:
                    break
            else:
                data[where:where] = bytes([rng.choice(b"\x93\x94\x8c(0g2hjqr.\x82\x84cV")])
        blob = bytes(data)
        if _lean_scan(blob) != _reference_or_none(blob):
            disagreements.append(blob[:60])
    assert disagreements == []


# ---------------------------------------------------------------------------------------- reading once


def _flip_storage_byte(path: Path) -> None:
    import struct
    import zipfile

    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("/data/0"))
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_file_read_whole_or_member_by_member_gives_the_same_result(
    legacy_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storages are views of the file read once; too large a file streams; both check every CRC."""
    import migrate.read as read_mod
    from migrate.errors import CorruptFile
    from migrate.read import read_legacy, sha256_of

    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L8")
    whole = read_legacy(path)
    monkeypatch.setattr(read_mod, "memory_limit", lambda: 0)  # nothing fits: member-by-member reads
    streamed = read_legacy(path)
    assert whole.sha256 == streamed.sha256 == sha256_of(path)
    assert whole.state_dict.keys() == streamed.state_dict.keys() and len(whole.state_dict) > 2
    for key, tensor in whole.state_dict.items():
        assert same_bits(tensor, streamed.state_dict[key]), key
    _flip_storage_byte(path)
    with pytest.raises(CorruptFile, match="CRC"):
        read_legacy(path)  # streaming
    monkeypatch.undo()
    with pytest.raises(CorruptFile, match="CRC"):
        read_legacy(path)  # whole file


def test_digests_hash_a_shared_view_once_and_tell_views_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    import migrate.verify as verify_mod

    base = torch.arange(12, dtype=torch.float32)
    hashed: list[int] = []
    real = verify_mod.tensor_digest
    monkeypatch.setattr(verify_mod, "tensor_digest", lambda t: hashed.append(t.numel()) or real(t))
    digests = verify_mod.digest_tensors({"a": base, "b": base, "c": base[1:], "d": base.view(3, 4)})
    assert hashed == [12, 11, 12]  # "b" is the very same view as "a"
    assert digests["a"] == digests["b"] == real(base.clone())
    assert digests["c"] == real(base[1:].clone()) != digests["a"]
    assert digests["d"].shape == (3, 4) and digests["d"].digest == digests["a"].digest


def test_a_file_failing_at_its_commit_step_fails_alone_and_leaves_nothing(
    legacy_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit thread's failure reaches the report; the other files of the batch are committed."""
    from migrate import runner
    from migrate.plan import Options

    root = legacy_world.root / "td"
    legacy_world.make_run_dir(root, "a", generation="L8", epochs=(0, 10, 20), trainer_state=None)
    real_commit = runner._commit

    def failing_commit(moves: list[tuple[Path, Path]], options: Any) -> None:
        if moves[0][1].name == "model_0010.pt":
            raise OSError(28, "No space left on device")
        real_commit(moves, options)

    monkeypatch.setattr(runner, "_commit", failing_commit)
    out = tmp_path / "out"
    report = runner.run_migration([root], Options(out=out, progress=False))
    by_name = {Path(r.source).name: r for r in report.results}
    assert by_name["model_0010.pt"].status == "failed"
    assert "No space left on device" in by_name["model_0010.pt"].reason
    assert by_name["model_0010.pt"].outputs == []
    assert by_name["model_0000.pt"].status == by_name["model_0020.pt"].status == "converted"
    assert report.exit_code() == 1
    names = sorted(p.name for p in (out / "a" / "checkpoints").iterdir())
    assert names == ["model_0000.pt", "model_0000.yaml", "model_0020.pt", "model_0020.yaml"]


def test_a_bad_archive_copy_never_takes_the_real_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where hard links fail, the copy is checked before the rename: a mismatch leaves nothing behind."""
    import hashlib
    import shutil

    from migrate import inplace

    original = tmp_path / "run" / "checkpoints" / "model_0001.pt"
    original.parent.mkdir(parents=True)
    original.write_bytes(b"legacy bytes" * 1000)
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    keep = tmp_path / "run" / "legacy" / "checkpoints" / "model_0001.pt"

    def no_link(*_: object) -> None:
        raise OSError("cross-device link")

    def corrupting_copy(src: Any, dst: Any, length: int = 0) -> None:
        dst.write(src.read()[:-1] + b"X")

    monkeypatch.setattr(inplace.os, "link", no_link)
    monkeypatch.setattr(shutil, "copyfileobj", corrupting_copy)
    with pytest.raises(inplace.ArchiveError, match="does not match"):
        inplace._keep(original, keep, sha, fsync=True)
    assert not keep.exists() and list(keep.parent.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(inplace.os, "link", no_link)
    inplace._keep(original, keep, sha, fsync=True)  # the rerun archives it
    assert keep.read_bytes() == original.read_bytes()
