"""Regenerate tests/golden/ from tests/legacy_codebase/ by running the codemod on a copy.

Usage: .venv/bin/python tests/regen_codemod_golden.py   (then review `git diff tests/golden` line by line:
the golden files are the specification of the codemod's output, not a snapshot to accept blindly).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "legacy_codebase"
GOLDEN = HERE / "golden"


def main() -> int:
    sys.path.insert(0, str(HERE.parent))
    from codemods.driver import Options, run

    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    shutil.copytree(SOURCE, GOLDEN, ignore=shutil.ignore_patterns("__pycache__"))
    outcome = run([str(GOLDEN)], Options())
    for result in outcome.failed:
        print(f"FAILED {result.path}: {result.error}", file=sys.stderr)
    changed = sum(1 for r in outcome.results if r.changed)
    print(f"regenerated {GOLDEN} ({changed} files changed by the codemod)")
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
