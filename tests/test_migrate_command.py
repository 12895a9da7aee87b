"""`simple-ckpt migrate` end to end: legacy files of every generation -> a run dir simple_ckpt reads."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from click.testing import CliRunner

from migrate.convert import a1_to_a2_key
from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.cli import main
from simple_ckpt.payload import is_weights_only_payload


def migrate(*args: Any) -> Any:
    result = CliRunner().invoke(main, ["migrate", "-q", *map(str, args)], catch_exceptions=False)
    return result


def sha_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def legacy_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The source agent's tensors, loaded with the legacy classes importable (independent of migrate)."""
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, torch.nn.Module):
        agent = obj
    else:
        agent = obj.__dict__.get("_cached_policy")
        agent = obj.__dict__["_policy"] if agent is None else agent
    return {k: v.detach().clone() for k, v in agent.state_dict().items()}


def assert_bit_identical(
    source: dict[str, torch.Tensor], written: dict[str, Any], key_map: Any = None
) -> None:
    assert source
    for key, tensor in source.items():
        other = written[key_map(key) if key_map else key]
        assert other.dtype == tensor.dtype and other.shape == tensor.shape
        assert torch.equal(other.reshape(-1).view(torch.uint8), tensor.reshape(-1).view(torch.uint8)), key


# ------------------------------------------------------------------------------------------ generations


@pytest.mark.parametrize("generation", ["L4", "L6", "L7", "L8", "L9", "N"])
def test_each_generation_module_mode_loads_through_the_manager(
    legacy_world: Any, tmp_path: Path, generation: str
) -> None:
    run = legacy_world.make_run_dir(legacy_world.root, "run_x", generation=generation, epochs=(0, 10))
    out = tmp_path / "out"
    with legacy_world.importable():
        files = sorted((run / "checkpoints").glob("*.pt"))
        sources = {f.name: legacy_state_dict(f) for f in files if f.name != "trainer_state.pt"}
        result = migrate(
            run, "--out", out
        )  # omegaconf/gymnasium/typing: real by default (cli.HELPER_MODULES)
        assert result.exit_code == 0, result.output
        manager = SimpleCheckpointManager(out / "run_x")
        assert [info.epoch for info in manager.list_all_checkpoints()] == [0, 10]
        agent = manager.load_agent()  # newest, verified against its YAML hash
        plain = torch.load(out / "run_x/checkpoints/model_0010.pt", weights_only=False)
        assert type(plain).__name__ == "MettaAgent" and "policy" in plain._modules
        assert type(plain.policy).__module__.startswith("metta.agent")  # the user's classes, not stand-ins
    source = next(sd for name, sd in sources.items() if "0010" in name or "__e10__" in name)
    key_map = a1_to_a2_key if generation in ("L4", "L6", "L7") else None
    assert_bit_identical(source, agent.state_dict(), key_map)
    meta = manager.list_all_checkpoints()[-1].metadata
    assert meta["epoch"] == 10 and meta["run"] in ("run_x", "legacy_run")
    assert meta["source"]["generation"] == generation and meta["source"]["mode"] == "module"
    state = manager.load_trainer_state()
    assert state is not None and state["epoch"] == 10 and "optimizer_state" in state


@pytest.mark.parametrize("generation", ["L0", "L1", "L2", "L3", "L4", "L5", "L6", "L8", "L9", "N"])
def test_each_generation_weights_only_when_classes_do_not_import(
    legacy_world: Any, tmp_path: Path, generation: str
) -> None:
    run = legacy_world.make_run_dir(legacy_world.root, "run_w", generation=generation, epochs=(10,))
    out = tmp_path / "out"
    result = migrate(run, "--out", out)
    assert result.exit_code == 0, result.output
    assert "WEIGHTS-ONLY" in result.output  # said loudly
    model = out / "run_w/checkpoints/model_0010.pt"
    payload = torch.load(model, weights_only=True)
    assert is_weights_only_payload(payload)
    source_file = next(p for p in run.rglob("*.pt") if p.name != "trainer_state.pt")
    if generation == "L5":  # torch.package: torch.load cannot open it; rebuild the deterministic agent
        from migrate.read import read_legacy

        source = read_legacy(source_file).state_dict
    else:
        with legacy_world.importable():
            source = legacy_state_dict(source_file)
    a1 = generation in ("L3", "L4", "L5", "L6")
    assert_bit_identical(source, payload["state_dict"], a1_to_a2_key if a1 else None)
    meta = SimpleCheckpointManager(out / "run_w").list_all_checkpoints()[0].metadata
    assert (
        meta["source"]["mode"] == "weights-only" and "do not import" in meta["source"]["weights_only_reason"]
    )


def test_weights_only_payload_rebuilds_the_current_agent_with_a_factory(
    legacy_world: Any, tmp_path: Path
) -> None:
    """An A1 file's payload loads strictly into the current (A2) agent class: keys moved under policy."""
    from legacy_world import builders

    run = legacy_world.make_run_dir(
        legacy_world.root, "run_a1", generation="L6", epochs=(10,), trainer_state=None
    )
    assert migrate(run, "--out", tmp_path / "out", "--weights-only").exit_code == 0
    with builders.legacy_importable():
        agent = SimpleCheckpointManager(tmp_path / "out/run_a1").load_agent(
            weights_only=True, agent_factory=lambda: builders.metta_agent_a2(seed=0)
        )
        expected = legacy_state_dict(run / "checkpoints/model_0010.pt")
    assert_bit_identical(expected, agent.state_dict(), a1_to_a2_key)


def test_real_legacy_files_convert_weights_only_bit_identical(
    shared_legacy_dir: Path, tmp_path: Path
) -> None:
    from migrate.read import read_legacy

    out = tmp_path / "out"
    report = tmp_path / "report.json"
    result = migrate(shared_legacy_dir, "--out", out, "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["summary"] == {"converted": 4}
    for run, keys in (
        ("l6-policyrecord-v2-a1", {"eval_scores", "original_feature_mapping", "action_names"}),
        ("l8-policyrecord-v2-a2", {"evals", "total_time", "total_train_time", "avg_reward"}),
    ):
        manager = SimpleCheckpointManager(out / run)
        infos = manager.list_all_checkpoints()
        assert len(infos) == 2
        last = infos[-1]
        assert keys <= set(last.metadata), sorted(last.metadata)
        source = read_legacy(shared_legacy_dir / run / "checkpoints" / last.model_path.name).state_dict
        payload = torch.load(last.model_path, weights_only=True)
        key_map = a1_to_a2_key if run.startswith("l6") else None
        assert len(payload["state_dict"]) == len(source)
        assert_bit_identical(source, payload["state_dict"], key_map)
        raw = yaml.safe_load(last.yaml_path.read_text())
        assert (
            raw["source"]["sha256"]
            == hashlib.sha256(
                (shared_legacy_dir / run / "checkpoints" / last.model_path.name).read_bytes()
            ).hexdigest()
        )
    l8 = SimpleCheckpointManager(out / "l8-policyrecord-v2-a2").list_all_checkpoints()[-1].metadata
    assert (
        l8["train_time"] == l8["total_train_time"] and l8["source"]["recovered"]["train_time"]["was"] == 0.0
    )


# ------------------------------------------------------------------------------------------ metadata repair


def test_empty_metadata_repaired_from_trainer_state(legacy_world: Any, tmp_path: Path) -> None:
    run = legacy_world.make_run_dir(legacy_world.root, "run_l9", generation="L9", epochs=(0, 10, 20))
    out = tmp_path / "out"
    assert migrate(run, "--out", out).exit_code == 0
    infos = {i.epoch: i.metadata for i in SimpleCheckpointManager(out / "run_l9").list_all_checkpoints()}
    newest = infos[20]
    assert (newest["epoch"], newest["agent_step"], newest["run"]) == (20, 20 * 1024, "run_l9")
    assert newest["total_time"] == 120.0 and newest["total_train_time"] == pytest.approx(120.0 * 0.8)
    assert newest["source"]["metadata_set"] == "M9"
    assert newest["source"]["recovered"]["agent_step"]["from"] == "trainer state trainer_state.pt"
    older = infos[10]  # the trainer state describes epoch 20 only: nothing invented for epoch 10
    assert older["epoch"] == 10 and older["agent_step"] == 0
    assert "agent_step" in older["source"]["unrecovered"] and "total_time" not in older
    assert infos[0]["source"]["metadata_set"] == "M0-init"


# ------------------------------------------------------------------------------------------ in place


def test_in_place_moves_originals_byte_identical_and_rerun_is_a_no_op(
    legacy_world: Any, tmp_path: Path
) -> None:
    root = legacy_world.root / "train_dir"
    legacy_world.make_run_dir(root, "run_a", generation="L6", epochs=(0, 10))
    legacy_world.make_run_dir(root, "run_0", generation="L0", epochs=(5,), trainer_state="T0")
    before = sha_tree(root)
    assert migrate(root, "--check").exit_code == 1
    assert sha_tree(root) == before  # --check changes nothing

    result = migrate(root, "--in-place")
    assert result.exit_code == 0, result.output
    after = sha_tree(root)
    for rel, digest in before.items():  # every original, byte-identical, under <run>/legacy/<same path>
        run, rest = rel.split("/", 1)
        assert after[f"{run}/legacy/{rest}"] == digest
    assert not (root / "run_0/model_000005.pt").exists()  # L0 names are not reused: moved away
    assert not (root / "run_a/trainer_state.pt").exists()
    assert [i.epoch for i in SimpleCheckpointManager(root / "run_a").list_all_checkpoints()] == [0, 10]
    assert [i.epoch for i in SimpleCheckpointManager(root / "run_0").list_all_checkpoints()] == [5]

    def stamps() -> dict[Path, int]:  # the lease file is rewritten by every writer: not data
        return {
            p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and p.name != ".simple_ckpt.lease"
        }

    stamp = stamps()
    rerun = migrate(root, "--in-place")
    assert rerun.exit_code == 0
    assert "0 converted" in rerun.output and "already-converted" in rerun.output
    assert stamps() == stamp
    assert migrate(root, "--check").exit_code == 0


def test_in_place_refuses_a_run_whose_lease_is_held_and_continues_with_others(
    legacy_world: Any, tmp_path: Path
) -> None:
    root = legacy_world.root / "train_dir"
    busy = legacy_world.make_run_dir(root, "busy", generation="L8", epochs=(10,), trainer_state=None)
    legacy_world.make_run_dir(root, "idle", generation="L8", epochs=(10,), trainer_state=None)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from simple_ckpt.lease import RunLease
            lease = RunLease({str(busy)!r}).acquire()
            print("held", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = sha_tree(busy)
        result = migrate(root, "--in-place")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert "another process is writing checkpoints" in result.output
    assert sha_tree(busy) == before
    assert [i.epoch for i in SimpleCheckpointManager(root / "idle").list_all_checkpoints()] == [10]


# ------------------------------------------------------------------------------------------ batches


def test_one_corrupt_file_fails_alone_and_the_report_says_why(legacy_world: Any, tmp_path: Path) -> None:
    run = legacy_world.make_run_dir(legacy_world.root, "run_c", generation="L7", epochs=(10, 20, 30))
    bad = run / "checkpoints/model_0020.pt"
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])  # truncated
    (run / "checkpoints/notes.pt").write_bytes(b"just text")
    report = tmp_path / "r.json"
    result = migrate(run, "--out", tmp_path / "out", "--report", report)
    assert result.exit_code == 1
    data = json.loads(report.read_text())
    by_source = {f["source"]: f for f in data["files"]}
    assert by_source["checkpoints/model_0020.pt"]["status"] == "failed"
    assert by_source["checkpoints/model_0020.pt"]["reason"]
    assert by_source["checkpoints/notes.pt"]["status"] == "skipped"
    good = by_source["checkpoints/model_0030.pt"]
    assert good["status"] == "converted" and good["generation"] == "L7"
    assert good["sha256"] == hashlib.sha256((run / "checkpoints/model_0030.pt").read_bytes()).hexdigest()
    assert good["outputs"] == [
        str(tmp_path / "out/run_c/checkpoints/model_0030.pt"),
        str(tmp_path / "out/run_c/checkpoints/model_0030.yaml"),
    ]
    assert any(
        g["global"] == "metta.agent.policy_record.PolicyRecord" and g["handling"] for g in good["globals"]
    )
    assert good["mode"] == "weights-only" and good["fallback"]
    assert data["summary"] == {"converted": 3, "failed": 1, "skipped": 1}
    assert data["exit_code"] == 1 and "checkpoints/model_0030.pt" in data["weights_only_fallbacks"]
    assert by_source["trainer_state.pt"]["outputs"] == [
        str(tmp_path / "out/run_c/checkpoints/trainer_state.pt")
    ]
    assert [i.epoch for i in SimpleCheckpointManager(tmp_path / "out/run_c").list_all_checkpoints()] == [
        10,
        30,
    ]


def test_wandb_cache_is_named_by_the_epoch_in_its_metadata(legacy_world: Any, tmp_path: Path) -> None:
    cache = legacy_world.root / "data" / "artifacts"
    legacy_world.write_policy(cache / "my_run:v100" / "model.pt", generation="L6", epoch=5050, run="my_run")
    legacy_world.write_policy(cache / "my_run:v7" / "model.pt", generation="L8", epoch=70, run="my_run")
    out = tmp_path / "out"
    result = migrate(legacy_world.root / "data", "--out", out)
    assert result.exit_code == 0, result.output
    infos = SimpleCheckpointManager(out / "my_run").list_all_checkpoints()
    assert [(i.epoch, i.model_path.name) for i in infos] == [(70, "model_0070.pt"), (5050, "model_5050.pt")]
    assert infos[1].metadata["source"]["path"] == "artifacts/my_run:v100/model.pt"
    rerun = migrate(legacy_world.root / "data", "--out", out)
    assert rerun.exit_code == 0 and "2 already-converted" in rerun.output


def test_dry_run_writes_nothing_and_check_exit_codes(legacy_world: Any, tmp_path: Path) -> None:
    run = legacy_world.make_run_dir(legacy_world.root, "run_d", generation="L8", epochs=(10,))
    out = tmp_path / "out"
    before = sha_tree(legacy_world.root)
    dry = migrate(run, "--out", out, "--dry-run")
    assert dry.exit_code == 0 and "would-convert" in dry.output and not out.exists()
    assert migrate(run, "--out", out, "--check").exit_code == 1
    assert migrate(run, "--out", out).exit_code == 0
    assert migrate(run, "--out", out, "--check").exit_code == 0
    assert sha_tree(legacy_world.root) == before


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_jobs_in_worker_processes_match_a_serial_run(
    legacy_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_method: str
) -> None:
    import multiprocessing

    from migrate import runner as runner_mod

    if start_method == "spawn":  # what other platforms (or a process already running threads) get
        monkeypatch.setattr(runner_mod, "worker_context", lambda: (multiprocessing.get_context("spawn"), 0.0))
    spawned: list[int] = []
    real_pool = runner_mod.ProcessPoolExecutor

    def counting_pool(*args: Any, **kwargs: Any) -> Any:
        spawned.append(kwargs["max_workers"])
        assert kwargs["mp_context"].get_start_method() == start_method
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(runner_mod, "ProcessPoolExecutor", counting_pool)
    root = legacy_world.root / "td"
    legacy_world.make_run_dir(root, "a", generation="L6", epochs=(0, 10, 20))
    legacy_world.make_run_dir(root, "b", generation="L8", epochs=(0, 10))
    assert migrate(root, "--out", tmp_path / "serial").exit_code == 0
    result = migrate(root, "--out", tmp_path / "parallel", "--jobs", "2")
    assert result.exit_code == 0, result.output

    def contents(base: Path) -> dict[str, Any]:
        out = {}
        for y in sorted(base.rglob("*.yaml")):
            doc = yaml.safe_load(y.read_text())
            doc["simple_ckpt"].pop("saved_at")
            out[y.relative_to(base).as_posix()] = doc
        return out

    assert spawned == [1]  # --jobs 2: this process and one worker process
    assert contents(tmp_path / "serial") == contents(tmp_path / "parallel")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "say where to write"),
        (("--out", "{run}/inside"), "overlaps the input"),
        (("--out", "{tmp}/o", "--in-place"), "exclude each other"),
        (("--out", "{tmp}/o", "--jobs", "0"), "--jobs"),
    ],
)
def test_usage_errors_exit_2(legacy_world: Any, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    run = legacy_world.make_run_dir(
        legacy_world.root, "run_u", generation="L8", epochs=(10,), trainer_state=None
    )
    formatted = [a.format(run=run, tmp=tmp_path) for a in args]
    result = migrate(run, *formatted)
    assert result.exit_code == 2
    assert message in result.output


# ------------------------------------------------------------------------------------------ interruption


def _normalised(root: Path) -> dict[str, Any]:
    """Everything under root, with the manager's own save timestamp removed (the only varying byte)."""
    tree: dict[str, Any] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name == ".simple_ckpt.lease":
            continue
        rel = p.relative_to(root).as_posix()
        if p.suffix == ".yaml" and "checkpoints" in rel and "legacy" not in rel:
            doc = yaml.safe_load(p.read_text())
            doc.get("simple_ckpt", {}).pop("saved_at", None)
            tree[rel] = doc
        elif p.name == "trainer_state.pt" and "legacy" not in rel:
            tree[rel] = sorted(torch.load(p, weights_only=True))
        elif p.suffix == ".pt" and "legacy" not in rel:
            tree[rel] = "model"  # bytes depend on pickling order only; contents are checked by the YAML hash
        else:
            tree[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return tree


def test_a_crash_at_any_rename_leaves_a_state_the_rerun_finishes(
    legacy_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated kill at every os.replace / os.link / os.unlink of an in-place migration, then a rerun."""
    import migrate.inplace as inplace_mod
    import migrate.runner as runner_mod

    template = legacy_world.make_run_dir(
        legacy_world.root / "tpl", "run_k", generation="L0", epochs=(0, 5), trainer_state="T0"
    )
    reference = tmp_path / "reference"
    _copy_tree(template.parent, reference)
    assert migrate(reference, "--in-place").exit_code == 0
    expected = _normalised(reference)

    class Killed(BaseException):
        pass

    step = 0
    while True:
        work = tmp_path / f"work{step}"
        _copy_tree(template.parent, work)
        calls = {"n": 0}

        def crash_after(real: Any, calls: dict[str, int] = calls, step: int = step) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                calls["n"] += 1
                if calls["n"] > step:
                    raise Killed()
                return real(*args, **kwargs)

            return wrapper

        with monkeypatch.context() as m:
            m.setattr(runner_mod.os, "replace", crash_after(os.replace))
            m.setattr(inplace_mod.os, "link", crash_after(os.link))
            m.setattr(inplace_mod.os, "unlink", crash_after(os.unlink))
            try:
                migrate(work, "--in-place")
                finished = True
            except Killed:
                finished = False
        assert migrate(work, "--in-place").exit_code == 0
        assert _normalised(work) == expected, f"crash after {step} operations"
        if finished:
            break
        step += 1
    assert step >= 8  # the loop did exercise every step


def _copy_tree(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst)


def test_branch_formats_bare_state_dicts_and_hostile_files(legacy_world: Any, tmp_path: Path) -> None:
    ckpts = legacy_world.root / "td" / "run_b" / "checkpoints"
    legacy_world.write_safetensors_pair(ckpts / "model_0030", epoch=30)
    legacy_world.write_bare_state_dict(ckpts / "model_0005.pt")
    legacy_world.write_hostile(ckpts / "model_0007.pt")
    legacy_world.write_uri_named(
        legacy_world.root / "td" / "run_n" / "run_n" / "checkpoints", run="run_n", epoch=12
    )
    _, sentinel = legacy_world.sentinel_command()
    report = tmp_path / "r.json"
    result = migrate(legacy_world.root / "td", "--out", tmp_path / "out", "--report", report)
    assert result.exit_code == 1  # the hostile file failed
    assert not sentinel.exists()  # and nothing it carries ran
    files = {f["source"]: f for f in json.loads(report.read_text())["files"]}
    assert files["run_b/checkpoints/model_0007.pt"]["status"] == "failed"
    assert "os.system" in files["run_b/checkpoints/model_0007.pt"]["reason"]
    assert files["run_b/checkpoints/model_0005.pt"]["status"] == "skipped"
    assert "state_dict" in files["run_b/checkpoints/model_0005.pt"]["reason"]
    b1 = files["run_b/checkpoints/model_0030.safetensors"]
    assert (b1["status"], b1["generation"], b1["mode"]) == ("converted", "B1", "weights-only")
    meta = SimpleCheckpointManager(tmp_path / "out/run_b").list_all_checkpoints()[0].metadata
    assert meta["epoch"] == 30 and meta["evals"]["avg_category_score"] == 0.5
    n = SimpleCheckpointManager(
        tmp_path / "out/run_n"
    ).list_all_checkpoints()  # doubled <run>/<run>/checkpoints
    assert [(i.epoch, i.metadata["agent_step"], i.metadata["score"]) for i in n] == [(12, 12 * 1024, 0.5)]


def two_run_train_dir(legacy_world: Any) -> Path:
    """A pristine train_dir with an L6 run (three checkpoints) and an L0 run with a T0 trainer state (the
    kill -9 tests migrate copies of it in place)."""
    legacy_world.make_run_dir(legacy_world.root / "tpl", "run_k", generation="L6", epochs=(0, 5, 10))
    legacy_world.make_run_dir(
        legacy_world.root / "tpl", "run_z", generation="L0", epochs=(3,), trainer_state="T0"
    )
    return legacy_world.root / "tpl"


@pytest.mark.stress
def test_kill_9_at_random_moments_then_rerun_equals_an_uninterrupted_run(
    legacy_world: Any, tmp_path: Path
) -> None:
    import random
    import shutil
    import signal
    import time

    from conftest import stress_trials

    template = two_run_train_dir(legacy_world)
    reference = tmp_path / "reference"
    shutil.copytree(template, reference)
    assert migrate(reference, "--in-place").exit_code == 0
    expected = _normalised(reference)
    command = [sys.executable, "-m", "simple_ckpt", "migrate", "-q", "--in-place"]
    start = time.perf_counter()
    subprocess.run([*command, str(tmp_path / "missing")], capture_output=True, check=False)
    startup = time.perf_counter() - start  # interpreter + imports: kills before this hit nothing
    rng = random.Random(1234)
    for trial in range(stress_trials(ci_sample=2, full=50)):
        work = tmp_path / f"kill{trial}"
        shutil.copytree(template, work)
        proc = subprocess.Popen([*command, str(work)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(startup * rng.uniform(0.8, 1.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert migrate(work, "--in-place").exit_code == 0, f"trial {trial}"
        assert _normalised(work) == expected, f"trial {trial}"


def test_in_place_b1_pair_keeps_its_yaml_whose_name_the_output_reuses(
    legacy_world: Any, tmp_path: Path
) -> None:
    run = legacy_world.root / "run_b1"
    legacy_world.write_safetensors_pair(run / "checkpoints" / "model_0030", epoch=30)
    before = sha_tree(run)
    assert migrate(run, "--check").exit_code == 1
    result = migrate(run, "--in-place")
    assert result.exit_code == 0, result.output
    after = sha_tree(run)
    for rel, digest in before.items():
        assert after[f"legacy/{rel}"] == digest  # the .safetensors and its B1 .yaml, byte-identical
    assert not (run / "checkpoints/model_0030.safetensors").exists()
    (info,) = SimpleCheckpointManager(run).list_all_checkpoints()
    assert info.epoch == 30 and info.metadata["source"]["generation"] == "B1"
    assert migrate(run, "--in-place").exit_code == 0
    assert migrate(run, "--check").exit_code == 0
    assert {k: v for k, v in sha_tree(run).items() if "lease" not in k} == {
        k: v for k, v in after.items() if "lease" not in k
    }


def test_in_place_with_jobs_converts_each_run_under_its_lease_in_workers(
    legacy_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from migrate import runner as runner_mod

    monkeypatch.setattr(runner_mod, "WORKER_STARTUP_SECONDS", 0.0)
    root = legacy_world.root / "td"
    for name in ("r1", "r2", "r3", "r4"):
        legacy_world.make_run_dir(root, name, generation="L7", epochs=(5,), trainer_state="T7")
    before = sha_tree(root)
    result = migrate(root, "--in-place", "--jobs", "2")
    assert result.exit_code == 0, result.output
    after = sha_tree(root)
    for rel, digest in before.items():
        run, rest = rel.split("/", 1)
        assert after[f"{run}/legacy/{rest}"] == digest
    for name in ("r1", "r2", "r3", "r4"):
        manager = SimpleCheckpointManager(root / name)
        assert [i.epoch for i in manager.list_all_checkpoints()] == [5]
        assert manager.load_trainer_state()["migration_source"]["generation"] == "T7"
    assert not list(root.rglob(".simple_ckpt-migrate"))  # staging areas removed


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_wandb_cache_copy_of_a_converted_epoch_is_a_duplicate(
    legacy_world: Any, tmp_path: Path, jobs: str
) -> None:
    """A train_dir's wandb cache holds copies of the runs' own checkpoints: they add nothing, fail nothing."""
    root = legacy_world.make_train_dir(
        legacy_world.root / "td", runs={"run_a": "L6"}, epochs=(0, 10), artifacts=False
    )
    legacy_world.write_policy(
        root / "artifacts" / "run_a:v3" / "model.pt", generation="L6", epoch=10, run="run_a"
    )
    out = tmp_path / "out"
    result = migrate(root, "--out", out, "--jobs", jobs)
    assert result.exit_code == 0, result.output
    assert "a wandb cache copy of epoch 10 with the same weights" in result.output
    infos = SimpleCheckpointManager(out / "run_a").list_all_checkpoints()
    assert [(i.epoch, i.metadata["source"]["path"]) for i in infos] == [
        (0, "run_a/checkpoints/model_0000.pt"),
        (10, "run_a/checkpoints/model_0010.pt"),
    ]


def test_wandb_cache_copy_with_other_weights_is_a_conflict_not_an_overwrite(
    legacy_world: Any, tmp_path: Path
) -> None:
    root = legacy_world.make_train_dir(
        legacy_world.root / "td", runs={"run_a": "L6"}, epochs=(0, 10), artifacts=False
    )
    metadata = legacy_world.expected_metadata("L6", 10, None, "run_a")
    # Epoch 10 in its metadata, weights of another epoch: e.g. the run was restarted and rewrote epoch 10.
    legacy_world.write_policy(
        root / "artifacts" / "run_a:v4" / "model.pt",
        generation="L6",
        epoch=11,
        metadata=metadata,
        run="run_a",
    )
    out = tmp_path / "out"
    converted_before = out / "run_a" / "checkpoints" / "model_0010.yaml"
    result = migrate(root, "--out", out)
    assert result.exit_code == 1
    assert "artifacts/run_a:v4/model.pt" in result.output and "not overwritten" in result.output
    assert yaml.safe_load(converted_before.read_text())["source"]["path"] == "run_a/checkpoints/model_0010.pt"
