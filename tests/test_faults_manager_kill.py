"""SIGKILL a training loop at every I/O step of save_agent / save_trainer_state, not just at renames.

Extends test_manager_crash.py (kills at the five commit renames, mid-write of one model, random times):
here a fault hook counts every write/fsync/replace/unlink the atomic writer makes over a 4-epoch loop and
the writer kills itself at step N, for N spread over the whole loop. After each kill, the invariants of
`test_manager_crash.check_invariants` must hold: load_agent returns the last complete checkpoint, a YAML
never describes a missing or different model, and the trainer state never points at a missing model.
"""

from __future__ import annotations

import random
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import stress_trials
from kill_points import PRELUDE, run_script
from test_manager_crash import check_invariants

WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    import simple_ckpt.atomic as atomic
    from simple_ckpt import SimpleCheckpointManager

    run_dir, kill_at = sys.argv[1], int(sys.argv[2])
    # <kill-points prelude>

    for name in ("replace", "fsync", "unlink", "rename", "link"):
        if hasattr(atomic.os, name):
            setattr(atomic.os, name, hooked(getattr(os, name)))
    real_write = atomic.HashingWriter.write
    def write(self, data):
        step()
        return real_write(self, data)
    atomic.HashingWriter.write = write

    manager = SimpleCheckpointManager(run_dir, "crash")
    net = torch.nn.Linear(300, 300)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(1, 5):
        with torch.no_grad():
            for p in net.parameters():
                p.fill_(float(epoch))
        manager.save_agent(net, epoch, {"score": float(epoch)})
        manager.save_trainer_state(opt, epoch, epoch * 10)
    print(steps[0], flush=True)
    """
)
WRITER = WRITER.replace("# <kill-points prelude>", PRELUDE)


def _run(run_dir: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    return run_script(WRITER, run_dir, kill_at, timeout=120)


@pytest.mark.stress
def test_kill_at_every_io_step_of_a_training_loop(tmp_path: Path) -> None:
    counted = _run(tmp_path / "count", 0)
    assert counted.returncode == 0, counted.stderr
    total = int(counted.stdout.strip())
    assert total >= 20, total  # enough distinct kill points to be worth sampling
    trials = stress_trials(ci_sample=3, full=50)
    rng = random.Random(7)
    points = sorted(rng.sample(range(1, total + 1), min(trials, total)))
    resumed = set()
    for kill_at in points:
        run_dir = tmp_path / f"kill{kill_at}"
        proc = _run(run_dir, kill_at)
        assert proc.returncode == -9, (kill_at, proc.returncode, proc.stderr[-500:])
        resumed.add(check_invariants(run_dir))
    if len(points) >= 20:
        assert len(resumed) >= 3, resumed  # the kills really were spread over several epochs
