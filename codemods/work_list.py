"""Which files a codemod run works on, decided without libcst, so it can run while libcst is imported.

``work_list(paths)`` discovers the Python files (each once, see ``codemods.discover``), applies the
symlink policy (a link to a file is rewritten at its target, and only inside the paths given) and keeps
the files the text prefilter accepts. Importing libcst and the rules takes the codemod command ~0.3 s on
one core, before any worker can start; ``work_list_in_background`` does this scan meanwhile in a forked
helper process, on the core that would otherwise wait. The prefilter is only a shortcut: every file is
checked again where it is processed, so a file that cannot be read here is kept (and reported there).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codemods.discover import discover
from codemods.prefilter import default_prefilter

WorkItem = tuple[str, "str | None"]  # (path to read and rewrite, root directory it was found under)


@dataclass
class WorkList:
    files_seen: int = 0  # Python files found
    problems: list[str] = field(default_factory=list)  # discovery problems, one line each
    items: list[WorkItem] = field(default_factory=list)  # the files to process
    prefiltered: bool = False  # items hold only the files the prefilter accepts


def work_list(paths: Sequence[str], *, prefilter: bool = True) -> WorkList:
    found = discover(paths)
    result = WorkList(problems=[f"{p.path}: {p.problem}" for p in found.problems], prefiltered=prefilter)
    given = [os.path.realpath(raw).rstrip(os.sep) or os.sep for raw in paths]
    accepts = default_prefilter().matches
    for file in found.files:
        if not file.is_python:
            continue
        path = str(file.path)
        if file.link_target is not None:
            # A symlink to a file is rewritten where the file really is (replacing the link would leave the
            # real file legacy), and only inside the paths given.
            target = str(file.link_target)
            if not any(target == r or target.startswith(r + os.sep) for r in given):
                result.problems.append(f"{path}: links to {target}, outside the paths given; not followed")
                continue
            path = target
        result.files_seen += 1
        if prefilter:
            try:
                if not accepts(Path(path).read_bytes()):
                    continue
            except OSError:
                pass  # kept: the worker reports it
        result.items.append((path, str(file.root) if file.root is not None else None))
    return result


def work_list_in_background(paths: Sequence[str]) -> Callable[[], WorkList | None] | None:
    """Start ``work_list(paths)`` in a forked helper process; the returned function waits for it and gives
    the list (None if the helper failed: list in this process then). None where fork is unavailable.
    Call it before importing libcst: the fork is then cheap, and the scan overlaps the import. A plain
    fork and pipe: no executor thread is left in this process to be inherited by later forks."""
    if not hasattr(os, "fork"):
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper: never returns into the caller's code
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(pickle.dumps(work_list(list(paths))))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def result() -> WorkList | None:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        return pickle.loads(data) if status == 0 and data else None

    return result


__all__ = ["WorkItem", "WorkList", "work_list", "work_list_in_background"]
