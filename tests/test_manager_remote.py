"""Run dirs in object storage, against a real S3-compatible server on loopback (moto in server mode).

The server is started by the session fixture of tests/s3_server.py (or named by SIMPLE_CKPT_S3_ENDPOINT,
as .ci/run does); every test gets a fresh bucket.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

import simple_ckpt.storage as storage
from simple_ckpt import SimpleCheckpointManager, load_agent_from, read_metadata
from simple_ckpt.cli import main
from simple_ckpt.errors import CheckpointError, LeaseHeldError
from simple_ckpt.manager import verify_checkpoint
from simple_ckpt.storage import RemotePath, remote_storage

pytestmark = pytest.mark.remote
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def _stop_fsspec_threads_afterwards() -> Iterator[None]:
    """Leave no fsspec IO thread behind: later tests (migrate --jobs) fork only single-threaded."""
    yield
    import fsspec.asyn
    from fsspec import AbstractFileSystem

    loop, thread = fsspec.asyn.loop[0], fsspec.asyn.iothread[0]
    filesystems = [found.fs for found in storage._storages.values()]
    filesystems += [
        fs for cls in (AbstractFileSystem, *AbstractFileSystem.__subclasses__()) for fs in cls._cache.values()
    ]
    for fs in filesystems:  # close the HTTP sessions while their loop still runs
        client = getattr(fs, "_s3", None)
        if client is not None and loop is not None:
            with contextlib.suppress(Exception):
                fsspec.asyn.sync(loop, client.__aexit__, None, None, None, timeout=5)
            fs._s3 = None
    del filesystems
    storage._storages.clear()
    AbstractFileSystem.clear_instance_cache()
    for subclass in AbstractFileSystem.__subclasses__():
        subclass.clear_instance_cache()
    gc.collect()
    if loop is None or thread is None:
        return
    with contextlib.suppress(Exception):
        fsspec.asyn.sync(loop, loop.shutdown_default_executor)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    if not thread.is_alive():
        loop.close()
        fsspec.asyn.loop[0] = fsspec.asyn.iothread[0] = None


def _net(value: float) -> torch.nn.Module:
    net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)
    return net


def _value(agent: torch.nn.Module) -> float:
    values = {float(v) for p in agent.parameters() for v in p.detach().flatten().unique()}
    assert len(values) == 1, values
    return values.pop()


def _fs() -> Any:
    return remote_storage(RemotePath("s3://any/x")).fs


def _keys(url: str) -> list[str]:
    fs = _fs()
    fs.invalidate_cache()
    return sorted(Path(k).name for k in fs.find(RemotePath(url).key, withdirs=False))


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_save_list_best_load_prune_on_s3(s3_bucket: str) -> None:
    run = f"{s3_bucket}/runs/exp1"
    manager = SimpleCheckpointManager(run, "exp1")
    scores = {1: 0.2, 2: 0.9, 3: 0.4, 4: 0.1}
    for epoch, score in scores.items():
        path = manager.save_agent(_net(float(epoch)), epoch, {"score": score, "evals": {"nav": -score}})
        assert str(path) == f"{run}/checkpoints/model_{epoch:04d}.pt"
    manager.save_trainer_state({"lr": 0.1}, 4, 400, note="x")

    infos = manager.list_all_checkpoints()
    assert [i.epoch for i in infos] == [1, 2, 3, 4]
    assert all(i.committed and i.size and i.size > 0 for i in infos)
    assert infos[1].metadata == {"epoch": 2, "run": "exp1", "score": 0.9, "evals": {"nav": -0.9}}
    assert str(manager.find_best_checkpoint()) == f"{run}/checkpoints/model_0002.pt"
    assert str(manager.find_best_checkpoint("evals.nav")) == f"{run}/checkpoints/model_0004.pt"
    assert [p.name for p in manager.find_checkpoints_by_score(0.4)] == ["model_0002.pt", "model_0003.pt"]
    assert _value(manager.load_agent()) == 4.0
    assert _value(manager.load_agent(epoch=2)) == 2.0
    state = manager.load_trainer_state()
    assert state is not None and state["agent_step"] == 400 and state["note"] == "x"
    assert read_metadata(f"{run}/checkpoints/model_0003.pt")["score"] == 0.4

    removed = manager.cleanup_old_checkpoints(keep_last_n=1)
    assert sorted(p.name for p in removed) == ["model_0001.pt", "model_0003.pt"]
    manager.close()
    keys = _keys(f"{run}/checkpoints")
    assert keys == [
        "model_0002.pt",
        "model_0002.yaml",
        "model_0004.pt",
        "model_0004.yaml",
        "trainer_state.pt",
    ]
    # a fresh manager (another process would see the same) reads what is there
    assert [i.epoch for i in SimpleCheckpointManager(run).list_all_checkpoints()] == [2, 4]


def test_async_commit_and_the_listing_index_on_s3(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import simple_ckpt.sidecars as sidecars

    monkeypatch.setattr(sidecars, "INDEX_MIN_SIDECARS", 3)
    run = f"{s3_bucket}/runs/async"
    manager = SimpleCheckpointManager(run, "async", async_commit=True)
    for epoch in range(1, 5):
        manager.save_agent(_net(float(epoch)), epoch, {"score": epoch})
    manager.save_trainer_state(None, 4, 40)
    assert [i.epoch for i in manager.list_all_checkpoints()] == [1, 2, 3, 4]  # waits for the commits
    manager.close()
    assert ".simple_ckpt-index.json" in _keys(f"{run}/checkpoints")  # the cache lives beside the sidecars
    reader = SimpleCheckpointManager(run)
    assert _value(reader.load_agent()) == 4.0
    state = reader.load_trainer_state()
    assert state is not None and state["epoch"] == 4
    # a sidecar rewritten by someone else is noticed (its ETag/size changed), not served from the cache
    key = RemotePath(f"{run}/checkpoints/model_0002.yaml").key
    _fs().pipe_file(key, _fs().cat_file(key).replace(b"score: 2", b"score: 22"))
    assert str(reader.find_best_checkpoint()) == f"{run}/checkpoints/model_0002.pt"


def test_resave_of_an_epoch_and_hash_mismatch_are_detected(s3_bucket: str) -> None:
    run = f"{s3_bucket}/r"
    manager = SimpleCheckpointManager(run, "r")
    manager.save_agent(_net(1.0), 1, {"score": 1})
    manager.save_agent(_net(2.0), 2, {"score": 2})
    manager.save_agent(_net(5.0), 2, {"score": 5})  # re-save replaces model and YAML
    assert _value(manager.load_agent()) == 5.0
    manager.close()
    # A half-committed model: the bytes under the real key are not the ones the YAML describes.
    fs = _fs()
    key = RemotePath(f"{run}/checkpoints/model_0002.pt").key
    data = bytearray(fs.cat_file(key))
    data[-10] ^= 0xFF
    fs.pipe_file(key, bytes(data))
    reader = SimpleCheckpointManager(run)
    with pytest.warns(UserWarning, match="model_0002.pt.*does not match its YAML"):
        assert _value(reader.load_agent()) == 1.0
    with pytest.raises(CheckpointError, match="does not match its YAML"):
        reader.load_agent(strict=True)


def test_ls_and_best_cli_on_s3(s3_bucket: str) -> None:
    run = f"{s3_bucket}/runs/cli"
    with SimpleCheckpointManager(run, "cli") as manager:
        for epoch, score in ((1, 0.3), (2, 0.8), (3, 0.5)):
            manager.save_agent(_net(float(epoch)), epoch, {"score": score, "agent_step": epoch * 10})
    code, out, _ = invoke("ls", run)
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0].split() == ["epoch", "agent_step", "score", "size", "file"]
    assert [r.split()[0] for r in rows[1:]] == ["1", "2", "3"]
    code, out, _ = invoke("ls", run, "--where", "score>=0.5", "--json")
    listed = json.loads(out)
    assert [r["epoch"] for r in listed] == [2, 3]
    assert listed[0]["model_path"] == f"{run}/checkpoints/model_0002.pt"
    code, out, _ = invoke("best", f"{run}/checkpoints")
    assert code == 0 and out.strip() == f"{run}/checkpoints/model_0002.pt"
    code, out, _ = invoke("prune", run, "--keep-last", "1")
    assert code == 0 and "deleted 1 checkpoint(s)" in out  # epoch 1 (2 is the best, 3 the newest)
    assert [i.epoch for i in SimpleCheckpointManager(run).list_all_checkpoints()] == [2, 3]
    result = CliRunner().invoke(main, ["ls", f"{s3_bucket}/nothing-here"])
    assert result.exit_code == 1 and "not a directory" in result.output


def test_load_agent_from_s3_urls(s3_bucket: str) -> None:
    run = f"{s3_bucket}/runs/load"
    with SimpleCheckpointManager(run, "load") as manager:
        manager.save_agent(_net(1.0), 1, {"score": 1})
        manager.save_agent(_net(2.0), 2, {"score": 2})
    assert _value(load_agent_from(run)) == 2.0
    assert _value(load_agent_from(f"{run}/checkpoints")) == 2.0
    assert _value(load_agent_from(f"{run}/checkpoints/model_0001.pt")) == 1.0
    with pytest.raises(CheckpointError, match="no such file or directory"):
        load_agent_from(f"{run}/checkpoints/model_0009.pt")
    with pytest.raises(CheckpointError, match="runs/empty: no such file or directory"):
        load_agent_from(f"{s3_bucket}/runs/empty/")  # an object store has no empty dirs


def test_missing_fsspec_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    monkeypatch.setattr(storage, "_storages", {})
    with pytest.raises(CheckpointError, match=r"simple-ckpt\[remote\]"):
        SimpleCheckpointManager("s3://bucket/run").list_all_checkpoints()


def test_listing_is_paginated_and_stays_inside_the_run_prefix(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = f"{s3_bucket}/runs/big"
    fs = _fs()
    bucket = RemotePath(s3_bucket).key
    for i in range(30):  # other runs' objects in the same bucket: never listed
        fs.pipe_file(f"{bucket}/runs/other/checkpoints/model_{i:04d}.pt", b"x")
    with SimpleCheckpointManager(run, "big") as manager:
        for epoch in range(1, 8):
            manager.save_agent(torch.nn.Linear(2, 2), epoch, {"score": epoch})

    requests: list[dict[str, Any]] = []
    real_call = fs._call_s3

    async def counting(method: str, *args: Any, **kwargs: Any) -> Any:
        if method == "list_objects_v2":
            requests.append(dict(kwargs))
        return await real_call(method, *args, **kwargs)

    monkeypatch.setattr(fs, "_call_s3", counting)
    monkeypatch.setattr(storage.FsspecStorage, "page_size", 3)
    infos = SimpleCheckpointManager(run).list_all_checkpoints()
    assert [i.epoch for i in infos] == list(range(1, 8))
    # 14 keys under checkpoints/, 3 per page: 5 requests, each for the run's prefix only
    assert len(requests) == 5, requests
    assert {r["Prefix"] for r in requests} == {"runs/big/checkpoints/"}
    assert all(r["MaxKeys"] == 3 and r["Delimiter"] == "/" for r in requests)


WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    import simple_ckpt.storage as storage
    from simple_ckpt import SimpleCheckpointManager

    run, crash_on = sys.argv[1], sys.argv[2]
    manager = SimpleCheckpointManager(run, "crash")
    net = torch.nn.Linear(300, 300)
    with torch.no_grad():
        net.weight.fill_(1.0); net.bias.fill_(1.0)
    manager.save_agent(net, 1, {"score": 1})
    with torch.no_grad():
        net.weight.fill_(2.0); net.bias.fill_(2.0)
    fs = storage.remote_storage(storage.RemotePath(run)).fs
    real_copy = fs.copy
    def copy(src, dst, *a, **k):
        # crash_on = "model": killed before the model's commit; "yaml": after it, before the YAML's
        if dst.endswith(".pt" if crash_on == "model" else ".yaml"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_copy(src, dst, *a, **k)
    fs.copy = copy
    manager.save_agent(net, 2, {"score": 2})
    print("not killed", flush=True)
    """
)


@pytest.mark.parametrize("crash_on", ["model", "yaml"])
def test_interrupted_remote_save_is_ignored_and_previous_checkpoint_loads(
    s3_bucket: str, crash_on: str
) -> None:
    run = f"{s3_bucket}/runs/crash"
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", WRITER, run, crash_on], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    keys = _keys(f"{run}/checkpoints")
    temp = [k for k in keys if k.startswith(".model_0002.")]
    assert temp, keys  # the interrupted write left a temp key behind
    reader = SimpleCheckpointManager(run)
    infos = reader.list_all_checkpoints()
    if crash_on == "model":
        assert [i.epoch for i in infos] == [1]
        assert _value(reader.load_agent()) == 1.0
    else:  # the model was committed, its YAML was not: listed as uncommitted, never trusted
        assert [(i.epoch, i.committed) for i in infos] == [(1, True), (2, False)]
        with pytest.warns(UserWarning, match="model_0002.pt.*interrupted save"):
            assert _value(reader.load_agent()) == 1.0
    # Once the dead writer's lease has expired, the next writer takes over and sweeps its temp keys.
    lease_key = RemotePath(f"{run}/checkpoints/.simple_ckpt.lease").key
    stale = json.loads(_fs().cat_file(lease_key))
    stale["renewed"] = time.time() - 2 * storage.RemoteLease.TTL_SECONDS
    _fs().pipe_file(lease_key, json.dumps(stale).encode())
    with SimpleCheckpointManager(run, "next") as writer:
        writer.save_agent(_net(3.0), 3, {"score": 3})
        assert not [k for k in _keys(f"{run}/checkpoints") if k.startswith(".model_")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _value(SimpleCheckpointManager(run).load_agent()) == 3.0


def test_remote_lease_refuses_a_live_writer_and_takes_over_a_stale_one(s3_bucket: str) -> None:
    run = f"{s3_bucket}/runs/lease"
    lease_key = RemotePath(f"{run}/checkpoints/.simple_ckpt.lease").key
    other = {"pid": 4242, "host": "elsewhere", "started": "2026-01-01T00:00:00+00:00", "token": "abc"}
    _fs().pipe_file(lease_key, json.dumps({**other, "renewed": time.time()}).encode())
    manager = SimpleCheckpointManager(run, "second")
    with pytest.raises(LeaseHeldError, match="pid 4242 on host elsewhere"):
        manager.save_agent(_net(1.0), 1, {})
    assert manager.list_all_checkpoints() == []  # readers never need the lease
    _fs().pipe_file(lease_key, json.dumps({**other, "renewed": time.time() - 3600}).encode())
    manager.save_agent(_net(1.0), 1, {})
    assert json.loads(_fs().cat_file(lease_key))["pid"] == os.getpid()
    manager.close()
    assert not _fs().exists(lease_key)  # released


def test_migrate_a_legacy_run_dir_from_a_bucket(s3_bucket: str, legacy_world: Any, tmp_path: Path) -> None:
    local_run = legacy_world.make_run_dir(legacy_world.root, "run_a", generation="L6", epochs=(0, 10))
    fs = _fs()
    bucket = RemotePath(s3_bucket).key
    for file in local_run.rglob("*"):
        if file.is_file():
            fs.put_file(str(file), f"{bucket}/train_dir/{file.relative_to(local_run.parent).as_posix()}")
    source = f"{s3_bucket}/train_dir/run_a"

    code, out, err = invoke("migrate", source, "--out", str(tmp_path / "out"), "-q")
    assert code == 0, out + err
    assert "simple-ckpt-migrate-remote" not in out + err  # the report never names the temp copies
    local_out = SimpleCheckpointManager(tmp_path / "out" / "run_a")
    infos = local_out.list_all_checkpoints()
    assert [(i.epoch, i.committed) for i in infos] == [(0, True), (10, True)]
    for info in infos:
        verify_checkpoint(info)
    assert infos[1].metadata["source"]["path"] == "checkpoints/model_0010.pt"  # as for a local input
    state = local_out.load_trainer_state(weights_only=False)
    assert state is not None and state["epoch"] == 10

    remote_out = f"{s3_bucket}/converted"
    code, out, err = invoke("migrate", source, "--out", remote_out, "-q")
    assert code == 0, out + err
    assert "uploaded 5 file(s)" in out  # 2 models, 2 YAMLs, 1 trainer state
    assert f"{remote_out}/run_a/checkpoints/model_0010.pt" in out  # outputs are named by their URL
    assert "simple-ckpt-migrate-remote" not in out + err
    remote = SimpleCheckpointManager(f"{remote_out}/run_a")
    remote_infos = remote.list_all_checkpoints()
    assert [(i.epoch, i.committed) for i in remote_infos] == [(0, True), (10, True)]
    for info in remote_infos:
        verify_checkpoint(info)  # size and hash of the uploaded model match its uploaded YAML
    assert remote_infos[1].metadata["source"]["sha256"] == infos[1].metadata["source"]["sha256"]
    remote_state = remote.load_trainer_state(weights_only=False)
    assert remote_state is not None and remote_state["epoch"] == 10
    for args in (["--in-place"], ["--out", str(tmp_path / "o2"), f"{s3_bucket}/train_dir/missing"]):
        result = CliRunner().invoke(main, ["migrate", source, *args])
        assert result.exit_code == 2, result.output
        assert "simple-ckpt: error: migrate:" in result.output
    # A rerun finds everything already converted and uploads nothing.
    code, out, err = invoke("migrate", source, "--out", remote_out, "-q")
    assert code == 0, out + err
    assert "uploaded 0 file(s)" in out


def test_inspect_a_remote_file_and_dir(s3_bucket: str, legacy_world: Any) -> None:
    local = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L6", epoch=10)
    bucket = RemotePath(s3_bucket).key
    _fs().put_file(str(local), f"{bucket}/files/checkpoints/model_0010.pt")
    _fs().pipe_file(f"{bucket}/files/checkpoints/notes.txt", b"not a checkpoint")
    code, out, err = invoke("inspect", f"{s3_bucket}/files", "--json")
    assert code == 0, err
    reports = json.loads(out)
    assert [r["path"] for r in reports] == [f"{s3_bucket}/files/checkpoints/model_0010.pt"]
    assert reports[0]["generation"] == "L6" and reports[0]["ok"]
    code, out, err = invoke("inspect", f"{s3_bucket}/files/checkpoints/model_0010.pt")
    assert code == 0 and out.startswith(f"{s3_bucket}/files/checkpoints/model_0010.pt")
    result = CliRunner().invoke(main, ["inspect", f"{s3_bucket}/files/nothing.pt"])
    assert result.exit_code == 2 and "no such file or directory" in result.output


def test_storage_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*storage.ENDPOINT_ENV, storage.OPTIONS_ENV):
        monkeypatch.delenv(name, raising=False)
    assert storage.storage_options("s3") == {}
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert storage.storage_options("s3") == {"client_kwargs": {"endpoint_url": "http://127.0.0.1:1"}}
    monkeypatch.setenv("SIMPLE_CKPT_S3_ENDPOINT", "http://127.0.0.1:2")  # ours wins over the AWS one
    monkeypatch.setenv(storage.OPTIONS_ENV, '{"anon": false, "client_kwargs": {"region_name": "x"}}')
    assert storage.storage_options("s3") == {
        "anon": False,
        "client_kwargs": {"region_name": "x", "endpoint_url": "http://127.0.0.1:2"},
    }
    assert storage.storage_options("gs") == {"anon": False, "client_kwargs": {"region_name": "x"}}
    monkeypatch.setenv(storage.OPTIONS_ENV, "[1, 2]")
    with pytest.raises(CheckpointError, match="SIMPLE_CKPT_STORAGE_OPTIONS: not a JSON object"):
        storage.storage_options("s3")


def test_remote_paths_behave_like_paths() -> None:
    path = RemotePath("s3://bucket/runs/x/checkpoints/model_0001.pt")
    assert path.name == "model_0001.pt" and path.suffix == ".pt" and path.stem == "model_0001"
    assert path.with_suffix(".yaml") == RemotePath("s3://bucket/runs/x/checkpoints/model_0001.yaml")
    assert path.parent.parent / "checkpoints" == path.parent
    assert str(RemotePath("s3://bucket/runs/x/")) == "s3://bucket/runs/x"
    assert storage.to_path("file:///tmp/x") == Path("/tmp/x") and storage.to_path("rel/x") == Path("rel/x")
    with pytest.raises(CheckpointError, match="not a storage URL"):
        RemotePath("s3://")


def test_show_a_remote_checkpoint_and_payload(s3_bucket: str) -> None:
    from simple_ckpt.payload import make_weights_only_payload

    run = f"{s3_bucket}/runs/show"
    with SimpleCheckpointManager(run, "show") as manager:
        manager.save_agent(_net(1.0), 1, {"score": 0.5})
        manager.write_checkpoint(make_weights_only_payload(_net(2.0).state_dict(), "pkg.Net"), 2, {})
    code, out, _ = invoke("show", f"{run}/checkpoints/model_0001.pt")
    assert code == 0
    assert "score: 0.5" in out and "integrity: ok (blake3" in out and "tensors: 4, elements: 90" in out
    code, out, _ = invoke("show", f"{run}/checkpoints/model_0002.pt")
    assert code == 0 and "object: weights-only payload" in out and "tensors: 4" in out
