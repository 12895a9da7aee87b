"""`simple-ckpt check` speed against `ruff check --select F401` on the same generated tree, same run.

Target: check within 5x of Ruff's no-cache F401 run (Ruff's cached run does no work, so it is no baseline)
on a 5,000-file tree with 5% legacy files (``bench.legacy_tree``). Both are run as subprocesses, best of
several runs each, interleaved so background load hits both alike. Also held: check reports exactly the
legacy files of the tree (none of the look-alikes), using its JSON output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import Result
from bench.legacy_tree import generate_tree

TARGET_RATIO = 5.0


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def run(quick: bool) -> list[Result]:
    n_files = 1000 if quick else 5000
    repeats = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        tree = generate_tree(Path(tmp) / "tree", n_files=n_files, legacy_fraction=0.05, seed=0)
        ruff = [_tool("ruff"), "check", "--select", "F401", "--no-cache", "--quiet", str(tree.root)]
        check = [_tool("simple-ckpt"), "check", "--format", "json", str(tree.root)]
        ruff_times, check_times = [], []
        last_check: subprocess.CompletedProcess[str] | None = None
        for _ in range(repeats):
            elapsed, _done = _timed(ruff)
            ruff_times.append(elapsed)
            elapsed, last_check = _timed(check)
            check_times.append(elapsed)
        assert last_check is not None
        if last_check.returncode != 1:
            raise RuntimeError(f"check exited {last_check.returncode}: {last_check.stderr.strip()[:300]}")
        reported = {Path(f["path"]) for f in json.loads(last_check.stdout)["findings"]}
        legacy = set(tree.legacy_files)
        found = len(reported & legacy) / max(len(legacy), 1)
        false_positives = len(reported - legacy)
    ratio = min(check_times) / min(ruff_times)
    return [
        Result(
            name=f"check vs ruff F401 ({n_files} files)",
            value=ratio,
            unit="ratio",
            target=f"<= {TARGET_RATIO:.1f}",
            ok=ratio <= TARGET_RATIO,
            detail=f"check {min(check_times):.3f}s, ruff --no-cache {min(ruff_times):.3f}s (best of {repeats})",
        ),
        Result(
            name="check finds every legacy file, no look-alike",
            value=found,
            unit="ratio",
            target="== 1.0, 0 extra",
            ok=found == 1.0 and false_positives == 0,
            detail=f"{len(legacy)} legacy files, {false_positives} other files reported",
        ),
    ]
