"""Run every benchmark (or those named) and print one table of results against their targets."""

from __future__ import annotations

import argparse
import compileall
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench import Result


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def compile_project() -> None:
    """Byte-compile the project's packages, as a regular (non-editable) pip install does, so that commands
    timed in fresh interpreters start as they do for users. Without it, an editable install run under
    PYTHONDONTWRITEBYTECODE recompiles every module of the command at each start (~0.1 s for codemod)."""
    root = Path(__file__).resolve().parent.parent
    for package in ("simple_ckpt", "migrate", "codemods", "bench"):
        compileall.compile_dir(str(root / package), quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    names = args.names or discover()
    compile_project()
    results: list[tuple[str, Result]] = []
    failed_modules: list[str] = []
    for name in names:
        module_name = name if name.startswith("bench_") else f"bench_{name}"
        print(f"== {module_name}", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{module_name}")
            for result in module.run(args.quick):
                results.append((module_name, result))
                print(
                    f"   {result.name}: {result.value:.3f} {result.unit} (target {result.target})", flush=True
                )
        except Exception as exc:  # a broken benchmark must not hide the others
            failed_modules.append(f"{module_name}: {type(exc).__name__}: {exc}")
        print(f"   ({time.perf_counter() - start:.1f}s)", flush=True)
    print()
    width = max([len(r.name) for _, r in results] + [10])
    print(f"{'benchmark':<{width}}  {'value':>10}  {'unit':<6}  {'target':<12}  ok")
    for _, r in results:
        print(
            f"{r.name:<{width}}  {r.value:>10.3f}  {r.unit:<6}  {r.target:<12}  {'yes' if r.ok else 'NO'}  {r.detail}"
        )
    for failure in failed_modules:
        print(f"FAILED {failure}")
    return 0 if not failed_modules and all(r.ok for _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
