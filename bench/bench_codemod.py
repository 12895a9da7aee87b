"""`simple-ckpt codemod` vs the stock `python -m libcst.tool codemod` with a one-name rename codemod.

Both run on copies of the same synthetic tree (bench/legacy_tree.py: 5,000 files, 5% legacy; --quick:
1,000 files) as subprocesses with the same number of worker processes. The stock tool parses every file,
so on the full tree it would take minutes: it is timed on a fixed random subset and on a one-file tree
(its start-up cost), and its full-tree time is extrapolated as start-up + per-file cost x files. The
codemod is timed on the whole tree. Each measurement is the best of ROUNDS interleaved runs. Target: the
codemod is at least 50x faster.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import Result
from bench.legacy_tree import generate_tree

PROJECT = Path(__file__).resolve().parent.parent
JOBS = 2
TARGET = 50.0
ROUNDS = 2


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], cwd: Path, cpu: list[float] | None = None) -> float:
    """Wall-clock seconds of ``cmd``; its CPU seconds (children included) are appended to ``cpu``."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    cpu_start = _cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_cpu() - cpu_start)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed


def _stock(tree: Path, cwd: Path, cpu: list[float] | None = None) -> float:
    cmd = [
        sys.executable,
        "-m",
        "libcst.tool",
        "codemod",
        "-x",
        "bench.rename_codemod.RenameLegacyName",
        "--no-format",
        "--jobs",
        str(JOBS),
        str(tree),
    ]
    return _timed(cmd, cwd, cpu)


def run(quick: bool) -> list[Result]:
    n_files = 1000 if quick else 5000
    subset_size = 100 if quick else 400
    with tempfile.TemporaryDirectory(prefix="bench_codemod_") as tmp:
        base = Path(tmp)
        info = generate_tree(base / "tree", n_files=n_files, legacy_fraction=0.05, seed=0)
        files = sorted(info.files)

        rng = random.Random(0)
        subset = base / "subset"
        for path in rng.sample(files, subset_size):
            rel = path.relative_to(base / "tree") if path.is_absolute() else path
            dst = subset / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(base / "tree" / rel, dst)
        one = base / "one"
        one.mkdir()
        (one / "m.py").write_text("X = 1\n")

        # Each side is timed ROUNDS times, interleaved, and its best run kept (as timeit does): other load
        # on the machine only ever adds time.
        startups, subsets, startup_cpu, subset_cpu, ours_runs, ours_cpu = [], [], [], [], [], []
        for round_ in range(ROUNDS):
            startups.append(_stock(one, PROJECT, startup_cpu))
            subsets.append(_stock(subset, PROJECT, subset_cpu))
            tree = base / f"ours{round_}"
            shutil.copytree(base / "tree", tree)
            ours_runs.append(
                _timed(
                    [sys.executable, "-m", "simple_ckpt", "codemod", "--jobs", str(JOBS), str(tree)],
                    PROJECT,
                    ours_cpu,
                )
            )
        startup, stock_subset, ours = min(startups), min(subsets), min(ours_runs)
        per_file = max(stock_subset - startup, 0.0) / subset_size
        stock_estimate = startup + per_file * len(files)
        cpu_startup = min(startup_cpu)
        cpu_estimate = cpu_startup + max(min(subset_cpu) - cpu_startup, 0.0) / subset_size * len(files)
    ratio = stock_estimate / ours
    cpu_ratio = cpu_estimate / min(ours_cpu)
    detail = (
        f"{len(files)} files; libcst.tool measured on {subset_size} random files ({stock_subset:.1f}s) + start-up "
        f"({startup:.1f}s), extrapolated to {stock_estimate:.1f}s; simple-ckpt codemod on all: {ours:.2f}s; "
        f"jobs={JOBS}; best of {ROUNDS} runs each; CPU time: {cpu_estimate:.1f}s vs {min(ours_cpu):.2f}s ({cpu_ratio:.0f}x)"
    )
    return [
        Result("codemod_vs_libcst_tool", ratio, "x", f">= {TARGET:.0f}", ratio >= TARGET, detail),
        Result(
            "codemod_vs_libcst_tool_cpu",
            cpu_ratio,
            "x",
            f">= {TARGET:.0f}",
            cpu_ratio >= TARGET,
            "the same runs compared by CPU seconds (less sensitive to other load on the machine)",
        ),
    ]
