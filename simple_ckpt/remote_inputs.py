"""Remote inputs and outputs for ``simple-ckpt migrate`` and ``inspect`` (``s3://``, ``gs://``... URLs).

Both commands read legacy files through code that works on local files (zip readers, the restricted
unpickler, ``os.walk``). Rather than teach all of it about object storage, remote inputs are brought
to local temp files, **one file at a time, each streamed to disk** (never a whole file or a whole
listing in memory: directories are listed page by page, one prefix at a time):

* ``inspect`` downloads each file just before describing it and deletes it right after
  (`local_files`).
* ``migrate`` mirrors each remote PATH into a temp dir keeping the key names (run, ``checkpoints/``...,
  which the discovery reads), converts there, and removes the mirror at the end (`RemoteMigration`).
  The temp dir therefore needs room for the inputs of one invocation.
* A remote ``--out`` is converted into a local staging dir that first receives the YAML sidecars and
  trainer states already under the remote out (so a rerun finds what is already converted and a
  conflicting output is refused as locally), then every new file is uploaded through the manager's
  remote commit (temp key, then copy to the real key), models before YAMLs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, BinaryIO

import click

from simple_ckpt.errors import UsageError
from simple_ckpt.storage import RemotePath, download, is_remote, remote_storage, to_path

_COPY_CHUNK = 8 << 20


class PathOrURL(click.ParamType):
    """A click parameter: a local path (a `Path`) or a storage URL (a `RemotePath`), kept intact."""

    name = "path"

    def __init__(self, exists: bool = False) -> None:
        self.exists = exists

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (Path, RemotePath)):
            return value
        path = to_path(str(value))
        if self.exists and isinstance(path, Path) and not path.exists():
            self.fail(f"{value}: no such file or directory", param, ctx)
        return path


def walk_files(root: RemotePath) -> Iterator[tuple[RemotePath, str]]:
    """Every file under ``root`` as (path, path relative to root), one directory listing at a time.

    Dot files and dot dirs (temp keys, leases, indexes) are skipped. A ``root`` naming a single object
    yields just that object (relative path: its name).
    """
    store = remote_storage(root)
    if store.is_file(root):
        yield root, root.name
        return
    pending = [root]
    while pending:
        directory = pending.pop()
        subdirs: list[RemotePath] = []
        for entry in store.iter_dir(directory):
            name = PurePosixPath(entry["name"]).name
            if not name or name.startswith("."):
                continue
            child = directory / name
            if entry.get("type") == "directory":
                subdirs.append(child)
            else:
                yield child, child.key[len(root.key) + 1 :]
        pending.extend(sorted(subdirs, reverse=True))


def local_files(
    paths: Iterable[Path | RemotePath],
    expand: Callable[[tuple[Path, ...]], list[Path]],
    suffixes: tuple[str, ...],
) -> Iterator[tuple[Path, str]]:
    """(local file, name to report) for every input file, as ``inspect`` wants them.

    Local paths go through ``expand`` (directories to their checkpoint files). A remote file is
    downloaded to a temp file just before it is yielded and deleted when the next one is asked for; a
    remote directory yields its files with one of ``suffixes``, in key order per directory.
    """
    paths = list(paths)
    for path in paths:  # every input exists, before the first is described (as click checks local ones)
        if isinstance(path, RemotePath) and not remote_storage(path).exists(path):
            raise UsageError(f"inspect: no such file or directory: {path}")
    for path in paths:
        if not isinstance(path, RemotePath):
            for local in expand((path,)):
                yield local, str(local)
            continue
        for remote, _rel in walk_files(path):
            if remote != path and remote.suffix not in suffixes:
                continue
            with tempfile.TemporaryDirectory(prefix="simple-ckpt-inspect-") as tmp:
                yield download(remote, Path(tmp) / remote.name), str(remote)


def _mirror_path(base: Path, remote: RemotePath) -> Path:
    return base / remote.protocol / remote.key


class RemoteMigration:
    """Local stand-ins for remote migrate PATHs and ``--out``; uploads the new outputs on exit.

    ``paths`` become local paths (remote ones mirrored file by file under a temp dir, keeping their
    key names), ``out`` a local staging dir when it is remote. On exit (also when the command exits
    with a failure code: the files that did convert are kept, as locally) new outputs are uploaded
    unless ``upload`` is False (dry runs), and the temp dir is removed.
    """

    META_KEY = "simple_ckpt.remote_migration"

    def __init__(
        self, paths: Iterable[Path | RemotePath], out: Path | RemotePath | None, upload: bool
    ) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="simple-ckpt-migrate-remote-"))
        self._upload = upload
        self.remote_out = out if isinstance(out, RemotePath) else None
        self._existing: set[str] = set()
        self._remote_inputs: list[RemotePath] = []
        try:
            self.paths = [self._localize(p) for p in paths]
            self.out: Path | None
            if self.remote_out is not None:
                self.out = _mirror_path(self._tmp / "out", self.remote_out)
                self.out.mkdir(parents=True)
                self._existing = set(_mirror(self.remote_out, self.out, _records_conversion))
            else:
                self.out = out  # type: ignore[assignment]
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise

    def show_remote_names(self, report: Any) -> None:
        """Rewrite the local mirror paths in a migrate report (paths, outputs, messages) to their URLs."""
        protocols = {p.protocol for p in (*self._remote_inputs, self.remote_out) if p is not None}
        prefixes = [
            (f"{self._tmp / side / proto}/", f"{proto}://") for side in ("in", "out") for proto in protocols
        ]

        def named(text: Any) -> Any:
            if isinstance(text, str):
                for local, url in prefixes:
                    text = text.replace(local, url)
            return text

        for result in getattr(report, "results", []):
            for attr in ("path", "reason"):
                setattr(result, attr, named(getattr(result, attr, None)))
            for attr in ("outputs", "warnings"):
                setattr(result, attr, [named(item) for item in getattr(result, attr, [])])
        if hasattr(report, "problems"):
            report.problems = [named(item) for item in report.problems]

    def _localize(self, path: Path | RemotePath) -> Path:
        if not isinstance(path, RemotePath):
            return path
        self._remote_inputs.append(path)
        local = _mirror_path(self._tmp / "in", path)
        if not _mirror(path, local if not remote_storage(path).is_file(path) else local.parent, None):
            raise UsageError(f"migrate: no such file or directory: {path}")
        return local

    def __enter__(self) -> RemoteMigration:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            upload = exc_type is None or issubclass(exc_type, click.exceptions.Exit)
            if upload and self._upload and self.remote_out is not None and self.out is not None:
                uploaded = upload_tree(self.out, self.remote_out, skip=self._existing.__contains__)
                click.echo(f"uploaded {len(uploaded)} file(s) to {self.remote_out}")
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _records_conversion(rel: str) -> bool:
    """What a rerun needs of an existing remote out: the sidecars and trainer states (not the models)."""
    name = PurePosixPath(rel).name
    return name.endswith(".yaml") or name == "trainer_state.pt"


def _mirror(root: RemotePath, dest: Path, keep: Callable[[str], bool] | None) -> list[str]:
    """Download every file under ``root`` (those ``keep(relative path)`` accepts) into ``dest``."""
    done: list[str] = []
    for path, rel in walk_files(root):
        if keep is not None and not keep(rel):
            continue
        download(path, dest / rel)
        done.append(rel)
    return done


def upload_tree(local_root: Path, remote_root: RemotePath, skip: Callable[[str], bool]) -> list[str]:
    """Upload the files under ``local_root`` to ``remote_root``: each to a temp key, then committed.

    YAML sidecars go last, so no YAML is ever visible before the model it describes. Relative paths for
    which ``skip`` is true (files that came from the remote side) are not uploaded. Returns what was.
    """
    store = remote_storage(remote_root)
    files = sorted(
        (
            p
            for p in local_root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(local_root).parts)
        ),
        key=lambda p: (p.suffix == ".yaml", str(p)),
    )
    uploaded: list[str] = []
    for local in files:
        rel = local.relative_to(local_root).as_posix()
        if skip(rel):
            continue

        def copy(f: BinaryIO, source: Path = local) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, f, _COPY_CHUNK)

        store.atomic_write(remote_root / rel, copy)
        uploaded.append(rel)
    return uploaded


def any_remote(*values: object) -> bool:
    return any(is_remote(v) for v in values)


__all__ = ["PathOrURL", "RemoteMigration", "any_remote", "local_files", "upload_tree", "walk_files"]
