"""Finish verified conversions (fsync, commit, retire) on one helper thread while the next file is read.

A migration's last step for a file is I/O bound: fsync the staged model and YAML (tens of ms for a few
MB, the disk's pace), rename them into place, fsync the directory. Nothing in it needs the CPU, and
nothing the next file does depends on it, except a file aimed at the *same* output name (the runner
waits for that one first, `wait_for`). So the runner hands each verified file's finishing step to this
committer and moves on; at most `MAX_PENDING` files are in flight, so unsynced data never piles up.

The finishing step itself is the runner's (same order of operations, same crash invariants); this module
only runs it and records the outcome: a step that raises turns its `FileResult` into ``failed`` with
the reason. `pending` says whether a result is final yet.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from migrate.report import FAILED, FileResult

MAX_PENDING = 2


class Committer:
    """One background thread finishing files in submission order."""

    def __init__(self, describe_error: Callable[[BaseException], str]) -> None:
        self._describe = describe_error
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[FileResult, frozenset[Path], Future[None]]] = []

    def submit(self, result: FileResult, outputs: list[Path], finish: Callable[[], None]) -> None:
        """Run ``finish`` in the background; ``result`` is final once it has run (see `pending`)."""
        while len(self._pending) >= MAX_PENDING:
            self._settle_oldest()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate-commit")
        self._pending.append((result, frozenset(outputs), self._pool.submit(finish)))

    def pending(self, result: FileResult) -> bool:
        """True while ``result``'s finishing step may still change it."""
        while self._pending and self._pending[0][2].done():
            self._settle_oldest()
        return any(r is result for r, _, _ in self._pending)

    def wait_for(self, path: Path) -> None:
        """Wait until no file in flight writes ``path`` (finishing every file submitted before it too)."""
        last = max((i for i, (_, outs, _) in enumerate(self._pending) if path in outs), default=-1)
        for _ in range(last + 1):
            self._settle_oldest()

    def wait_all(self) -> None:
        while self._pending:
            self._settle_oldest()

    def close(self) -> None:
        self.wait_all()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _settle_oldest(self) -> None:
        result, _outputs, future = self._pending.pop(0)
        try:
            future.result()
        except Exception as exc:  # the file failed at its last step (see the runner for what is left)
            if os.environ.get("SIMPLE_CKPT_DEBUG"):
                traceback.print_exception(exc)
            result.status, result.reason, result.outputs = FAILED, self._describe(exc), []
