"""Find the files `check` and `codemod` look at: walk the PATHs given on the command line.

Python sources always; with ``include_docs`` also Markdown, YAML and shell files (which `check` scans as
text). Vendored and generated trees (``.git``, virtualenvs, ``node_modules``, caches, build output) are
skipped. The order is deterministic (depth first in name order, i.e. sorted by path) so reports and benchmarks are reproducible.
Problems (a missing path, a symlink loop, an unreadable directory or a dangling link) are collected and
returned next to the files; they never stop the walk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PYTHON_SUFFIXES = frozenset({".py", ".pyi"})
DOCS_SUFFIXES: dict[str, str] = {".md": "markdown", ".yaml": "yaml", ".yml": "yaml", ".sh": "shell"}
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        ".eggs",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "site-packages",
    }
)


@dataclass(frozen=True)
class SourceFile:
    """A file to scan. ``kind`` is "python", "markdown", "yaml" or "shell". ``root``: the directory given
    that it was found under (None for a file given itself). ``link_target``: where it really is, when the
    path found is a symlink to a file (rewriting ``path`` would replace the link, not the file)."""

    path: Path
    kind: str
    root: Path | None = None
    link_target: Path | None = None

    @property
    def is_python(self) -> bool:
        return self.kind == "python"


@dataclass(frozen=True)
class DiscoveryProblem:
    """A path that could not be walked, with a one-line reason.

    ``harmless`` problems (symlink loops, dangling links) cannot hide source code; the others (a missing
    path, an unreadable directory) can."""

    path: Path
    problem: str
    harmless: bool = False


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    problems: list[DiscoveryProblem] = field(default_factory=list)


def is_skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(".egg-info")


def kind_of(path: Path, *, include_docs: bool, explicit: bool) -> str | None:
    """The kind of a file, or None when it is not scanned.

    A file named explicitly (pre-commit passes Python scripts without a suffix) counts as Python unless it
    has a docs suffix."""
    suffix = path.suffix.lower()
    if suffix in PYTHON_SUFFIXES:
        return "python"
    if suffix in DOCS_SUFFIXES:
        return DOCS_SUFFIXES[suffix] if include_docs else None
    return "python" if explicit else None


def discover(paths: Iterable[str | os.PathLike[str]], *, include_docs: bool = False) -> Discovery:
    """Every file under ``paths`` to scan, in a deterministic order, and every problem met. A file reached
    twice (named twice, in overlapping directories, through a link) is listed once, where first met."""
    result = Discovery()
    seen_files: set[tuple[int, int]] = set()
    for raw in paths:
        root = Path(raw)
        try:
            st = root.stat()
        except FileNotFoundError:
            problem = "dangling symlink" if root.is_symlink() else "no such file or directory"
            result.problems.append(DiscoveryProblem(root, problem))
            continue
        except OSError as exc:
            result.problems.append(DiscoveryProblem(root, _reason(exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(root, include_docs, result, seen_files)
        elif stat.S_ISREG(st.st_mode):
            kind = kind_of(root, include_docs=include_docs, explicit=True)
            if kind is not None and (st.st_dev, st.st_ino) not in seen_files:
                seen_files.add((st.st_dev, st.st_ino))
                result.files.append(SourceFile(root, kind, None, _link_target(root, root.is_symlink())))
        else:
            result.problems.append(DiscoveryProblem(root, "not a regular file or directory"))
    return result


def _walk(root: Path, include_docs: bool, result: Discovery, seen_files: set[tuple[int, int]]) -> None:
    # Depth first in name order, so the files come out sorted by path. `ancestors` holds the (dev, inode)
    # of the directories on the current path: a symlink pointing back up is a loop; the same directory
    # reached twice through different links is walked once (`seen_dirs`).
    seen_dirs: set[tuple[int, int]] = set()

    def visit_dir(directory: Path, ancestors: tuple[tuple[int, int], ...]) -> None:
        try:
            st = directory.stat()
        except OSError as exc:
            result.problems.append(DiscoveryProblem(directory, _reason(exc)))
            return
        ident = (st.st_dev, st.st_ino)
        if ident in ancestors:
            result.problems.append(DiscoveryProblem(directory, "symlink loop, not followed", harmless=True))
            return
        if ident in seen_dirs:
            return
        seen_dirs.add(ident)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.problems.append(DiscoveryProblem(directory, _reason(exc)))
            return
        chain = (*ancestors, ident)
        for entry in entries:
            visit_entry(entry, chain)

    def visit_entry(entry: os.DirEntry[str], chain: tuple[tuple[int, int], ...]) -> None:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
            is_file = not is_dir and entry.is_file(follow_symlinks=True)
        except OSError as exc:
            result.problems.append(DiscoveryProblem(path, _reason(exc)))
            return
        if is_dir:
            if not is_skipped_dir(entry.name):
                visit_dir(path, chain)
            return
        kind = kind_of(path, include_docs=include_docs, explicit=False)
        if kind is None:
            return
        if not is_file:
            if entry.is_symlink():
                result.problems.append(DiscoveryProblem(path, "dangling symlink", harmless=True))
            return
        try:
            fst = entry.stat(follow_symlinks=True)
        except OSError as exc:
            result.problems.append(DiscoveryProblem(path, _reason(exc)))
            return
        key = (fst.st_dev, fst.st_ino)
        if key not in seen_files:
            seen_files.add(key)
            result.files.append(SourceFile(path, kind, root, _link_target(path, entry.is_symlink())))

    visit_dir(root, ())


def _link_target(path: Path, is_symlink: bool) -> Path | None:
    return Path(os.path.realpath(path)) if is_symlink else None


def _reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else type(exc).__name__
