"""`simple-ckpt codemod` killed with SIGKILL mid-tree: each file is wholly rewritten or untouched.

A generated tree (bench.legacy_tree.generate_tree, half its files with legacy call sites) is rewritten
once without interruption to get the expected output. Each trial copies the original tree, starts the
codemod in a subprocess, kills it -9 after a random delay spread over the measured uninterrupted run
time, then checks every .py file is byte-identical to its original or to the expected output (never a
mix or a truncation), that no temp file sits under a real module name, and that a rerun completes and
yields exactly the uninterrupted output.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import stress_trials

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # `bench` is a top-level folder, not an installed package
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.legacy_tree import generate_tree  # noqa: E402

CLI = PROJECT_ROOT / ".venv" / "bin" / "simple-ckpt"


def _command(tree: Path) -> list[str]:
    base = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "simple_ckpt"]
    return [*base, "codemod", str(tree)]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.stress
def test_codemod_killed_mid_tree_leaves_whole_files_and_a_rerun_completes(tmp_path: Path) -> None:
    original_tree = tmp_path / "original"
    generate_tree(original_tree, n_files=120, legacy_fraction=0.5, seed=5)
    original = _snapshot(original_tree)
    reference = tmp_path / "reference"
    shutil.copytree(original_tree, reference)
    start = time.perf_counter()
    first = subprocess.run(_command(reference), capture_output=True, text=True, timeout=300, check=False)
    duration = time.perf_counter() - start
    assert "Traceback" not in first.stderr
    expected = _snapshot(reference)
    changed = {rel for rel in original if expected.get(rel) != original[rel]}
    assert len(changed) >= 30  # the tree really is rewritten, so a kill can land between files

    rng = random.Random(20261125)
    trials = stress_trials(ci_sample=2, full=50)
    partial = 0
    for trial in range(trials):
        work = tmp_path / f"kill{trial}"
        shutil.copytree(original_tree, work)
        proc = subprocess.Popen(_command(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * rng.uniform(0.2, 0.95))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = _snapshot(work)
        stray = [rel for rel in state if rel not in original]
        assert all(Path(rel).name.startswith(".") for rel in stray), (trial, stray)  # temp names are hidden
        done = 0
        for rel, data in original.items():
            assert state[rel] in (data, expected[rel]), (
                f"trial {trial}: {rel} is neither original nor rewritten"
            )
            done += rel in changed and state[rel] == expected[rel]
        partial += 0 < done < len(changed)
        rerun = subprocess.run(_command(work), capture_output=True, text=True, timeout=300, check=False)
        assert "Traceback" not in rerun.stderr, rerun.stderr
        final = {rel: data for rel, data in _snapshot(work).items() if rel in original}
        assert final == expected, f"trial {trial}: the rerun did not reach the uninterrupted output"
    if trials >= 10:
        assert partial >= trials // 3, f"only {partial} of {trials} kills landed mid-tree"
