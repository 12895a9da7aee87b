"""The whole path a team runs, timed end to end against the plain baselines of the earlier benchmarks.

Input: a legacy ``train_dir`` of 200 checkpoints (8 runs x 25 epochs, generations L0, L2, L3, L4, L6, L7,
L9 and N, ~3 MB agents, a trainer state per run) written by the test fixture factory
(``tests/legacy_world``, agents widened as in bench_migrate), and the 5,000-file synthetic source tree of
``bench/legacy_tree.py``. (L5 torch.package archives are left out: the baseline, ``torch.load``, cannot
open them.) ``--quick``: 24 checkpoints and 1,000 files.

* migrate: ``run_migration(train_dir, --out)`` in this process (every file verified, fsynced; the time
  without fsync is shown beside it, since the baseline does not fsync); baseline =
  `bench.bench_migrate.baseline_load_save` on the same policy files (``torch.load(weights_only=False)``
  with the legacy classes importable + ``torch.save``). Ratio = baseline / migrate (target >= 0.8, as in
  bench_migrate).
* codemod: ``simple-ckpt codemod --jobs 2`` as a subprocess; baseline = ``python -m libcst.tool codemod``
  with a one-name rename, extrapolated from a random subset and a one-file start-up exactly as
  bench_codemod does (its `_stock` / `_timed`). Ratio = stock estimate / ours (target >= 50x, as there).
* the whole path: (both baselines) / (migrate + codemod), and the wall time of each.

``python -m bench.bench_journey --profile [--quick]`` runs the migration under cProfile and prints the
functions with the largest own time, to find the biggest cost left.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import Result
from bench.bench_codemod import JOBS, _stock, _timed
from bench.bench_migrate import TESTS, baseline_load_save
from bench.legacy_tree import generate_tree

PROJECT = Path(__file__).resolve().parent.parent
GENERATIONS = ("L0", "L2", "L3", "L4", "L6", "L7", "L9", "N")
HIDDEN = 216  # ~3.2 MB MettaAgent files (puffer agents of L0-L2 are about half that)


def make_train_dir(root: Path, epochs_per_run: int, hidden: int = HIDDEN) -> list[Path]:
    """A legacy train_dir with one run per generation; returns the policy files written."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from legacy_world import LegacyWorld, builders

    builders.HIDDEN = hidden
    world = LegacyWorld(root / "_factory")
    epochs = tuple(range(0, 10 * epochs_per_run, 10))
    for generation in GENERATIONS:
        world.make_run_dir(
            root / "train_dir", f"run_{generation.lower()}", generation=generation, epochs=epochs
        )
    shutil.rmtree(root / "_factory", ignore_errors=True)
    return sorted(p for p in (root / "train_dir").rglob("*.pt") if p.name != "trainer_state.pt")


def migrate_train_dir(train_dir: Path, out: Path, fsync: bool = True) -> float:
    from migrate.plan import Options
    from migrate.runner import run_migration

    start = time.perf_counter()
    report = run_migration([train_dir], Options(out=out, progress=False, fsync=fsync))
    elapsed = time.perf_counter() - start
    if report.exit_code():
        failed = [r for r in report.results if r.status == "failed"]
        raise RuntimeError(
            f"migration failed for {len(failed)} file(s), e.g. {failed[0].reason if failed else '?'}"
        )
    return elapsed


def stock_codemod_estimate(tree: Path, files: list[Path], subset_size: int, work: Path) -> tuple[float, str]:
    """bench_codemod's baseline: libcst.tool on a random subset + start-up, extrapolated to all files."""
    subset = work / "subset"
    for path in random.Random(0).sample(files, subset_size):
        dst = subset / path.relative_to(tree)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dst)
    one = work / "one"
    one.mkdir()
    (one / "m.py").write_text("X = 1\n")
    startup = _stock(one, PROJECT)
    measured = _stock(subset, PROJECT)
    estimate = startup + max(measured - startup, 0.0) / subset_size * len(files)
    return estimate, f"libcst.tool {subset_size} files {measured:.1f}s + start-up {startup:.1f}s"


def run(quick: bool) -> list[Result]:
    epochs_per_run = 3 if quick else 25
    n_files = 1000 if quick else 5000
    with tempfile.TemporaryDirectory(prefix="bench-journey-") as tmp:
        base = Path(tmp)
        policies = make_train_dir(base, epochs_per_run)
        size_mb = sum(p.stat().st_size for p in policies) / 2**20

        baseline_times, migrate_times = [], []
        for i in range(1 if quick else 2):  # interleaved, best of each
            baseline_times.append(baseline_load_save(policies, base / f"baseline{i}"))
            shutil.rmtree(base / f"baseline{i}")
            migrate_times.append(migrate_train_dir(base / "train_dir", base / f"new{i}"))
            shutil.rmtree(base / f"new{i}")
        baseline, migrate = min(baseline_times), min(migrate_times)
        no_fsync = migrate_train_dir(base / "train_dir", base / "new_nofsync", fsync=False)
        shutil.rmtree(base / "new_nofsync")

        info = generate_tree(base / "tree", n_files=n_files, legacy_fraction=0.05, seed=0)
        files = sorted(Path(f) if Path(f).is_absolute() else base / "tree" / f for f in info.files)
        stock, stock_detail = stock_codemod_estimate(base / "tree", files, 100 if quick else 400, base)
        ours = _timed(
            [sys.executable, "-m", "simple_ckpt", "codemod", "--jobs", str(JOBS), str(base / "tree")], PROJECT
        )

    migrate_ratio = baseline / migrate
    codemod_ratio = stock / ours
    whole = (baseline + stock) / (migrate + ours)
    return [
        Result(
            "journey_migrate_vs_load_save",
            migrate_ratio,
            "ratio",
            ">= 0.80",
            migrate_ratio >= 0.8,
            f"{len(policies)} checkpoints ({'/'.join(GENERATIONS)}), {size_mb:.0f} MB: load+save {baseline:.1f}s, "
            f"migrate {migrate:.1f}s ({no_fsync:.1f}s without fsync)",
        ),
        Result(
            "journey_codemod_vs_libcst_tool",
            codemod_ratio,
            "x",
            ">= 50",
            codemod_ratio >= 50,
            f"{len(files)} files: {stock_detail}, extrapolated {stock:.1f}s; simple-ckpt codemod {ours:.1f}s; "
            f"jobs={JOBS}",
        ),
        Result(
            "journey_whole_path_vs_baselines",
            whole,
            "x",
            ">= 1.0",
            whole >= 1.0,
            f"migrate + codemod {migrate + ours:.1f}s wall vs baselines {baseline + stock:.1f}s",
        ),
    ]


def profile(quick: bool) -> str:
    """cProfile of one migration of the benchmark's train_dir: the top functions by own time."""
    with tempfile.TemporaryDirectory(prefix="bench-journey-profile-") as tmp:
        base = Path(tmp)
        make_train_dir(base, 3 if quick else 25)
        profiler = cProfile.Profile()
        profiler.enable()
        elapsed = migrate_train_dir(base / "train_dir", base / "new")
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(25)
    return f"migration: {elapsed:.1f}s\n{out.getvalue()}"


if __name__ == "__main__":
    if "--profile" in sys.argv:
        print(profile("--quick" in sys.argv))
    else:
        for result in run("--quick" in sys.argv):
            print(result)
