"""Disk full (ENOSPC) for real: the run dir or output sits on a small tmpfs mounted for the test.

Needs root and `mount -t tmpfs` (both true in CI here); skips saying why otherwise. Each test checks a
clear one-line error, nothing half written under a real name, and every original intact.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from legacy_world import LegacyWorld

from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.layout import is_temp_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI = PROJECT_ROOT / ".venv" / "bin" / "simple-ckpt"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """mount(size_bytes) -> a fresh directory on its own tmpfs of that size; unmounted afterwards."""
    mounts: list[Path] = []

    def mount(size: int) -> Path:
        target = tmp_path / f"disk{len(mounts)}"
        target.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode})")
        mounts.append(target)
        return target

    yield mount
    for target in reversed(mounts):
        subprocess.run(["umount", "-l", str(target)], check=False)


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_save_agent_on_a_full_disk_fails_cleanly_and_keeps_the_last_checkpoint(
    small_disk: Callable[[int], Path],
) -> None:
    disk = small_disk(1 << 20)
    run = disk / "run"
    small = torch.nn.Linear(8, 8)
    with SimpleCheckpointManager(run, "full") as manager:
        manager.save_agent(small, 1, {"score": 1.0})
        manager.save_trainer_state({"lr": 0.1}, 1, 10)
        before = _tree(run)
        with pytest.raises(OSError) as caught:  # 1.4 MB of weights on a 1 MB disk
            manager.save_agent(torch.nn.Linear(600, 600), 2, {"score": 2.0})
        assert caught.value.errno == 28 and "model_0002.pt" in str(caught.value), caught.value
        with pytest.raises(OSError):
            manager.save_trainer_state({"big": torch.zeros(400_000)}, 2, 20)
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert not [n for n in names if is_temp_file(n)], names  # no temp file left behind
    assert "model_0002.pt" not in names and "model_0002.yaml" not in names
    assert {k: v for k, v in _tree(run).items() if not k.startswith("checkpoints/.simple_ckpt")} == {
        k: v for k, v in before.items() if not k.startswith("checkpoints/.simple_ckpt")
    }
    reader = SimpleCheckpointManager(run)
    agent = reader.load_agent()
    assert torch.equal(agent.weight, small.weight)
    assert reader.load_trainer_state()["epoch"] == 1


def _migrate(*args: object) -> subprocess.CompletedProcess[str]:
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "simple_ckpt"]
    return subprocess.run(
        [*command, "migrate", "-q", *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


def test_migrate_out_to_a_full_disk_reports_each_file_and_writes_nothing_half(
    legacy_world: LegacyWorld, tmp_path: Path, small_disk: Callable[[int], Path]
) -> None:
    run = legacy_world.make_run_dir(legacy_world.root / "td", "run_f", generation="L6", epochs=(0, 10, 20))
    before = _tree(run)
    size = sum(p.stat().st_size for p in run.rglob("*") if p.is_file())
    disk = small_disk(size // 2)  # room for about one converted model
    report = tmp_path / "r.json"
    proc = _migrate("--out", disk / "out", "--report", report, run)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    files = json.loads(report.read_text())["files"]
    failed = [f for f in files if f["status"] == "failed"]
    assert failed and all("space" in f["reason"].lower() for f in failed), failed
    assert _tree(run) == before  # originals intact
    written = [p for p in (disk / "out").rglob("*") if p.is_file()]
    assert not [p for p in written if is_temp_file(p.name) or p.name.endswith(".tmp")], written
    reader = SimpleCheckpointManager(disk / "out" / "run_f")
    for info in reader.list_all_checkpoints():  # whatever was committed verifies
        if info.yaml_path is not None:
            from simple_ckpt.manager import verify_checkpoint

            verify_checkpoint(info)


def test_migrate_in_place_on_a_full_disk_keeps_every_original(
    legacy_world: LegacyWorld, small_disk: Callable[[int], Path]
) -> None:
    template = legacy_world.make_run_dir(legacy_world.root / "td", "run_i", generation="L6", epochs=(0, 10))
    size = sum(p.stat().st_size for p in template.rglob("*") if p.is_file())
    disk = small_disk(size + size // 3)
    run = disk / "run_i"
    shutil.copytree(template, run)
    originals = {hashlib.sha256(p.read_bytes()).hexdigest() for p in template.rglob("*") if p.is_file()}
    proc = _migrate("--in-place", run)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    present = {hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    assert originals <= present  # every original still exists byte for byte (in place or under legacy/)
    leftovers = [p for p in run.rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    assert not leftovers, leftovers


def test_disk_filling_up_at_every_stage_of_a_save(small_disk: Callable[[int], Path]) -> None:
    """Sweep the model size across the free space: the disk fills during the model, its fsync or the YAML."""
    import os
    import warnings

    disk = small_disk(256 << 10)
    run = disk / "run"
    first = torch.nn.Linear(16, 1)
    manager = SimpleCheckpointManager(run, "sweep")
    manager.save_agent(first, 1, {"score": 1.0})
    checkpoints = run / "checkpoints"
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    outcomes: dict[str, int] = {"committed": 0, "model_0002.pt": 0, "model_0002.yaml": 0}
    for extra in range(-24 << 10, 8 << 10, 1 << 10):
        floats = max(1, (free + extra) // 4)
        try:
            manager.save_agent(torch.nn.Linear(floats, 1, bias=False), 2, {"score": 2.0})
            outcomes["committed"] += 1
        except OSError as exc:
            assert exc.errno == 28 and "model_0002" in str(exc), exc
            outcomes[Path(exc.filename).name] += 1  # which write the disk filled up in
            assert not (checkpoints / "model_0002.yaml").exists()  # never a YAML for bytes not written
        names = os.listdir(checkpoints)
        assert not [n for n in names if is_temp_file(n)], names
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            agent = SimpleCheckpointManager(run).load_agent()
        committed = (checkpoints / "model_0002.yaml").exists()
        assert (agent.weight.shape == first.weight.shape) != committed  # the newest complete checkpoint
        for name in ("model_0002.pt", "model_0002.yaml"):
            (checkpoints / name).unlink(missing_ok=True)
    assert all(outcomes.values()), outcomes  # the sweep hit success, a full model write and a full YAML write
