"""`simple-ckpt migrate` throughput, peak memory and --jobs speed-up, each against a same-run baseline.

Inputs are L8 PolicyRecord files written by the test fixture factory (``tests/legacy_world``) with a wider
agent (its ``builders.HIDDEN`` raised, so each file is a few MB). The migration runs as a user's would:
the legacy classes do not import, so every file becomes a verified weights-only payload, fsynced.

* throughput: baseline = for each of the same files, ``torch.load(f, map_location="cpu",
  weights_only=False)`` (the stand-in legacy classes importable in this process, so the full legacy
  object graph is restored) + ``torch.save(obj, new_path)``, no fsync; ratio = baseline time / migrate
  time (target >= 0.8). The migration does strictly more: static pickle scan, sha256 of every source,
  the manager's blake3 of every output, YAML sidecars, a verifying reload, fsync + atomic renames.
* durable throughput (information, no target): the same baseline plus an ``os.fsync`` of every saved
  file, against the same migration (a migration must make its outputs durable; the baseline does not).
* CPU throughput (information, no target): the same ratio in CPU seconds (``os.times`` user + system of
  this process, every thread), which a machine loaded by other work distorts far less than wall time.
* peak memory: a subprocess imports everything, warms up on a tiny file, then migrates one large file;
  the growth of ``ru_maxrss`` over that warmed-up baseline must stay <= 2x the file size.
* --jobs 2 on the same 20 files: serial time / parallel time (target >= 1.5x on 2 cores); the worker
  start-up (forked on Linux, see ``migrate.runner.worker_context``) is part of the measured time.
* two independent processes (information, no target): two fresh interpreters, each migrating its own copy
  of the 20 files, released together; aggregate throughput against one alone. This is what two cores give
  this workload at best, whatever --jobs does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import Result

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def _world(root: Path, hidden: int) -> object:
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from legacy_world import LegacyWorld, builders

    builders.HIDDEN = hidden  # the factory reads it at build time: a wider LSTM core and heads
    return LegacyWorld(root)


def make_files(root: Path, count: int, hidden: int, run: str = "run") -> list[Path]:
    world = _world(root / "_factory", hidden)
    return [
        world.write_policy(
            root / run / "checkpoints" / f"model_{epoch:04d}.pt", generation="L8", epoch=epoch, run=run
        )  # type: ignore[attr-defined]
        for epoch in range(1, count + 1)
    ]


def baseline_load_save(files: list[Path], out: Path, fsync: bool = False) -> float:
    """Plain torch.load (legacy classes importable) + torch.save of every file; optionally fsynced."""
    import torch
    from legacy_world import builders

    out.mkdir(parents=True, exist_ok=True)
    with builders.legacy_importable():
        start = time.perf_counter()
        for i, f in enumerate(files):
            obj = torch.load(f, map_location="cpu", weights_only=False)
            with open(out / f"{i}.pt", "wb") as fh:
                torch.save(obj, fh)
                if fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            del obj
        elapsed = time.perf_counter() - start
    return elapsed


def _cpu_seconds() -> float:
    """CPU seconds of this process (every thread) and of its exited, waited-for children (workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def migrate_time(paths: list[Path], out: Path, jobs: int = 1, fsync: bool = True) -> float:
    from migrate.plan import Options
    from migrate.runner import run_migration

    start = time.perf_counter()
    report = run_migration(paths, Options(out=out, jobs=jobs, progress=False, fsync=fsync))
    elapsed = time.perf_counter() - start
    counts = report.counts()
    if (
        counts.get("converted", 0) != len([r for r in report.results if r.kind == "policy"])
        or report.exit_code()
    ):
        raise RuntimeError(f"migration did not convert everything: {counts}")
    return elapsed


_MEMORY_CHILD = r"""
import json, resource, sys
from pathlib import Path
from migrate.plan import Options
from migrate.runner import run_migration
import torch, yaml, simple_ckpt.manager, migrate.read  # everything a migration imports


def current_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def peak_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


warm, big, out = map(Path, sys.argv[1:4])
run_migration([warm], Options(out=out / "warm", progress=False))
import gc; gc.collect()
with open("/proc/self/clear_refs", "w") as f:  # reset the peak-RSS mark (VmHWM) to the current RSS
    f.write("5")
base = current_kb()
report = run_migration([big], Options(out=out / "big", progress=False))
print(json.dumps({"base_kb": base, "peak_kb": peak_kb(), "exit": report.exit_code()}))
"""


_CONCURRENT_CHILD = r"""
import sys, time
from pathlib import Path
from migrate.plan import Options
from migrate.runner import run_migration
import torch, yaml, simple_ckpt.manager, migrate.read  # everything a migration imports

source, out, go = map(Path, sys.argv[1:4])
run_migration([source], Options(out=out / "warm", progress=False))  # warmed up, as the in-process runs are
(out / "ready").touch()
while not go.exists():
    time.sleep(0.001)
start = time.perf_counter()
report = run_migration([source], Options(out=out / "timed", progress=False))
print(time.perf_counter() - start, report.exit_code())
"""


def independent_processes(run_dir: Path, work: Path, count: int) -> float:
    """Wall seconds of the slowest of ``count`` separate interpreters, each migrating its own copy of
    ``run_dir`` with --jobs 1, released together once all are warmed up."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    go = work / "go"
    children = []
    for i in range(count):
        source = work / f"in{i}" / run_dir.name
        shutil.copytree(run_dir, source)
        out = work / f"out{i}"
        out.mkdir(parents=True)
        command = [sys.executable, "-c", _CONCURRENT_CHILD, str(source), str(out), str(go)]
        children.append(
            (
                subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env),
                out,
            )
        )
    while not all((out / "ready").exists() for _, out in children):
        if any(child.poll() is not None for child, _ in children):
            break
        time.sleep(0.01)
    go.touch()
    times = []
    for child, _ in children:
        stdout, stderr = child.communicate()
        lines = stdout.strip().splitlines()
        if child.returncode != 0 or not lines or lines[-1].split()[1] != "0":
            raise RuntimeError(f"concurrent child failed: {stderr.strip()[-500:]}")
        times.append(float(lines[-1].split()[0]))
    shutil.rmtree(work)
    return max(times)


def peak_memory(warm: Path, big: Path, out: Path) -> tuple[float, float]:
    """(peak growth in MB, file size in MB) of migrating ``big`` in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(warm), str(big), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed: {done.stderr.strip()[-500:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if data["exit"] != 0:
        raise RuntimeError("memory child: migration failed")
    growth_mb = (data["peak_kb"] - data["base_kb"]) / 1024
    return growth_mb, big.stat().st_size / 2**20


def run(quick: bool) -> list[Result]:
    n_files = 6 if quick else 20
    hidden = 192 if quick else 320
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
        tmp_path = Path(tmp)
        files = make_files(tmp_path / "in", n_files, hidden)
        size_mb = sum(f.stat().st_size for f in files) / 2**20
        run_dir = tmp_path / "in" / "run"

        # Throughput: interleave baseline and migration (background load hits both alike), best of each.
        base_times, durable_times, mig_times, base_cpu, mig_cpu = [], [], [], [], []
        for i in range(2 if quick else 4):
            cpu = _cpu_seconds()
            base_times.append(baseline_load_save(files, tmp_path / f"base{i}"))
            base_cpu.append(_cpu_seconds() - cpu)
            shutil.rmtree(tmp_path / f"base{i}")
            cpu = _cpu_seconds()
            mig_times.append(migrate_time([run_dir], tmp_path / f"out{i}"))
            mig_cpu.append(_cpu_seconds() - cpu)
            shutil.rmtree(tmp_path / f"out{i}")
            durable_times.append(baseline_load_save(files, tmp_path / f"durable{i}", fsync=True))
            shutil.rmtree(tmp_path / f"durable{i}")
        no_fsync = migrate_time([run_dir], tmp_path / "nofsync", fsync=False)
        shutil.rmtree(tmp_path / "nofsync")
        base, durable, mig = min(base_times), min(durable_times), min(mig_times)
        ratio = base / mig
        results.append(
            Result(
                "migrate_throughput_vs_load_save",
                ratio,
                "ratio",
                ">= 0.80",
                ratio >= 0.8,
                f"{n_files} L8 files, {size_mb:.1f} MB; baseline torch.load(weights_only=False, legacy classes "
                f"importable)+torch.save, no fsync: {base:.2f}s; migrate {mig:.2f}s ({no_fsync:.2f}s --no-fsync)",
            )
        )
        results.append(
            Result(
                "migrate_throughput_vs_load_save_fsync",
                durable / mig,
                "ratio",
                "(info)",
                True,
                f"baseline + os.fsync of each saved file: {durable:.2f}s; migrate {mig:.2f}s",
            )
        )
        results.append(
            Result(
                "migrate_cpu_vs_load_save",
                min(base_cpu) / min(mig_cpu),
                "ratio",
                "(info)",
                True,
                f"CPU seconds, all threads: baseline {min(base_cpu):.2f}s, migrate {min(mig_cpu):.2f}s",
            )
        )

        # --jobs 2 speed-up on the same 20 files.
        serial_times, parallel_times, serial_cpu, parallel_cpu = [], [], [], []
        for _ in range(1 if quick else 3):  # interleaved, best of each: background load hits both alike
            cpu = _cpu_seconds()
            serial_times.append(migrate_time([run_dir], tmp_path / "serial", jobs=1))
            serial_cpu.append(_cpu_seconds() - cpu)
            shutil.rmtree(tmp_path / "serial")
            cpu = _cpu_seconds()
            parallel_times.append(migrate_time([run_dir], tmp_path / "parallel", jobs=2))
            parallel_cpu.append(_cpu_seconds() - cpu)
            shutil.rmtree(tmp_path / "parallel")
        # What two cores give this workload at best: two independent interpreters, each migrating its own
        # copy of the 20 files, against one alone (no fork, no shared parent: the machine's own ceiling).
        alone = min(
            independent_processes(run_dir, tmp_path / f"alone{i}", 1) for i in range(1 if quick else 2)
        )
        together = min(
            independent_processes(run_dir, tmp_path / f"pair{i}", 2) for i in range(1 if quick else 2)
        )
        shutil.rmtree(tmp_path / "in")
        serial, parallel = min(serial_times), min(parallel_times)
        speedup = serial / parallel
        results.append(
            Result(
                "migrate_jobs2_speedup",
                speedup,
                "x",
                ">= 1.5",
                speedup >= 1.5,
                f"{n_files} files, {size_mb:.0f} MB: --jobs 1 {serial:.2f}s, --jobs 2 {parallel:.2f}s "
                f"(CPU s incl. workers {min(serial_cpu):.2f} / {min(parallel_cpu):.2f}; "
                f"os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.1f})",
            )
        )
        results.append(
            Result(
                "migrate_two_independent_processes",
                2 * alone / together,
                "x",
                "(info)",
                True,
                f"the machine's ceiling for this work: two separate interpreters, {n_files} files each, "
                f"{together:.2f}s together vs {alone:.2f}s for one alone (aggregate throughput ratio)",
            )
        )

        # Peak memory of one large file.
        warm = make_files(tmp_path / "warm", 1, 16, run="warm")[0]
        big = make_files(tmp_path / "big", 1, 512 if quick else 1024, run="big")[0]
        growth, big_mb = peak_memory(warm, big, tmp_path / "mem")
        factor = growth / big_mb
        results.append(
            Result(
                "migrate_peak_memory_vs_file_size",
                factor,
                "x",
                "<= 2.0",
                factor <= 2.0,
                f"file {big_mb:.1f} MB, peak RSS growth {growth:.1f} MB",
            )
        )
    return results
