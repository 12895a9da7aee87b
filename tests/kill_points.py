"""The kill-at-step prelude shared by the kill -9 fault scripts.

A script run in a subprocess starts with `PRELUDE` (after setting ``kill_at``): every call to a function
wrapped with ``hooked`` counts one I/O step, and the process SIGKILLs itself at step ``kill_at``. With
``kill_at`` larger than the step count, the script runs to the end and prints how many steps there were.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import os, signal

steps = [0]

def step():
    steps[0] += 1
    if steps[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

def hooked(real):
    def wrapper(*args, **kwargs):
        step()
        return real(*args, **kwargs)
    return wrapper
"""


def run_script(script: str, target: Path, kill_at: int, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a kill-point ``script`` (``sys.argv``: target dir, kill_at) with this project importable."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-c", script, str(target), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
