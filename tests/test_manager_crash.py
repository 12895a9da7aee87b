"""Crash safety and the writer lease, with real processes killed with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import stress_trials

from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.errors import CheckpointError, LeaseHeldError
from simple_ckpt.layout import is_temp_file
from simple_ckpt.manager import verify_checkpoint

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A writer that saves in a loop: every parameter of epoch E equals E, so any loaded model tells its epoch.
# CRASH_AT=N SIGKILLs the process at the N-th os.replace of the atomic writer (before it happens);
# CRASH_MID_WRITE=N kills it after N bytes of the second model have been written; neither: run until killed.
WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    import simple_ckpt.atomic as atomic
    from simple_ckpt import SimpleCheckpointManager

    run_dir, max_epochs = sys.argv[1], int(sys.argv[2])
    crash_at = int(os.environ.get("CRASH_AT", "0"))
    crash_mid = int(os.environ.get("CRASH_MID_WRITE", "0"))
    calls = [0]
    real_replace = os.replace

    def replace(src, dst):
        calls[0] += 1
        if calls[0] == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst)

    atomic.os.replace = replace
    real_write = atomic.HashingWriter.write

    def write(self, data):
        n = real_write(self, data)
        if crash_mid and epoch == 2 and self.size >= crash_mid:
            os.kill(os.getpid(), signal.SIGKILL)
        return n

    atomic.HashingWriter.write = write
    manager = SimpleCheckpointManager(run_dir, "crash", async_commit=os.environ.get("ASYNC") == "1")
    net = torch.nn.Linear(600, 600)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    print("ready", flush=True)
    for epoch in range(1, max_epochs + 1):
        with torch.no_grad():
            for p in net.parameters():
                p.fill_(float(epoch))
        manager.save_agent(net, epoch, {"score": float(epoch), "marker": epoch})
        manager.save_trainer_state(opt, epoch, epoch * 10)
    print("done", flush=True)
    """
)

HOLDER = textwrap.dedent(
    """
    import sys
    import torch
    from simple_ckpt import SimpleCheckpointManager
    from simple_ckpt.errors import CheckpointError, LeaseHeldError

    manager = SimpleCheckpointManager(sys.argv[1], "holder")
    try:
        manager.save_agent(torch.nn.Linear(2, 2), int(sys.argv[2]), {})
        print("ok", flush=True)
    except LeaseHeldError as exc:
        print("held", exc, flush=True)
    sys.stdin.read()  # hold the lease until the parent closes stdin
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _spawn(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or _env(),
    )


def _epoch_of(agent: torch.nn.Module) -> int:
    values = {float(v) for p in agent.parameters() for v in p.detach().flatten().unique()}
    assert len(values) == 1, f"a model mixing epochs: {sorted(values)[:5]}"
    return int(values.pop())


def check_invariants(run_dir: Path) -> int:
    """What must hold after a crash at any point; returns the epoch load_agent resumed from (0: none)."""
    manager = SimpleCheckpointManager(run_dir, "check")
    infos = manager.list_all_checkpoints()
    names = os.listdir(manager.checkpoint_dir) if manager.checkpoint_dir.exists() else []
    assert all(
        is_temp_file(n) or n.startswith(".simple_ckpt") or n.startswith("model_") or n == "trainer_state.pt"
        for n in names
    ), names
    committed = [i for i in infos if i.yaml_path is not None]
    for info in committed:  # never a YAML whose model is missing or different
        verify_checkpoint(info)
    uncommitted = [i.epoch for i in infos if i.yaml_path is None]
    newest_committed = committed[-1].epoch if committed else 0
    assert all(e == newest_committed + 1 for e in uncommitted), (uncommitted, newest_committed)
    if infos and not committed:
        # Only an interrupted first save: not a trusted checkpoint, but never silently a fresh start.
        with pytest.raises(CheckpointError, match="model_0001.pt.*interrupted save"):
            manager.load_agent()
        return -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = manager.load_agent()
    if agent is None:
        assert not infos
        assert manager.load_trainer_state() is None
        return 0
    resumed = _epoch_of(agent)
    assert resumed == newest_committed
    state = manager.load_trainer_state()
    if state is not None:  # never points at a missing model
        assert newest_committed - 1 <= state["epoch"] <= newest_committed
        assert _epoch_of(manager.load_agent(epoch=state["epoch"])) == state["epoch"]
    return resumed


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("crash_at", [1, 2, 3, 4, 5])
def test_kill_at_each_commit_step_leaves_a_consistent_run(tmp_path: Path, crash_at: int, mode: str) -> None:
    # os.replace order per epoch: model, YAML, trainer state (async: on the background writer, FIFO).
    env = _env() | {"CRASH_AT": str(crash_at), "ASYNC": "1" if mode == "async" else "0"}
    proc = _spawn(WRITER, str(tmp_path / "run"), "3", env=env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    resumed = check_invariants(tmp_path / "run")
    assert resumed == {1: 0, 2: -1, 3: 1, 4: 1, 5: 1}[crash_at]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_kill_in_the_middle_of_writing_a_model(tmp_path: Path, mode: str) -> None:
    env = _env() | {"CRASH_MID_WRITE": str(300_000), "ASYNC": "1" if mode == "async" else "0"}
    proc = _spawn(WRITER, str(tmp_path / "run"), "3", env=env)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert check_invariants(tmp_path / "run") == 1
    leftovers = [n for n in os.listdir(tmp_path / "run" / "checkpoints") if is_temp_file(n)]
    assert leftovers, "the interrupted write should have left a temp file (ignored by listings)"


@pytest.mark.stress
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_writer_killed_at_random_times(tmp_path: Path, mode: str) -> None:
    rng = random.Random(1234)
    for trial in range(stress_trials(2, 25)):
        run_dir = tmp_path / f"run{trial}"
        env = _env() | {"ASYNC": "1" if mode == "async" else "0"}
        proc = _spawn(WRITER, str(run_dir), "100000", env=env)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 1.0))
        proc.kill()
        proc.communicate(timeout=60)
        check_invariants(run_dir)


def test_second_writer_fails_fast_naming_the_holder_and_stale_lease_recovers(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    holder = _spawn(HOLDER, str(run_dir), "1")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
    try:
        manager = SimpleCheckpointManager(run_dir, "second")
        start = time.monotonic()
        with pytest.raises(LeaseHeldError, match=rf"pid {holder.pid} on host"):
            manager.save_agent(torch.nn.Linear(2, 2), 2, {})
        assert time.monotonic() - start < 2.0
        with pytest.raises(LeaseHeldError):
            manager.save_trainer_state(None, 2, 0)
        # Readers never need the lease.
        assert [i.epoch for i in manager.list_all_checkpoints()] == [1]
        assert isinstance(manager.load_agent(), torch.nn.Linear)
        assert not (run_dir / "checkpoints" / "model_0002.pt").exists()
    finally:
        holder.kill()  # dies holding the lease: the lease file still names it
        holder.communicate(timeout=60)
    assert str(holder.pid) in (run_dir / "checkpoints" / ".simple_ckpt.lease").read_text()
    manager.save_agent(torch.nn.Linear(2, 2), 2, {})  # stale lease recovered
    assert [i.epoch for i in manager.list_all_checkpoints()] == [1, 2]
    manager.close()


def test_two_writers_started_together_exactly_one_wins(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    procs = [_spawn(HOLDER, str(run_dir), str(epoch)) for epoch in (1, 2)]
    try:
        lines = [p.stdout.readline().strip() for p in procs if p.stdout is not None]
    finally:
        for p in procs:
            p.communicate(input="", timeout=60)
    assert sorted(line.split()[0] for line in lines) == ["held", "ok"], lines
    winner = procs[[line.split()[0] for line in lines].index("ok")]
    loser_line = next(line for line in lines if line.startswith("held"))
    assert f"pid {winner.pid}" in loser_line


def test_lease_is_shared_within_a_process_and_released_on_close(tmp_path: Path) -> None:
    a = SimpleCheckpointManager(tmp_path / "run", "a")
    b = SimpleCheckpointManager(tmp_path / "run", "b")
    a.save_agent(torch.nn.Linear(2, 2), 1, {})
    b.save_agent(torch.nn.Linear(2, 2), 2, {})  # same process: no self-lockout
    a.close()
    b.close()
    other = _spawn(HOLDER, str(tmp_path / "run"), "3")
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "ok"
    finally:
        other.communicate(input="", timeout=60)


def test_temp_files_of_dead_writers_are_swept_by_the_next_writer(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    ckpt = tmp_path / "run" / "checkpoints"
    ckpt.mkdir(parents=True)
    stale = ckpt / f".model_0003.pt.tmp-{dead_pid}-abcd1234"
    mine = ckpt / f".model_0004.pt.tmp-{os.getpid()}-abcd1234"
    stale.write_bytes(b"x" * 1000)
    mine.write_bytes(b"y")
    manager = SimpleCheckpointManager(tmp_path / "run", "sweep")
    assert [i.epoch for i in manager.list_all_checkpoints()] == []  # readers ignore and keep them
    assert stale.exists()
    manager.save_agent(torch.nn.Linear(2, 2), 1, {})
    assert not stale.exists() and mine.exists()
    manager.close()


def test_async_saves_are_committed_at_interpreter_exit_without_close(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, torch
        from simple_ckpt import SimpleCheckpointManager
        manager = SimpleCheckpointManager(sys.argv[1], "exit", async_commit=True)
        for epoch in (1, 2, 3):
            manager.save_agent(torch.nn.Linear(300, 300), epoch, {"score": epoch})
        manager.save_trainer_state(None, 3, 30)
        # no wait(), no close(): the atexit hook flushes the background writer
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], env=_env(), timeout=120)
    assert proc.returncode == 0
    manager = SimpleCheckpointManager(tmp_path / "run", "check")
    infos = manager.list_all_checkpoints()
    assert [(i.epoch, i.committed) for i in infos] == [(1, True), (2, True), (3, True)]
    for info in infos:
        verify_checkpoint(info)
    state = manager.load_trainer_state()
    assert state is not None and state["epoch"] == 3


def test_async_failed_commit_is_raised_and_nothing_behind_it_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simple_ckpt.atomic as atomic

    manager = SimpleCheckpointManager(tmp_path / "run", "fail", async_commit=True)
    manager.save_agent(torch.nn.Linear(2, 2), 1, {"score": 1})
    manager.wait()
    real_replace = os.replace

    def failing(src: object, dst: object) -> None:
        if str(dst).endswith("model_0002.pt"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "replace", failing)
    manager.save_agent(torch.nn.Linear(2, 2), 2, {"score": 2})  # returns: the commit runs later
    manager.save_trainer_state(None, 2, 20)  # queued behind the failing model: must not commit
    with pytest.raises(CheckpointError, match="model_0002.pt: background commit failed.*No space left"):
        manager.wait()
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert [i.epoch for i in manager.list_all_checkpoints()] == [1]
    assert manager.load_trainer_state() is None
    assert not [n for n in os.listdir(tmp_path / "run" / "checkpoints") if is_temp_file(n)]
    manager.save_agent(torch.nn.Linear(2, 2), 3, {"score": 3})  # the queue works again afterwards
    manager.close()
    assert [i.epoch for i in SimpleCheckpointManager(tmp_path / "run").list_all_checkpoints()] == [1, 3]


def test_async_save_after_a_reported_failure_is_never_dropped_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure surfaces through the save-throttle while a later save is still queued behind it."""
    import time

    import simple_ckpt.manager as manager_module

    real_dump = manager_module.dump_yaml
    calls = {"n": 0}

    def slow_then_failing(document: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(0.3)
            raise OSError(5, "Input/output error")
        return real_dump(document)

    monkeypatch.setattr(manager_module, "dump_yaml", slow_then_failing)
    manager = SimpleCheckpointManager(tmp_path / "run", "fail", async_commit=True)
    manager.save_agent(torch.nn.Linear(2, 2), 1, {"score": 1})  # its commit fails, slowly
    manager.save_agent(torch.nn.Linear(2, 2), 2, {"score": 2})  # queued behind it: discarded
    reported, refused = [], set()
    for epoch in (3, 4, 5):
        try:
            manager.save_agent(torch.nn.Linear(2, 2), epoch, {"score": epoch})
        except CheckpointError as exc:  # the earlier failure surfaced here: this save did not happen
            reported.append(str(exc))
            refused.add(epoch)
    try:
        manager.wait()
    except CheckpointError as exc:
        reported.append(str(exc))
    committed = {i.epoch for i in manager.list_all_checkpoints()}
    manager.close()
    # Every save either committed or was reported; the first failure was reported.
    assert any("model_0001" in message for message in reported), reported
    for epoch in (1, 2, 3, 4, 5):
        known = epoch in refused or any(f"model_{epoch:04d}" in m for m in reported)
        assert epoch in committed or known, (epoch, reported)
    assert 5 in committed  # saved after the failure was reported: committed normally


def test_a_forked_child_does_not_inherit_the_writer_lease(tmp_path: Path) -> None:
    from simple_ckpt.lease import RunLease

    run = tmp_path / "run"
    lease = RunLease(run).acquire()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a second writer, which must fail fast naming the parent
        try:
            RunLease(run).acquire()
            verdict = b"acquired"
        except LeaseHeldError as exc:
            verdict = b"refused" if str(os.getppid()).encode() in str(exc).encode() else b"refused-unnamed"
        except BaseException:
            verdict = b"error"
        os.write(write_end, verdict)
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 64) == b"refused"
    lease.release()
    again = RunLease(run).acquire()  # the parent can take it again after releasing
    again.release()
