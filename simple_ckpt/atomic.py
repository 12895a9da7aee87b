"""Crash-safe file writes: every file simple_ckpt writes goes through here.

A write goes to a temporary name in the destination's directory (``.<name>.tmp-<pid>-<random>``, which
every listing ignores, see `simple_ckpt.layout.is_temp_file`), is flushed and fsynced, renamed over the
real name with ``os.replace`` and the directory is fsynced. A crash at any point therefore leaves either
the previous file or the complete new one under the real name, never a half-written file.

The content hash recorded in a checkpoint's YAML is computed *while* the bytes are written (the writer
callback receives a file object that hashes what passes through it), so saving never reads the file back.
Large buffers are hashed on a helper thread while the main thread writes them to the OS (hashlib and file
writes both release the GIL), so hashing costs little wall time on top of the write itself.

Large files also start flushing to disk while they are being written (`_EarlyWriteback`), so the final
fsync has little left to do. `stage_write` + `StagedWrite.commit` split a write in two so that the
manager can overlap the model's fsync with writing its YAML, yet rename them strictly in order.

All local file I/O of the manager lives in this module and `simple_ckpt.layout`; a remote backend
(fsspec) would replace these few functions.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import queue
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# The integrity hash of new checkpoints. BLAKE3 is cryptographic and runs at ~8 GB/s on one core (sha256:
# 1.5-2 GB/s, as slow as torch.save's own write), so hashing on the fly costs a save almost nothing.
# Without the `blake3` package (a declared dependency) new files fall back to sha256. Every sidecar names
# its algorithm, so files verify whichever wrote them.
HASHLIB_HASHES = ("sha256", "blake2b", "sha512", "sha1")
SUPPORTED_HASHES = ("blake3", *HASHLIB_HASHES)

try:
    import blake3 as _blake3
except ImportError:  # pragma: no cover - blake3 is a dependency; keep working without it
    _blake3 = None

DEFAULT_HASH = "blake3" if _blake3 is not None else "sha256"

# Buffers at least this large are hashed on the helper thread, overlapping with the write; smaller ones are
# hashed inline (BLAKE3 does 4 MiB in ~0.5 ms, less than waking a thread costs under GIL contention).
_THREADED_HASH_MIN_BYTES = 4 << 20


@dataclass(frozen=True)
class WriteResult:
    """What was written: the byte count and, when asked for, the hex digest of exactly those bytes."""

    path: Path
    size: int
    digest: str | None
    hash_name: str | None


def temp_path_for(path: Path) -> Path:
    """A unique temporary name beside ``path``: ``.<name>.tmp-<pid>-<random>``."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def new_hasher(hash_name: str) -> Any:
    """A hasher (``update``/``hexdigest``) for one of `SUPPORTED_HASHES`; a clear ValueError otherwise."""
    if hash_name == "blake3":
        if _blake3 is None:
            raise ValueError("hash algorithm 'blake3' needs the blake3 package (pip install blake3)")
        return _blake3.blake3()
    if hash_name not in HASHLIB_HASHES:
        raise ValueError(
            f"unsupported hash algorithm {hash_name!r} (supported: {', '.join(SUPPORTED_HASHES)})"
        )
    return hashlib.new(hash_name)


class HashingWriter:
    """A write-only binary file object that counts and hashes every byte on its way to ``raw``.

    ``torch.save`` accepts it like any file object. Large buffers are hashed on a helper thread while the
    main thread writes them; the call returns only when both are done, so the caller may reuse its buffer.
    """

    def __init__(self, raw: BinaryIO, hash_name: str | None, executor: IdleExitWorker | None) -> None:
        self._raw = raw
        self._hasher = new_hasher(hash_name) if hash_name else None
        self._executor = executor
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        if view.ndim != 1 or view.format not in ("B", "b", "c"):
            view = view.cast("B")
        length = view.nbytes
        if self._hasher is None:
            self._write_all(view)
        elif self._executor is not None and length >= _THREADED_HASH_MIN_BYTES:
            pending: Future[None] = self._executor.submit(self._hasher.update, view)
            try:
                self._write_all(view)
            finally:
                pending.result()
        else:
            self._hasher.update(view)
            self._write_all(view)
        self.size += length
        return length

    def _write_all(self, view: memoryview) -> None:
        written = 0
        while written < view.nbytes:
            n = self._raw.write(view[written:])
            if n is None:  # a raw stream that would block: not expected for regular files
                raise OSError("short write")
            written += n

    def flush(self) -> None:
        self._raw.flush()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.size

    @property
    def closed(self) -> bool:
        return False

    def hexdigest(self) -> str | None:
        return self._hasher.hexdigest() if self._hasher is not None else None


class IdleExitWorker:
    """One helper thread running submitted calls in order, which exits after `IDLE_SECONDS` without work.

    Unlike a ThreadPoolExecutor, whose threads live until interpreter exit, a process that saved a
    checkpoint a while ago runs no leftover thread: code that forks only when it is single-threaded (the
    migrate runner's ``--jobs`` workers) keeps its fast path. The thread is a daemon: whoever submits work
    waits for its future (the manager's background commits are flushed by an atexit hook), so exiting never
    waits for an idle thread. A forked child starts with no thread and creates its own on first use.
    """

    IDLE_SECONDS = 0.5

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._owner_pid = os.getpid()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._owner_pid != os.getpid():  # forked: the parent's thread does not exist here
                self._owner_pid, self._thread, self._queue = os.getpid(), None, queue.SimpleQueue()
            self._queue.put((future, fn, args))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name=self.name, daemon=True
                )
                self._thread.start()
        return future

    def stop(self) -> None:
        """Let the thread finish what was submitted, then end it now (rather than after the idle time)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None or self._owner_pid != os.getpid():
                return
            old, self._queue = self._queue, queue.SimpleQueue()
            old.put(None)
        thread.join()

    def _run(self, jobs: queue.SimpleQueue[Any]) -> None:
        while True:
            try:
                item = jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if jobs.empty():
                        if self._queue is jobs:
                            self._thread = None
                        return
                continue
            if item is None:  # stop()
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the future
                future.set_exception(exc)
            else:
                future.set_result(result)
            del item, future, fn, args  # drop references (e.g. to a big buffer) while idle


_executor: IdleExitWorker | None = None
_executor_lock = threading.Lock()


def _hash_executor(hash_name: str | None) -> IdleExitWorker | None:
    """One process-wide helper thread for hashing (created on first use, reused by every write)."""
    global _executor
    if hash_name is None:
        return None
    with _executor_lock:
        if _executor is None:
            _executor = IdleExitWorker("simple_ckpt-hash")
        return _executor


# Errors that mean "this platform or file system cannot fsync a directory", not "the data did not reach the
# disk" (Windows cannot open directories; some network and FUSE file systems refuse directory fsync).
_DIR_FSYNC_UNSUPPORTED = frozenset(
    {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.EPERM, errno.EISDIR}
)


def fsync_dir(directory: Path) -> None:
    """Make a rename/unlink in ``directory`` durable.

    A no-op where the platform cannot fsync directories; a real I/O error (EIO, ENOSPC, ...) is raised,
    because the caller's next step (committing a YAML after its model) relies on the rename being durable.
    """
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno in _DIR_FSYNC_UNSUPPORTED:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _DIR_FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


class StagedWrite:
    """A complete temp file beside its destination, not yet renamed into place.

    Splitting a write into stage and `commit` lets a caller prepare two files (a model and its YAML)
    whose data fsyncs overlap, while still renaming them one after the other with a directory fsync in
    between (the order a crash must respect).
    """

    def __init__(
        self,
        path: Path,
        tmp: Path,
        result: WriteResult,
        pending_sync: Future[None] | None,
        deferred_raw: BinaryIO | None = None,
    ) -> None:
        self.path = path
        self.tmp = tmp
        self.result = result
        self._pending_sync = pending_sync
        self._deferred_raw = deferred_raw  # still open: fsynced (and closed) by wait_durable

    def wait_durable(self) -> None:
        """Block until the temp file's bytes are on disk (when it was staged with a background fsync)."""
        if self._pending_sync is not None:
            pending, self._pending_sync = self._pending_sync, None
            pending.result()
        if self._deferred_raw is not None:
            raw, self._deferred_raw = self._deferred_raw, None
            _fsync_and_close(raw)

    def hash_contents(self, hash_name: str) -> WriteResult:
        """Hash the staged bytes by reading the temp file back (a write staged with ``hash_name=None``).

        Used by the manager's background commit, so the caller of a save does not pay for hashing. The
        digest is of the bytes in the file, which are the ones made durable and renamed into place.
        """
        hasher = new_hasher(hash_name)
        buffer = bytearray(8 << 20)
        view = memoryview(buffer)
        with open(self.tmp, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                hasher.update(view[:n])
        self.result = WriteResult(self.path, self.result.size, hasher.hexdigest(), hash_name)
        return self.result

    def commit(self, before_replace: Callable[[], None] | None = None, *, fsync: bool = True) -> WriteResult:
        """Rename the temp file over the destination (after ``before_replace``), then fsync the directory."""
        try:
            self.wait_durable()
            if before_replace is not None:
                before_replace()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        if fsync:
            fsync_dir(self.path.parent)
        return self.result

    def discard(self) -> None:
        """Remove the temp file (the destination is untouched)."""
        with contextlib.suppress(Exception):
            self.wait_durable()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


def stage_write(
    path: str | os.PathLike[str],
    write: Callable[[BinaryIO], None],
    *,
    hash_name: str | None = None,
    fsync: bool = True,
    fsync_in_background: bool = False,
    defer_fsync: bool = False,
) -> StagedWrite:
    """Write ``path``'s new content to a temp file beside it (hashed on the fly, fsynced); see `StagedWrite`.

    With ``defer_fsync`` the file stays open and the fsync runs in `StagedWrite.commit` (on whichever
    thread commits); with ``fsync_in_background`` it runs on a helper thread; `StagedWrite.commit` waits for
    it. If ``write`` raises, the temp file is removed.
    """
    path = Path(path)
    tmp = temp_path_for(path)
    pending: Future[None] | None = None
    deferred: BinaryIO | None = None
    try:
        raw = open(tmp, "xb", buffering=0)  # noqa: SIM115 - closed below or by the background fsync
        try:
            # Early writeback overlaps the disk with a synchronous save; a deferred fsync runs off the
            # caller's thread anyway, so the caller then only writes to the page cache.
            early = _EarlyWriteback(raw.fileno()) if fsync and not defer_fsync else None
            buffered = _BufferedRaw(raw, early)
            writer = HashingWriter(buffered, hash_name, _hash_executor(hash_name))
            try:
                write(writer)  # type: ignore[arg-type]
                buffered.flush()
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    buffered.finish_writeback()  # never leave a sync running on a closed fd
                io_error = _os_error_in_chain(exc)
                if io_error is not None and (io_error is not exc or io_error.filename is None):
                    # e.g. ENOSPC surfacing as torch's "unexpected pos": say what failed, on which file
                    raise OSError(io_error.errno, io_error.strerror or str(io_error), str(path)) from exc
                raise
            buffered.finish_writeback()  # an I/O error of an early writeback surfaces here
            if fsync and defer_fsync:
                deferred = raw
            elif fsync and fsync_in_background:
                pending = _sync_executor().submit(_fsync_and_close, raw)
            else:
                if fsync:
                    os.fsync(raw.fileno())
                raw.close()
        except BaseException:
            raw.close()
            raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    result = WriteResult(path=path, size=writer.size, digest=writer.hexdigest(), hash_name=hash_name)
    return StagedWrite(path, tmp, result, pending, deferred)


def _fsync_and_close(raw: BinaryIO) -> None:
    try:
        os.fsync(raw.fileno())
    finally:
        raw.close()


def _os_error_in_chain(exc: BaseException) -> OSError | None:
    """The first OSError with an errno in ``exc``'s cause/context chain (torch wraps write errors)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, OSError) and current.errno is not None:
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[BinaryIO], None],
    *,
    hash_name: str | None = None,
    fsync: bool = True,
    before_replace: Callable[[], None] | None = None,
) -> WriteResult:
    """Write ``path`` atomically: ``write(f)`` fills a temp file, which then replaces ``path``.

    With ``hash_name`` the bytes are hashed as they are written and the digest returned. If ``write``
    raises, the temp file is removed and ``path`` is untouched. ``before_replace`` runs once the new
    bytes are complete and durable, just before the rename (the manager uncommits a re-saved epoch
    there). ``fsync=False`` is for benchmarks and scratch dirs only (atomic against process crashes, not
    against power loss).
    """
    staged = stage_write(path, write, hash_name=hash_name, fsync=fsync)
    return staged.commit(before_replace, fsync=fsync)


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, hash_name: str | None = None, fsync: bool = True
) -> WriteResult:
    """`atomic_write` of a bytes object."""
    return atomic_write(path, lambda f: f.write(data), hash_name=hash_name, fsync=fsync)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, fsync: bool = True) -> WriteResult:
    """`atomic_write` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


class _EarlyWriteback:
    """Starts flushing a large file to disk while it is still being written.

    Every `_STEP` bytes a helper thread runs ``fdatasync`` on the file (unless one is still running), so
    the disk works while torch.save keeps serialising and the final ``fsync`` only has the tail left to
    flush. This overlaps the durability cost with the write instead of paying it after.
    """

    _STEP = 32 << 20

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._since = 0
        self._pending: Future[None] | None = None

    def wrote(self, nbytes: int) -> None:
        self._since += nbytes
        if self._since < self._STEP or (self._pending is not None and not self._pending.done()):
            return
        self._since = 0
        if self._pending is not None:
            self._pending.result()  # a writeback error must fail the write, not vanish
        self._pending = _sync_executor().submit(_fdatasync, self._fd)

    def finish(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None


def _fdatasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)


_sync_pool: IdleExitWorker | None = None


def _sync_executor() -> IdleExitWorker:
    global _sync_pool
    with _executor_lock:
        if _sync_pool is None:
            _sync_pool = IdleExitWorker("simple_ckpt-sync")
        return _sync_pool


class _BufferedRaw:
    """Coalesces small writes (torch.save emits many tiny records) into 1 MiB chunks; big ones pass through."""

    _CAPACITY = 1 << 20

    def __init__(self, raw: BinaryIO, writeback: _EarlyWriteback | None = None) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._writeback = writeback

    def write(self, view: memoryview) -> int:
        n = view.nbytes
        if n >= self._CAPACITY:
            self.flush()
            self._write_raw(view)
            return n
        self._buf += view
        if len(self._buf) >= self._CAPACITY:
            self.flush()
        return n

    def _write_raw(self, view: memoryview) -> None:
        written = 0
        while written < view.nbytes:
            written += self._raw.write(view[written:])
        if self._writeback is not None:
            self._writeback.wrote(written)

    def flush(self) -> None:
        if self._buf:
            self._write_raw(memoryview(self._buf))
            self._buf = bytearray()

    def finish_writeback(self) -> None:
        if self._writeback is not None:
            self._writeback.finish()


def read_bytes_hashed(path: str | os.PathLike[str], hash_name: str | None) -> tuple[bytes, str | None]:
    """Read a whole file once, returning its bytes and (optionally) their hex digest."""
    data = Path(path).read_bytes()
    if hash_name is None:
        return data, None
    hasher = new_hasher(hash_name)
    hasher.update(data)
    return data, hasher.hexdigest()


def remove_file(path: str | os.PathLike[str]) -> bool:
    """Unlink ``path``; False if it was already gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
