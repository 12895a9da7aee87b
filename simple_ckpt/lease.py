"""The writer lease of a run dir: one process writes checkpoints at a time; readers never need it.

``RUN_DIR/checkpoints/.simple_ckpt.lease`` holds the holder's pid, host and start time (JSON) and is
locked with ``flock``. The kernel drops the lock when the holder dies, however it dies (even
``kill -9``), so a lease left by a dead process is recovered simply by the next writer taking the lock
and rewriting the file; no pid guessing is needed on a local filesystem. A second writer fails fast with
`LeaseHeldError` naming the holder.

Within one process the lease is shared: several managers (or a manager and ``migrate --in-place``) on the
same run dir in the same process reuse one lock, counted, so a notebook that builds a second manager for
the run it is already writing does not lock itself out.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import threading
from pathlib import Path
from types import TracebackType

from simple_ckpt.errors import CheckpointError, LeaseHeldError
from simple_ckpt.layout import checkpoints_dir

LEASE_NAME = ".simple_ckpt.lease"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class _Held:
    """One process-wide lock on one lease file."""

    def __init__(self, fd: int, info: dict[str, object]) -> None:
        self.fd = fd
        self.info = info
        self.count = 0


_registry: dict[str, _Held] = {}
_registry_lock = threading.Lock()


def _forget_inherited_leases() -> None:
    """In a forked child: the parent's leases are the parent's. The child's own `acquire` then opens the
    lease file afresh and fails fast like any other process; the inherited descriptors are closed (which
    does not unlock them: the parent's descriptor still holds the lock)."""
    global _registry_lock
    _registry_lock = threading.Lock()
    for held in _registry.values():
        try:
            os.close(held.fd)
        except OSError:
            pass
    _registry.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_leases)


def lease_path(run_dir: str | os.PathLike[str]) -> Path:
    return checkpoints_dir(run_dir) / LEASE_NAME


def read_lease_info(path: Path) -> dict[str, object]:
    """The holder recorded in a lease file ({} when absent or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(info: dict[str, object]) -> str:
    if not info:
        return "an unknown process"
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')} (since {info.get('started', '?')})"


class RunLease:
    """Context manager (or `acquire`/`release`) for the writer lease of ``run_dir``.

    Raises `LeaseHeldError` when another process holds it. Re-entrant within a process.
    """

    def __init__(
        self, run_dir: str | os.PathLike[str], *, checkpoint_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.run_dir = Path(run_dir)
        self.path = Path(checkpoint_dir) / LEASE_NAME if checkpoint_dir is not None else lease_path(run_dir)
        self._key: str | None = None

    @property
    def held(self) -> bool:
        return self._key is not None

    def acquire(self) -> RunLease:
        if self._key is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(self.path)
        with _registry_lock:
            held = _registry.get(key)
            if held is None:
                held = _Held(*self._lock_file())
                _registry[key] = held
            held.count += 1
        self._key = key
        return self

    def release(self) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        with _registry_lock:
            held = _registry.get(key)
            if held is None:
                return
            held.count -= 1
            if held.count > 0:
                return
            del _registry[key]
            # Empty the file but keep it: unlinking a locked file races with a writer that opened it.
            try:
                os.ftruncate(held.fd, 0)
            except OSError:
                pass
            if fcntl is not None:  # explicitly: a forked child may still have this descriptor open
                try:
                    fcntl.flock(held.fd, fcntl.LOCK_UN)
                except OSError:
                    pass
            os.close(held.fd)

    def _lock_file(self) -> tuple[int, dict[str, object]]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    info = read_lease_info(self.path)
                    raise LeaseHeldError(
                        f"{self.run_dir}: another process is writing checkpoints here: {describe_holder(info)}; "
                        f"lease file {self.path}"
                    ) from None
            info: dict[str, object] = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            }
            data = json.dumps(info).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
        except LeaseHeldError:
            os.close(fd)
            raise
        except OSError as exc:
            os.close(fd)
            raise CheckpointError(f"{self.path}: cannot take the writer lease: {exc}") from exc
        return fd, info

    def __enter__(self) -> RunLease:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:
            pass
