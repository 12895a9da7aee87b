"""How the codemod replaces a file: atomically, durably, and off the CPU-bound path.

``atomic_write_text`` writes a temp file in the same directory, fsyncs it, keeps the permission bits and
renames it over the original, refusing when the file changed since it was read. An interrupted run so
leaves every file either wholly rewritten or untouched.

``BackgroundWriter`` runs those writes on one thread of the worker process while the worker parses the
next file: a write is mostly an fsync, which waits on the disk and releases the GIL, so it costs the run
no CPU time. ``finish()`` waits for every write of a batch, records a failed one on its file's result, and
then fsyncs each directory that got a new file once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from simple_ckpt.atomic import fsync_dir as fsync_directory


class WriteOutcome(Protocol):
    """The part of a file's result a write reports to (``codemods.driver.FileResult``)."""

    path: str
    changed: bool
    error: str | None


def atomic_write_text(path: Path, text: str, original: bytes | None, *, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``text`` atomically, keeping its permission bits; refuse if it changed since
    it was read (``original``; None for a new file)."""
    if original is not None and path.read_bytes() != original:
        raise OSError(f"{path} changed while the codemod ran; not overwritten")
    mode = path.stat().st_mode & 0o7777 if original is not None else 0o644
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".codemod", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_dir:
        fsync_directory(directory)


def write_result(result: WriteOutcome, text: str, original: bytes) -> None:
    """Write one rewritten file; a failure is recorded on ``result`` (the file then counts as unchanged).
    The directory entry is made durable by ``sync_directories`` once per directory."""
    try:
        atomic_write_text(Path(result.path), text, original, sync_dir=False)
    except OSError as exc:
        result.error = f"cannot write: {exc.strerror or exc}"
        result.changed = False


def sync_directories(results: Iterable[WriteOutcome | None]) -> None:
    """fsync every directory holding a file that was replaced; a failure marks that directory's files."""
    changed = [r for r in results if r is not None and r.changed]
    for directory in sorted({Path(r.path).parent for r in changed}):
        try:
            fsync_directory(directory)
        except OSError as exc:  # the files are replaced; only their durability is in doubt
            for r in changed:
                if Path(r.path).parent == directory:
                    r.error = f"cannot sync directory {directory}: {exc.strerror or exc}"


class BackgroundWriter:
    """Writes rewritten files on one background thread; ``finish`` waits for them all."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codemod-write")
        self._pending: list[Future[None]] = []

    def submit(self, result: WriteOutcome, text: str, original: bytes) -> None:
        self._pending.append(self._pool.submit(write_result, result, text, original))

    def finish(self, results: Iterable[WriteOutcome | None]) -> None:
        """Wait for every submitted write, then make the directory entries durable. A write's own OSError
        is already recorded on its result; anything else is a bug and is raised once every write is done
        (the other files' directories are still synced)."""
        errors = self._wait_all()
        sync_directories(results)
        if errors:
            raise errors[0]

    def abandon(self) -> None:
        """Wait for the writes already submitted (each is atomic and complete), ignoring their errors: the
        caller is already failing with its own."""
        self._wait_all()

    def _wait_all(self) -> list[BaseException]:
        errors = []
        for future in self._pending:
            error = future.exception()
            if error is not None:
                errors.append(error)
        self._pending.clear()
        self._pool.shutdown(wait=True)
        return errors


Writer = Callable[[WriteOutcome, str, bytes], None]

__all__ = [
    "BackgroundWriter",
    "Writer",
    "atomic_write_text",
    "fsync_directory",
    "sync_directories",
    "write_result",
]
