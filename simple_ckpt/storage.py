"""Where a run dir lives: the local disk, or object storage (``s3://``, ``gs://``, ...) through fsspec.

The manager, the listing index and the CLI never touch files directly: they ask a `Storage` (from
`storage_for`) to scan a checkpoints dir, read a file, stage a write and commit it, remove a file. Two
implementations:

* `LocalStorage`: the crash-safe local behaviour of `simple_ckpt.atomic` unchanged (temp file in the same
  dir, fsync, ``os.replace``, directory fsync; ``flock`` lease).
* `FsspecStorage`: any fsspec URL (the optional extra ``simple-ckpt[remote]`` installs fsspec + s3fs;
  fsspec is imported only when a URL is used). A write streams to a temporary key
  ``.<name>.tmp-<pid>-<hex>`` beside the real one (hashed on the way, like a local write), and its commit
  copies it to the real key and deletes the temp key. An object store replaces a key atomically, so
  readers see the old object or the complete new one. The manager commits the model first and its YAML
  (which records size and hash) last, so a model whose commit was interrupted is never trusted: it has no
  YAML, or a YAML whose hash does not match. Temp keys start with a dot and every listing ignores them.

Remote paths are `RemotePath` objects: a URL with the few ``pathlib`` operations the manager uses
(``/``, ``name``, ``parent``, ``with_suffix``, ``exists``, ``is_dir``, ``read_bytes``...). Listings of a
remote dir are paginated (`FsspecStorage.iter_dir`): one page of keys at a time, one prefix at a time,
never a listing of the whole bucket.

Connection settings come from the environment: ``SIMPLE_CKPT_S3_ENDPOINT`` (else ``AWS_ENDPOINT_URL_S3``,
else ``AWS_ENDPOINT_URL``) sets the S3 endpoint (a MinIO, Ceph or moto server), and
``SIMPLE_CKPT_STORAGE_OPTIONS`` may hold a JSON object of extra fsspec storage options for every
protocol (e.g. ``{"anon": true}``). Credentials are the protocol's usual ones (``AWS_ACCESS_KEY_ID``...).

The remote writer lease (`RemoteLease`) is best effort, because conditional writes are not available on
every object store: see its docstring for exactly what it guarantees.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol

from simple_ckpt import layout
from simple_ckpt.atomic import (
    HashingWriter,
    WriteResult,
    _hash_executor,
    atomic_write,
    fsync_dir,
    remove_file,
    stage_write,
)
from simple_ckpt.errors import CheckpointError, LeaseHeldError

REMOTE_EXTRA_HINT = "install the optional extra: pip install 'simple-ckpt[remote]' (fsspec + s3fs)"
ENDPOINT_ENV = ("SIMPLE_CKPT_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
OPTIONS_ENV = "SIMPLE_CKPT_STORAGE_OPTIONS"
_S3_PROTOCOLS = ("s3", "s3a")
_COPY_CHUNK = 8 << 20


def is_remote(path_or_uri: object) -> bool:
    """True for a URL with a scheme other than ``file://`` (and for a `RemotePath`)."""
    if isinstance(path_or_uri, RemotePath):
        return True
    if not isinstance(path_or_uri, str) or "://" not in path_or_uri:
        return False
    return path_or_uri.partition("://")[0] not in ("file", "")


def to_path(path_or_uri: str | os.PathLike[str]) -> Path | RemotePath:
    """A local `Path` (plain paths and ``file://`` URIs) or a `RemotePath` (any other URL)."""
    if isinstance(path_or_uri, RemotePath):
        return path_or_uri
    text = os.fspath(path_or_uri)
    if isinstance(text, str) and "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme == "file":
            return Path(rest)
        return RemotePath(text)
    return Path(text)


class RemotePath:
    """A URL such as ``s3://bucket/runs/x/checkpoints/model_0001.pt`` with a small ``pathlib`` surface."""

    __slots__ = ("protocol", "key")

    def __init__(self, url: str) -> None:
        protocol, sep, key = url.partition("://")
        if not sep or not protocol or not key.strip("/"):
            raise CheckpointError(f"{url}: not a storage URL (expected e.g. s3://bucket/path)")
        self.protocol = protocol
        self.key = str(PurePosixPath(key.strip("/")))

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.key}"

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __lt__(self, other: RemotePath) -> bool:
        return self.url < other.url

    def __truediv__(self, name: str) -> RemotePath:
        return RemotePath(f"{self.url}/{name}")

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.key).suffix

    @property
    def stem(self) -> str:
        return PurePosixPath(self.key).stem

    @property
    def parent(self) -> RemotePath:
        parent = PurePosixPath(self.key).parent
        return RemotePath(f"{self.protocol}://{parent}") if str(parent) not in ("", ".") else self

    def with_name(self, name: str) -> RemotePath:
        return RemotePath(f"{self.protocol}://{PurePosixPath(self.key).with_name(name)}")

    def with_suffix(self, suffix: str) -> RemotePath:
        return RemotePath(f"{self.protocol}://{PurePosixPath(self.key).with_suffix(suffix)}")

    # The read-only queries, so code written for pathlib works on both kinds.
    def exists(self) -> bool:
        return remote_storage(self).exists(self)

    def is_dir(self) -> bool:
        return remote_storage(self).is_dir(self)

    def is_file(self) -> bool:
        return remote_storage(self).is_file(self)

    def read_bytes(self) -> bytes:
        return remote_storage(self).read_bytes(self)


AnyPath = Path | RemotePath


class Staged(Protocol):
    """A complete temporary file or key, not yet committed under its real name."""

    result: WriteResult

    def commit(self, before_replace: Callable[[], None] | None = None, *, fsync: bool = True) -> WriteResult:
        """Put the staged bytes under the real name (after ``before_replace``)."""

    def discard(self) -> None:
        """Remove the temporary (the real name is untouched)."""


class Lease(Protocol):
    def acquire(self) -> Any: ...

    def release(self) -> None: ...


class Storage(Protocol):
    """What the manager, the listing index and the commands need from where a run dir lives."""

    remote: bool

    def exists(self, path: Any) -> bool: ...
    def is_dir(self, path: Any) -> bool: ...
    def size(self, path: Any) -> int | None: ...
    def identity(self, path: Any) -> tuple[Any, ...] | None: ...
    def read_bytes(self, path: Any) -> bytes: ...
    def scan(self, directory: Any) -> layout.DirScan: ...
    def iter_names(self, directory: Any) -> Iterator[str]: ...
    def mkdir(self, directory: Any) -> None: ...
    def stage_write(
        self,
        path: Any,
        write: Callable[[BinaryIO], None],
        *,
        hash_name: str | None = None,
        fsync: bool = True,
        fsync_in_background: bool = False,
        defer_fsync: bool = False,
    ) -> Staged: ...
    def atomic_write(
        self,
        path: Any,
        write: Callable[[BinaryIO], None],
        *,
        hash_name: str | None = None,
        fsync: bool = True,
    ) -> WriteResult: ...
    def write_cache(self, path: Any, data: bytes) -> None: ...
    def remove(self, path: Any) -> bool: ...
    def sync_dir(self, directory: Any) -> None: ...
    def lease(self, run_dir: Any, checkpoint_dir: Any) -> Lease: ...
    def local_copy(self, path: Any) -> contextlib.AbstractContextManager[Path]: ...


class LocalStorage:
    """The local disk, exactly as `simple_ckpt.atomic` and `simple_ckpt.layout` do it."""

    remote = False

    def exists(self, path: Path) -> bool:
        return path.exists()

    def is_dir(self, path: Path) -> bool:
        return path.is_dir()

    def is_file(self, path: Path) -> bool:
        return path.is_file()

    def size(self, path: Path) -> int | None:
        return layout.file_size(path)

    def identity(self, path: Path) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def read_bytes(self, path: Path) -> bytes:
        return path.read_bytes()

    def scan(self, directory: Path) -> layout.DirScan:
        return layout.scan_checkpoints(directory)

    def iter_names(self, directory: Path) -> Iterator[str]:
        try:
            names = os.listdir(directory)
        except OSError:
            return iter(())
        return iter(names)

    def mkdir(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)

    def stage_write(
        self,
        path: Path,
        write: Callable[[BinaryIO], None],
        *,
        hash_name: str | None = None,
        fsync: bool = True,
        fsync_in_background: bool = False,
        defer_fsync: bool = False,
    ) -> Staged:
        return stage_write(
            path,
            write,
            hash_name=hash_name,
            fsync=fsync,
            fsync_in_background=fsync_in_background,
            defer_fsync=defer_fsync,
        )

    def atomic_write(
        self,
        path: Path,
        write: Callable[[BinaryIO], None],
        *,
        hash_name: str | None = None,
        fsync: bool = True,
    ) -> WriteResult:
        return atomic_write(path, write, hash_name=hash_name, fsync=fsync)

    def write_cache(self, path: Path, data: bytes) -> None:
        atomic_write(path, lambda f: f.write(data), fsync=False)

    def remove(self, path: Path) -> bool:
        return remove_file(path)

    def sync_dir(self, directory: Path) -> None:
        fsync_dir(directory)

    def lease(self, run_dir: Path, checkpoint_dir: Path) -> Lease:
        from simple_ckpt.lease import RunLease

        return RunLease(run_dir, checkpoint_dir=checkpoint_dir)

    @contextlib.contextmanager
    def local_copy(self, path: Path) -> Iterator[Path]:
        yield path


LOCAL = LocalStorage()


def storage_for(path: object) -> Any:
    """The `Storage` of a path: `FsspecStorage` for a `RemotePath`, `LocalStorage` otherwise."""
    if isinstance(path, RemotePath):
        return remote_storage(path)
    return LOCAL


# ---------------------------------------------------------------------------------------------- fsspec


def _import_fsspec(what: str) -> Any:
    try:
        import fsspec
    except ImportError:
        raise CheckpointError(f"{what}: remote run dirs need fsspec; {REMOTE_EXTRA_HINT}") from None
    return fsspec


def storage_options(protocol: str) -> dict[str, Any]:
    """The fsspec options for ``protocol`` read from the environment (see the module docstring)."""
    options: dict[str, Any] = {}
    raw = os.environ.get(OPTIONS_ENV)
    if raw:
        try:
            extra = json.loads(raw)
        except ValueError as exc:
            raise CheckpointError(f"{OPTIONS_ENV}: not a JSON object: {exc}") from None
        if not isinstance(extra, dict):
            raise CheckpointError(f"{OPTIONS_ENV}: not a JSON object")
        options.update(extra)
    if protocol in _S3_PROTOCOLS:
        endpoint = next((os.environ[name] for name in ENDPOINT_ENV if os.environ.get(name)), None)
        if endpoint:
            client_kwargs = dict(options.get("client_kwargs") or {})
            client_kwargs.setdefault("endpoint_url", endpoint)
            options["client_kwargs"] = client_kwargs
    return options


_storages: dict[tuple[str, str], FsspecStorage] = {}
# URI schemes of the legacy policy store that name no file system: what to do instead.
_LEGACY_URI_ADVICE: dict[str, str] = {
    "wandb": (
        "a legacy wandb artifact URI, which simple_ckpt does not download: fetch the artifact "
        "(e.g. `wandb artifact get ENTITY/PROJECT/NAME:VERSION`) and pass the downloaded model file "
        "(convert it first with `simple-ckpt migrate` if it is a legacy checkpoint)"
    ),
    "pytorch": (
        "a legacy pytorch:// URI naming a bare PufferLib state_dict: build your agent and load the file "
        "with torch.load(path, weights_only=True) + load_state_dict"
    ),
    "puffer": (
        "a legacy puffer:// URI naming a bare PufferLib state_dict: build your agent and load the file "
        "with torch.load(path, weights_only=True) + load_state_dict"
    ),
    "mock": "a legacy mock:// URI: build the mock agent in the test instead of loading it",
}
_storages_lock = threading.Lock()


def remote_storage(path: RemotePath) -> FsspecStorage:
    """The (per protocol and settings, cached) `FsspecStorage` for ``path``."""
    options = storage_options(path.protocol)
    key = (path.protocol, json.dumps(options, sort_keys=True, default=str))
    with _storages_lock:
        found = _storages.get(key)
        if found is None:
            advice = _LEGACY_URI_ADVICE.get(path.protocol)
            if advice is not None:
                raise CheckpointError(f"{path.url}: {advice}")
            fsspec = _import_fsspec(path.url)
            try:
                fs = fsspec.filesystem(path.protocol, **options)
            except ImportError as exc:
                hint = REMOTE_EXTRA_HINT if path.protocol in (*_S3_PROTOCOLS, "gs", "gcs") else "install it"
                raise CheckpointError(
                    f"{path.url}: unsupported URI scheme {path.protocol!r} here: its fsspec backend is not "
                    f"installed ({exc}); {hint}"
                ) from None
            except ValueError:
                raise CheckpointError(
                    f"{path.url}: unsupported URI scheme {path.protocol!r} (not a local path, a file:// URI "
                    "or a protocol fsspec knows)"
                ) from None
            found = _storages[key] = FsspecStorage(fs)
        return found


class FsspecStorage:
    """A run dir on any fsspec filesystem: temp key + copy commit, paginated listings, no fsync needed."""

    remote = True
    page_size = 1000  # keys per listing request (S3's maximum)

    def __init__(self, fs: Any) -> None:
        self.fs = fs

    # ---------------------------------------------------------------- queries

    def exists(self, path: RemotePath) -> bool:
        return self.info(path) is not None

    def is_file(self, path: RemotePath) -> bool:
        info = self.info(path)
        return info is not None and info.get("type") == "file"

    def is_dir(self, path: RemotePath) -> bool:
        self._forget(path)
        try:
            return bool(self.fs.isdir(path.key))
        except OSError:
            return False

    def info(self, path: RemotePath) -> dict[str, Any] | None:
        """The object's info (size, ETag, LastModified...), fresh from the store; None if absent."""
        self._forget(path)
        try:
            info = self.fs.info(path.key)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot stat: {exc}") from exc
        return info

    def size(self, path: RemotePath) -> int | None:
        info = self.info(path)
        if info is None or info.get("type") != "file":
            return None
        return int(info.get("size") or 0)

    def identity(self, path: RemotePath) -> tuple[Any, ...] | None:
        info = self.info(path)
        if info is None or info.get("type") != "file":
            return None
        return (int(info.get("size") or 0), _etag(info), _mtime_ns(info))

    def read_bytes(self, path: RemotePath) -> bytes:
        try:
            with self.fs.open(path.key, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot read: {exc}") from exc

    def open_read(self, path: RemotePath) -> BinaryIO:
        """A streaming read-only file object (``torch.load`` accepts it)."""
        return self.fs.open(path.key, "rb")

    def iter_dir(self, directory: RemotePath, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """The entries directly under ``directory``, one listing page at a time (never the whole bucket).

        On S3 this drives s3fs's paginated ``list_objects_v2`` (``page_size`` keys per request); other
        filesystems list the one directory.
        """
        if hasattr(self.fs, "_list_pages") and set(_protocols(self.fs)) & set(_S3_PROTOCOLS):
            from fsspec.asyn import sync

            bucket, _, prefix = directory.key.partition("/")
            pages = _s3_pages(self.fs, bucket, prefix, page_size or self.page_size)
            while True:
                try:
                    entry = sync(self.fs.loop, pages.__anext__)
                except StopAsyncIteration:
                    return
                except FileNotFoundError:
                    return
                yield entry
        self._forget(directory)
        try:
            entries = self.fs.ls(directory.key, detail=True)
        except FileNotFoundError:
            return
        yield from entries

    def iter_names(self, directory: RemotePath) -> Iterator[str]:
        for entry in self.iter_dir(directory):
            yield PurePosixPath(entry["name"]).name

    def scan(self, directory: RemotePath) -> layout.DirScan:
        """`layout.scan_checkpoints` for a remote dir: sidecar identity is (size, mtime, ETag checksum)."""
        models: dict[int, str] = {}
        yamls: dict[int, tuple[str, layout.YamlStat]] = {}
        for entry in self.iter_dir(directory):
            if entry.get("type") != "file":
                continue
            name = PurePosixPath(entry["name"]).name
            epoch = layout.parse_model_name(name)
            if epoch is not None and name == layout.model_filename(epoch):
                models[epoch] = name
                continue
            epoch = layout.parse_yaml_name(name)
            if epoch is not None and name == layout.yaml_filename(epoch):
                stat = layout.YamlStat(int(entry.get("size") or 0), _mtime_ns(entry), _etag_int(entry))
                yamls[epoch] = (name, stat)
        return layout.DirScan(models, yamls)

    # ---------------------------------------------------------------- writes

    def mkdir(self, directory: RemotePath) -> None:
        """Object stores have no directories: nothing to create."""

    def stage_write(
        self,
        path: RemotePath,
        write: Callable[[BinaryIO], None],
        *,
        hash_name: str | None = None,
        fsync: bool = True,
        fsync_in_background: bool = False,
        defer_fsync: bool = False,
    ) -> RemoteStagedWrite:
        """Stream ``write``'s bytes to a temp key beside ``path`` (hashed on the way)."""
        tmp = path.with_name(layout_temp_name(path.name))
        try:
            with self.fs.open(tmp.key, "wb") as raw:
                writer = HashingWriter(raw, hash_name, _hash_executor(hash_name))
                write(writer)  # type: ignore[arg-type]
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm(tmp.key)
            raise
        result = WriteResult(path=path, size=writer.size, digest=writer.hexdigest(), hash_name=hash_name)  # type: ignore[arg-type]
        return RemoteStagedWrite(self, path, tmp, result)

    def atomic_write(
        self,
        path: RemotePath,
        write: Callable[[BinaryIO], None],
        *,
        hash_name: str | None = None,
        fsync: bool = True,
    ) -> WriteResult:
        return self.stage_write(path, write, hash_name=hash_name).commit()

    def write_cache(self, path: RemotePath, data: bytes) -> None:
        """A single put (atomic on object stores); failures are ignored: it is only a cache."""
        with contextlib.suppress(Exception):
            self.fs.pipe_file(path.key, data)

    def remove(self, path: RemotePath) -> bool:
        try:
            self.fs.rm_file(path.key)
        except FileNotFoundError:
            return False
        finally:
            self._forget(path)
        return True

    def sync_dir(self, directory: RemotePath) -> None:
        """Object store writes are durable when the request returns."""

    def lease(self, run_dir: RemotePath, checkpoint_dir: RemotePath) -> RemoteLease:
        return RemoteLease(self, run_dir, checkpoint_dir)

    @contextlib.contextmanager
    def local_copy(self, path: RemotePath) -> Iterator[Path]:
        """Download ``path`` to a temporary local file (streamed), removed on exit."""
        with tempfile.TemporaryDirectory(prefix="simple-ckpt-remote-") as tmp:
            local = Path(tmp) / path.name
            download(path, local, storage=self)
            yield local

    def _forget(self, path: RemotePath) -> None:
        """Drop fsspec's cached listings: another process may have changed the store."""
        with contextlib.suppress(Exception):
            self.fs.invalidate_cache(path.key)


class RemoteStagedWrite:
    """A complete temp key; `commit` copies it to the real key (one atomic replace) and deletes it."""

    def __init__(
        self, storage: FsspecStorage, path: RemotePath, tmp: RemotePath, result: WriteResult
    ) -> None:
        self.storage = storage
        self.path = path
        self.tmp = tmp
        self.result = result

    def commit(self, before_replace: Callable[[], None] | None = None, *, fsync: bool = True) -> WriteResult:
        fs = self.storage.fs
        try:
            if before_replace is not None:
                before_replace()
            fs.copy(self.tmp.key, self.path.key)
        except BaseException:
            self.discard()
            raise
        # A crash here leaves the temp key behind: ignored by listings, swept by the next writer.
        with contextlib.suppress(Exception):
            fs.rm_file(self.tmp.key)
        self.storage._forget(self.path)
        return self.result

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.storage.fs.rm_file(self.tmp.key)


def layout_temp_name(name: str) -> str:
    """The temp name of a write of ``name`` (the same pattern as local temp files)."""
    return f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


async def _s3_pages(fs: Any, bucket: str, prefix: str, page_size: int) -> Any:
    """s3fs listing with an explicit page size (``MaxKeys``), yielding entries like ``_iterdir``."""
    kwargs = dict(Bucket=bucket, Prefix=f"{prefix}/" if prefix else "", Delimiter="/", MaxKeys=page_size)
    async for page in fs._list_pages("list_objects_v2", **kwargs):
        for common in page.get("CommonPrefixes", []):
            entry = {"Key": common["Prefix"][:-1], "Size": 0, "type": "directory"}
            fs._fill_info(entry, bucket)
            yield entry
        for entry in page.get("Contents", []):
            entry["type"] = "file"
            fs._fill_info(entry, bucket)
            yield entry


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _etag(info: dict[str, Any]) -> str:
    return str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("crc32c") or "")


def _etag_int(info: dict[str, Any]) -> int:
    return zlib.crc32(_etag(info).encode("utf-8"))


def _mtime_ns(info: dict[str, Any]) -> int:
    value = info.get("LastModified") or info.get("mtime") or info.get("updated") or info.get("created")
    if isinstance(value, _dt.datetime):
        return int(value.timestamp() * 1e9)
    if isinstance(value, (int, float)):
        return int(value * 1e9)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9)
    return 0


# ------------------------------------------------------------------------------------- remote lease


class RemoteLease:
    """Best-effort writer lease for a remote run dir: ``checkpoints/.simple_ckpt.lease`` (JSON).

    Guaranteed: a writer that finds a lease naming another holder, renewed less than `TTL_SECONDS` ago,
    fails fast with `LeaseHeldError` naming it; a lease older than that (its holder died) is taken over;
    within one process managers share the lease. Not guaranteed: two writers that start within the same
    few milliseconds may both believe they hold it (object stores without conditional writes cannot
    arbitrate that race; the read-back after writing narrows it). The holder renews the lease on each
    save when half the TTL has passed. Crash safety never depends on the lease: every commit is a single
    atomic replace, and the YAML (with the model's hash) is committed last.
    """

    TTL_SECONDS = 600.0

    _registry: dict[str, list[Any]] = {}  # url -> [token, count]
    _lock = threading.Lock()

    def __init__(self, storage: FsspecStorage, run_dir: RemotePath, checkpoint_dir: RemotePath) -> None:
        self.storage = storage
        self.run_dir = run_dir
        self.path = checkpoint_dir / ".simple_ckpt.lease"
        self._held = False
        self._renewed = 0.0
        self._token = ""

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> RemoteLease:
        if self._held:
            return self
        key = self.path.url
        with self._lock:
            shared = self._registry.get(key)
            if shared is None:
                token = self._take()
                shared = self._registry[key] = [token, 0]
            shared[1] += 1
            self._token = shared[0]
        self._held = True
        self._renewed = time.monotonic()
        return self

    def renew(self) -> None:
        """Re-write the lease's timestamp when half the TTL has passed (called on every save)."""
        if self._held and time.monotonic() - self._renewed > self.TTL_SECONDS / 2:
            self._write(self._token)
            self._renewed = time.monotonic()

    def _take(self) -> str:
        current = self._read()
        token = secrets.token_hex(8)
        if current and current.get("token") and not self._stale(current):
            raise LeaseHeldError(
                f"{self.run_dir}: another process is writing checkpoints here: pid {current.get('pid', '?')} "
                f"on host {current.get('host', '?')} (since {current.get('started', '?')}); lease {self.path} "
                f"(taken over after {self.TTL_SECONDS:.0f} s without renewal)"
            )
        self._write(token)
        back = self._read()
        if back.get("token") != token:
            raise LeaseHeldError(
                f"{self.run_dir}: another process took the writer lease at the same time: "
                f"pid {back.get('pid', '?')} on host {back.get('host', '?')}; lease {self.path}"
            )
        return token

    def _stale(self, info: dict[str, Any]) -> bool:
        renewed = info.get("renewed")
        if not isinstance(renewed, (int, float)):
            return True
        return time.time() - renewed > self.TTL_SECONDS

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.storage.read_bytes(self.path) or b"{}")
        except (OSError, ValueError, CheckpointError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, token: str) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "renewed": time.time(),
            "token": token,
        }
        try:
            self.storage.fs.pipe_file(self.path.key, json.dumps(info).encode("utf-8"))
        except OSError as exc:
            raise CheckpointError(f"{self.path}: cannot take the writer lease: {exc}") from exc

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        key = self.path.url
        with self._lock:
            shared = self._registry.get(key)
            if shared is None:
                return
            shared[1] -= 1
            if shared[1] > 0:
                return
            del self._registry[key]
        if self._read().get("token") == self._token:
            with contextlib.suppress(Exception):
                self.storage.remove(self.path)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()


def download(
    path: str | RemotePath, dest: str | os.PathLike[str], *, storage: FsspecStorage | None = None
) -> Path:
    """Stream one remote file to the local ``dest`` (via a temp name beside it); returns ``dest``."""
    remote = path if isinstance(path, RemotePath) else RemotePath(path)
    store = storage or remote_storage(remote)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(layout_temp_name(dest.name))
    try:
        with store.fs.open(remote.key, "rb") as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, _COPY_CHUNK)
        os.replace(tmp, dest)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CheckpointError(f"{remote}: no such object") from None
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CheckpointError(f"{remote}: cannot download: {exc}") from exc
    return dest
