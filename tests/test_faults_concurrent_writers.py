"""Two writers on one run dir, with real processes: nothing corrupted or lost; the loser is told why.

Extends test_manager_crash.py (two managers race) and test_migrate_command.py (in-place against a
process that merely holds the lease): here a *training loop that keeps saving* meets
`simple-ckpt migrate --in-place` in both orders, and two `simple-ckpt migrate --out` runs write the same
output run dirs at the same time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.lease import lease_path
from simple_ckpt.manager import verify_checkpoint

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI = PROJECT_ROOT / ".venv" / "bin" / "simple-ckpt"

# Prints "ready" once torch is imported, waits for a "go" line, then saves epochs 100.. until stdin is
# closed; prints "saved N" after each, or "lease: ..." if it could not get the lease, then exits 3.
TRAINER = textwrap.dedent(
    """
    import sys, torch
    from simple_ckpt import SimpleCheckpointManager
    from simple_ckpt.errors import LeaseHeldError
    manager = SimpleCheckpointManager(sys.argv[1], "trainer")
    net = torch.nn.Linear(64, 64)
    epoch = 100
    import select
    print("ready", flush=True)
    sys.stdin.readline()
    while True:
        try:
            manager.save_agent(net, epoch, {"score": float(epoch)})
            manager.save_trainer_state({"lr": 0.1}, epoch, epoch * 10)
        except LeaseHeldError as exc:
            print("lease:", exc, flush=True)
            sys.exit(3)
        print("saved", epoch, flush=True)
        epoch += 1
        if select.select([sys.stdin], [], [], 0.02)[0] and not sys.stdin.readline():
            break
    manager.close()
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _cli(*args: object) -> list[str]:
    base = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "simple_ckpt"]
    return [*base, *map(str, args)]


def _shas(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _all_committed_verify(run: Path) -> list[int]:
    infos = SimpleCheckpointManager(run).list_all_checkpoints()
    for info in infos:
        if info.yaml_path is not None:
            verify_checkpoint(info)
    return [info.epoch for info in infos if info.yaml_path is not None]


def _start_trainer(run: Path) -> subprocess.Popen[str]:
    """The TRAINER script on ``run``, driven through its stdin/stdout."""
    return subprocess.Popen(
        [sys.executable, "-c", TRAINER, str(run)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def test_migrate_in_place_on_a_run_a_trainer_is_writing(legacy_world: Any, tmp_path: Path) -> None:
    run = legacy_world.make_run_dir(legacy_world.root / "td", "live", generation="L8", epochs=(0, 10))
    legacy = sorted(p for p in run.rglob("*.pt"))
    originals = _shas(legacy)
    trainer = _start_trainer(run)
    try:
        assert trainer.stdout is not None and trainer.stdin is not None
        assert trainer.stdout.readline().strip() == "ready"
        trainer.stdin.write("go\n")
        trainer.stdin.flush()
        first = trainer.stdout.readline()
        assert first.startswith("saved") or first.startswith("lease"), first + trainer.stderr.read()
        proc = subprocess.run(
            _cli("migrate", "-q", "--in-place", run), capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        assert trainer.stdin is not None
        trainer.stdin.close()
        trainer.wait(timeout=120)
    assert first.startswith("saved")  # the trainer held the lease first
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "another process is writing checkpoints" in proc.stdout + proc.stderr
    assert trainer.returncode == 0
    assert _shas(legacy) == originals  # migrate touched none of the legacy files
    epochs = _all_committed_verify(run)  # and none of the trainer's
    assert epochs and min(epochs) >= 100


def test_trainer_starting_during_migrate_in_place_gets_a_clear_error(
    legacy_world: Any, tmp_path: Path
) -> None:
    run = legacy_world.make_run_dir(
        legacy_world.root / "td", "busy", generation="L8", epochs=(0, 10, 20, 30, 40, 50)
    )
    originals = _shas(sorted(run.rglob("*.pt")))
    trainer = _start_trainer(run)
    assert trainer.stdout is not None and trainer.stdin is not None
    assert trainer.stdout.readline().strip() == "ready"  # armed: torch imported, about to save
    migrating = subprocess.Popen(
        _cli("migrate", "-q", "--in-place", run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and migrating.poll() is None and not lease_path(run).exists():
        time.sleep(0.002)
    trainer.stdin.write("go\n")
    trainer.stdin.flush()
    trainer.stdin.close()
    assert trainer.stderr is not None
    trainer_out, trainer_err = trainer.stdout.read(), trainer.stderr.read()
    trainer.wait(timeout=120)
    out, err = migrating.communicate(timeout=300)
    assert "Traceback" not in err + trainer_err, err + trainer_err
    # migrate took the lease first (its lease file appeared) and converts for seconds: the trainer loses,
    # told who holds the lease, and migrate finishes undisturbed
    assert trainer.returncode == 3, (trainer_out, trainer_err)
    assert "lease:" in trainer_out and "another process is writing checkpoints" in trainer_out, trainer_out
    assert "pid" in trainer_out and migrating.returncode == 0, (trainer_out, out, err)
    archived = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (run / "legacy").rglob("*.pt")}
    assert set(originals.items()) <= set(archived.items())  # every original kept byte for byte
    epochs = _all_committed_verify(run)
    assert {0, 10, 20, 30, 40, 50} <= set(epochs)


def test_two_migrate_runs_into_the_same_output_at_once(legacy_world: Any, tmp_path: Path) -> None:
    root = legacy_world.make_train_dir(legacy_world.root / "td", artifacts=False)
    out = tmp_path / "out"
    procs = [
        subprocess.Popen(
            _cli("migrate", "-q", "--out", out, "--report", tmp_path / f"r{i}.json", root),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (stdout, stderr) in zip(procs, results, strict=True):
        assert "Traceback" not in stderr, stderr
        assert proc.returncode in (0, 1), (stdout, stderr)
    failures = [
        f
        for i in range(2)
        for f in json.loads((tmp_path / f"r{i}.json").read_text())["files"]
        if f["status"] == "failed"
    ]
    for failure in failures:  # a loser names the file and why (the lease or a file that appeared)
        assert failure["reason"] and "\n" not in failure["reason"], failure
    rerun = subprocess.run(
        _cli("migrate", "-q", "--out", out, root), capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    for run in sorted(p for p in out.iterdir() if p.is_dir()):
        epochs = _all_committed_verify(run)
        assert epochs == [0, 10], (run.name, epochs)
        leftovers = [p.name for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")]
        assert not leftovers, leftovers
