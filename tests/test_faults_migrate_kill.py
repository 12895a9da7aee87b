"""SIGKILL `simple-ckpt migrate --in-place` at chosen I/O steps (file boundaries and mid-write).

Extends test_migrate_command.py's timing-based kill loop with a deterministic fault hook: the migrate
process counts every write of a staged file and every replace/link/unlink/fsync, and kills itself at
step N, N sampled over the whole run (measured by a counting run). After each kill, a rerun must exit 0
and leave exactly the uninterrupted result (same files, tensors and YAML apart from timestamps; every
original byte-identical under legacy/; no temp file left under a real name).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import stress_trials
from kill_points import PRELUDE, run_script
from test_migrate_command import _normalised, migrate, two_run_train_dir

from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.manager import verify_checkpoint

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import simple_ckpt.atomic as atomic
    import migrate.runner as runner
    import migrate.inplace as inplace
    from simple_ckpt.cli import main

    work, kill_at = sys.argv[1], int(sys.argv[2])
    # <kill-points prelude>

    class HookedOs:
        def __init__(self, real):
            self._real = real
        def __getattr__(self, name):
            value = getattr(self._real, name)
            if name in ("replace", "link", "unlink", "fsync", "rename"):
                return hooked(value)
            return value

    for module in (atomic, runner, inplace):
        module.os = HookedOs(os)
    real_write = atomic.HashingWriter.write
    def write(self, data):
        step()
        return real_write(self, data)
    atomic.HashingWriter.write = write
    try:
        main(["migrate", "-q", "--in-place", work], standalone_mode=False)
    finally:
        print("STEPS", steps[0], flush=True)
    """
)
KILLER = KILLER.replace("# <kill-points prelude>", PRELUDE)


def _run(work: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    return run_script(KILLER, work, kill_at, timeout=300)


@pytest.mark.stress
def test_migrate_killed_at_sampled_io_steps_then_rerun_equals_uninterrupted(
    legacy_world: Any, tmp_path: Path
) -> None:
    template = two_run_train_dir(legacy_world)
    reference = tmp_path / "reference"
    shutil.copytree(template, reference)
    counted = _run(reference, 0)
    assert counted.returncode == 0, counted.stderr[-2000:]
    total = int(counted.stdout.rsplit("STEPS", 1)[1].split()[0])
    assert total >= 15, total
    expected = _normalised(reference)
    originals = _shas(template)
    rng = random.Random(99)
    trials = stress_trials(ci_sample=2, full=50)
    points = sorted(rng.sample(range(1, total + 1), min(trials, total)))
    for kill_at in points:
        work = tmp_path / f"kill{kill_at}"
        shutil.copytree(template, work)
        proc = _run(work, kill_at)
        assert proc.returncode == -9, (kill_at, proc.returncode, proc.stderr[-1000:])
        _assert_crash_state(work, originals, kill_at)
        rerun = migrate(work, "--in-place")
        assert rerun.exit_code == 0, (kill_at, rerun.output)
        assert _normalised(work) == expected, f"kill at step {kill_at} of {total}"


def _shas(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def _assert_crash_state(work: Path, originals: dict[str, str], kill_at: int) -> None:
    """Right after the kill: every original exists byte for byte (in place or under <run>/legacy/), and
    every checkpoint with a YAML verifies against it (no half-written file under a committed name)."""
    present = set(_shas(work).values())
    missing = [rel for rel, sha in originals.items() if sha not in present]
    assert not missing, f"kill at step {kill_at}: originals lost: {missing}"
    for run in (p for p in work.iterdir() if p.is_dir()):
        for info in SimpleCheckpointManager(run).list_all_checkpoints():
            if info.yaml_path is not None:
                verify_checkpoint(info)
