"""The hostile corpus (tests/hostile) against every load path: refused, named, and nothing ran.

Complements test_migrate_read_safety.py (which covers the gate's unit behaviour and the five spellings
of one os.system): here 26 distinct crafted files go through migrate's reader, `simple-ckpt inspect`, a
`simple-ckpt migrate` batch mixed with good files, `load_agent_from` on a file simple_ckpt did not write,
and `SimpleCheckpointManager.load_agent` on a run dir whose YAML was forged to match a hostile model.
A first test proves the payloads are real: an unrestricted unpickler does trigger every live one.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
import yaml
from hostile import CASES, PICKLE_CASES, UNRESTRICTED_LOADER, HostileCase, Sentinel
from legacy_world import LegacyWorld
from legacy_world.builders import LEGACY_SRC

from migrate.errors import LegacyReadError, RefusedFile
from migrate.read import inventory, read_legacy
from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.atomic import new_hasher
from simple_ckpt.errors import CheckpointError, LegacyCheckpointError
from simple_ckpt.manager import load_agent_from, read_metadata, verify_checkpoint
from simple_ckpt.pickle_guard import UnsafePickleError, denial_reason

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI = str(PROJECT_ROOT / ".venv" / "bin" / "simple-ckpt")
IDS = [case.name for case in CASES]


def _cli() -> list[str]:
    return [CLI] if Path(CLI).exists() else [sys.executable, "-m", "simple_ckpt"]


def _named(message: str, case: HostileCase) -> bool:
    return any(name in message for name in case.globals)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_size_and_every_live_payload_really_runs_without_a_gate(tmp_path: Path) -> None:
    assert len(CASES) >= 20 and len({case.stem for case in CASES}) == len(CASES)
    jobs = []
    sentinels = {}
    for case in PICKLE_CASES:
        sentinel = Sentinel.create(tmp_path / case.stem / "sentinel")
        path = case.build(tmp_path / case.stem, sentinel)
        sentinels[case.name] = sentinel
        jobs.append((str(path), str(sentinel.file)))
    subprocess.run(
        [sys.executable, "-c", UNRESTRICTED_LOADER, str(LEGACY_SRC), json.dumps(jobs)],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 5  # Popen's child runs asynchronously
    live = [case for case in PICKLE_CASES if case.live]
    while time.monotonic() < deadline and any(sentinels[c.name].untouched() for c in live):
        time.sleep(0.05)
    dead = [case.name for case in live if sentinels[case.name].untouched()]
    assert not dead, f"payloads that do nothing even unguarded (the corpus would prove nothing): {dead}"
    assert len(live) >= 20


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_migrate_reader_refuses_naming_the_file_and_the_global(
    legacy_world: LegacyWorld, case: HostileCase
) -> None:
    sentinel = Sentinel.create(legacy_world.root / "sentinel")
    path = case.build(legacy_world.root / "run" / "checkpoints", sentinel)
    with pytest.raises(LegacyReadError) as caught:
        read_legacy(path)
    message = str(caught.value)
    assert str(path) in message or str(path.with_suffix(".yaml")) in message, message
    assert _named(message, case), message
    if case.kind == "pickle":
        assert isinstance(caught.value, RefusedFile)
        refused = {use.qualified_name for use in inventory(path) if use.handling == "refused"}
        assert refused and refused <= case.globals | {"?"}, refused
    assert sentinel.untouched()


@pytest.mark.parametrize("case", PICKLE_CASES, ids=[c.name for c in PICKLE_CASES])
def test_load_agent_from_refuses_a_file_it_did_not_write(tmp_path: Path, case: HostileCase) -> None:
    sentinel = Sentinel.create(tmp_path / "sentinel")
    path = case.build(tmp_path / "foreign", sentinel)
    with pytest.raises(CheckpointError) as caught:
        load_agent_from(path)
    message = str(caught.value)
    assert str(path) in message
    if case.legacy_shaped:  # recognised as a legacy pickle before any load: points at `migrate`
        assert isinstance(caught.value, LegacyCheckpointError) and "simple-ckpt migrate" in message
    else:
        assert isinstance(caught.value, UnsafePickleError), message
        assert caught.value.global_name in case.globals | {"?"} and _named(message, case), message
    assert sentinel.untouched()


def _forge(checkpoints: Path, template_epoch: int, model: Path, epoch: int) -> None:
    """Write model_<epoch>.yaml for `model` as simple_ckpt would: matching size and hash, valid format."""
    document = yaml.safe_load((checkpoints / f"model_{template_epoch:04d}.yaml").read_text())
    integrity = document["simple_ckpt"]
    data = model.read_bytes()
    hasher = new_hasher(integrity["hash_algorithm"])
    hasher.update(data)
    integrity.update(model_file=model.name, size=len(data), hash=hasher.hexdigest())
    document["epoch"] = epoch
    (checkpoints / f"model_{epoch:04d}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def test_load_agent_with_forged_yaml_refuses_each_hostile_model_and_falls_back(tmp_path: Path) -> None:
    sentinel = Sentinel.create(tmp_path / "sentinel")
    run = tmp_path / "run"
    with SimpleCheckpointManager(run, "victim") as manager:
        good = torch.nn.Linear(3, 2)
        manager.save_agent(good, 1, {"score": 1.0})
    checkpoints = run / "checkpoints"
    refused = 0
    for case in PICKLE_CASES:
        staging = tmp_path / "staging" / case.stem
        built = case.build(staging, sentinel)
        model = checkpoints / "model_0002.pt"
        model.write_bytes(built.read_bytes())
        _forge(checkpoints, 1, model, 2)
        manager = SimpleCheckpointManager(run, "victim")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            agent = manager.load_agent()
        assert isinstance(agent, torch.nn.Linear) and torch.equal(agent.weight, good.weight), case.name
        text = " ".join(str(w.message) for w in caught)
        assert "model_0002.pt" in text and "epoch 2" in text, (case.name, text)
        with pytest.raises(CheckpointError) as strict:
            manager.load_agent(strict=True)
        assert str(model) in str(strict.value)
        if not case.legacy_shaped:
            assert _named(text, case), (case.name, text)
            with pytest.raises(UnsafePickleError):
                manager.load_agent(epoch=2)
        refused += 1
        assert sentinel.untouched(), case.name
    assert refused == len(PICKLE_CASES)


def test_forged_yaml_with_python_tags_is_never_constructed(tmp_path: Path) -> None:
    sentinel = Sentinel.create(tmp_path / "sentinel")
    run = tmp_path / "run"
    with SimpleCheckpointManager(run, "victim") as manager:
        manager.save_agent(torch.nn.Linear(3, 2), 1, {"score": 1.0})
        manager.save_agent(torch.nn.Linear(3, 2), 2, {"score": 2.0})
    sidecar = run / "checkpoints" / "model_0002.yaml"
    text = sidecar.read_text().replace(
        "score: 2.0", f"score: !!python/object/apply:os.system [{sentinel.command!r}]"
    )
    assert text != sidecar.read_text()
    sidecar.write_text(text)
    with pytest.raises(CheckpointError, match=r"model_0002\.yaml"):
        read_metadata(sidecar)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        agent = SimpleCheckpointManager(run).load_agent()
    assert isinstance(agent, torch.nn.Linear)
    for command in (["ls", str(run)], ["show", str(run / "checkpoints" / "model_0002.pt")]):
        proc = subprocess.run([*_cli(), *command], capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode != 0 and "model_0002.yaml" in proc.stderr, proc.stderr  # show names the file
    assert sentinel.untouched()


def test_guard_does_not_refuse_what_legitimate_checkpoints_name() -> None:
    for module, name in [
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch.nn.modules.linear", "Linear"),
        ("collections", "OrderedDict"),
        ("builtins", "set"),
        ("__builtin__", "long"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "dtype"),
        ("my_agents.policy", "Agent"),
        ("types", "SimpleNamespace"),
        ("functools", "partialmethod_not_a_call"),
        ("omegaconf.dictconfig", "DictConfig"),
    ]:
        assert denial_reason(module, name) is None, (module, name)
    for module, name in [
        ("os", "system"),
        ("nt", "system"),
        ("subprocess", "run"),
        ("builtins", "getattr"),
        ("builtins", "open"),
        ("torch", "load"),
        ("torch.serialization", "load"),
        ("functools", "partial"),
        ("my_agents.policy", "Agent.__init__.__globals__"),
        ("numpy", "load"),
        ("pandas", "read_pickle"),
        ("torch.classes", "load_library"),
        ("numpy.ctypeslib", "load_library"),
        ("some.vendored.yaml", "load"),
    ]:
        assert denial_reason(module, name) is not None, (module, name)


def test_migrate_batch_converts_the_good_files_and_lists_each_hostile_one(
    legacy_world: LegacyWorld, tmp_path: Path
) -> None:
    sentinel = Sentinel.create(tmp_path / "sentinel")
    run = legacy_world.make_run_dir(legacy_world.root / "td", "run_h", generation="L6", epochs=(0, 10))
    paths = {case.name: case.build(run / "checkpoints", sentinel) for case in CASES}
    before = {p.relative_to(run).as_posix(): _sha(p) for p in sorted(run.rglob("*")) if p.is_file()}
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    proc = subprocess.run(
        [*_cli(), "migrate", "-q", "--out", str(out), "--report", str(report), str(run)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    files = {Path(f["source"]).name: f for f in json.loads(report.read_text())["files"]}
    for epoch in (0, 10):
        assert files[f"model_{epoch:04d}.pt"]["status"] == "converted"
    assert files["trainer_state.pt"]["status"] == "converted"
    for case in CASES:
        entry = files[paths[case.name].name]
        assert entry["status"] == "failed", (case.name, entry)
        assert _named(entry["reason"], case), (case.name, entry["reason"])
        assert paths[case.name].name in proc.stdout + proc.stderr, case.name
    converted = SimpleCheckpointManager(out / "run_h")
    infos = converted.list_all_checkpoints()
    assert [info.epoch for info in infos] == [0, 10]
    for info in infos:  # committed, hash-verified and loadable without unpickling classes
        verify_checkpoint(info)
        assert torch.load(info.model_path, weights_only=True)["state_dict"]
    after = {p.relative_to(run).as_posix(): _sha(p) for p in sorted(run.rglob("*")) if p.is_file()}
    assert after == before  # no original touched
    assert sentinel.untouched()


def test_inspect_cli_refuses_every_hostile_file_in_one_line_each(tmp_path: Path) -> None:
    sentinel = Sentinel.create(tmp_path / "sentinel")
    paths = [case.build(tmp_path / "c" / case.stem, sentinel) for case in CASES]
    proc = subprocess.run(
        [*_cli(), "inspect", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("simple-ckpt inspect: error:")]
    assert len(errors) == len(CASES), proc.stderr
    for case, path in zip(CASES, paths, strict=True):
        line = next((e for e in errors if str(path) in e or str(path.with_suffix(".yaml")) in e), "")
        assert _named(line, case), (case.name, line)
    assert f"{len(CASES)} of {len(CASES)} file(s) failed" in proc.stderr
    assert sentinel.untouched()


def test_guard_lets_legitimate_module_checkpoints_load_in_both_torch_formats(tmp_path: Path) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.LayerNorm(3))
    for name, new_format in (("zip.pt", True), ("raw.pt", False)):
        path = tmp_path / name
        torch.save(net, path, _use_new_zipfile_serialization=new_format)
        loaded = load_agent_from(path)  # not weights-only: goes through the guard, then the full unpickler
        assert isinstance(loaded, torch.nn.Sequential)
        assert torch.equal(loaded[0].weight, net[0].weight)


def test_hostile_trainer_state_is_refused_by_load_trainer_state_and_migrate(
    legacy_world: LegacyWorld, tmp_path: Path
) -> None:
    sentinel = Sentinel.create(tmp_path / "sentinel")
    run = tmp_path / "run"
    with SimpleCheckpointManager(run, "victim") as manager:
        manager.save_agent(torch.nn.Linear(2, 2), 1, {})
    state = PICKLE_CASES[0].build_file(run / "checkpoints" / "trainer_state.pt", sentinel)
    reader = SimpleCheckpointManager(run)
    with pytest.raises(CheckpointError):  # the default: weights_only=True refuses any class
        reader.load_trainer_state()
    with pytest.raises(UnsafePickleError, match=r"trainer_state\.pt: refused: global os\.system"):
        reader.load_trainer_state(weights_only=False)
    legacy_run = legacy_world.make_run_dir(legacy_world.root / "td", "run_t", generation="L6", epochs=(10,))
    (legacy_run / "trainer_state.pt").write_bytes(state.read_bytes())
    with pytest.raises(RefusedFile, match="os.system"):
        read_legacy(legacy_run / "trainer_state.pt")
    assert sentinel.untouched()


@pytest.mark.parametrize("case", PICKLE_CASES[:13], ids=[c.name for c in PICKLE_CASES[:13]])
def test_widening_the_allow_list_never_admits_dangerous_modules(
    legacy_world: LegacyWorld, case: HostileCase
) -> None:
    from migrate.model import ReadOptions

    sentinel = Sentinel.create(legacy_world.root / "sentinel")
    path = case.build(legacy_world.root / "w", sentinel)
    modules = tuple(sorted({name.split(".")[0] for name in case.globals}))
    options = ReadOptions(allow_modules=(*modules, "os", "subprocess", "builtins", "importlib"))
    with pytest.raises(RefusedFile) as caught:
        read_legacy(path, options)
    assert _named(str(caught.value), case)
    assert sentinel.untouched()


def test_metadata_cannot_steer_where_migrate_writes(legacy_world: LegacyWorld, tmp_path: Path) -> None:
    """A run name or epoch in the file's metadata that is a path (or not a number) never escapes --out."""
    from click.testing import CliRunner

    from simple_ckpt.cli import main

    td = legacy_world.root / "td"
    escape = tmp_path / "ESCAPED"
    for i, epoch in enumerate([f"../../../../{escape}", -5, 1.5, True, None]):
        md = legacy_world.expected_metadata("L6", 10)
        md.update(epoch=epoch, run=f"../../../../{escape}_run")
        legacy_world.write_policy(td / "artifacts" / f"run{i}:v3" / "model.pt", metadata=md)
    md = legacy_world.expected_metadata("L6", 10)
    md["run"] = str(escape)
    legacy_world.write_policy(td / "runx" / "checkpoints" / "model_0010.pt", metadata=md)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["migrate", "-q", "--out", str(out), str(td)])
    assert result.exit_code == 1  # the artifacts whose epoch is not a number fail, naming why
    assert result.output.count("cannot determine the epoch") == 5, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert "runx/checkpoints/model_0010.pt" in written
    assert all(not part.startswith("..") for rel in written for part in rel.split("/"))
    assert not list(tmp_path.glob("ESCAPED*"))
