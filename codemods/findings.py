"""One finding of `simple-ckpt check`, shared by the Python pass, the docs pass and the formatters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """A legacy reference (or a file problem) at ``path:line:col`` (1-based, columns in characters).

    ``stmt_start``/``stmt_end`` delimit the header of the statement the reference sits in (used to attach
    TODO markers to it); they are 0 for findings that are not inside a Python statement."""

    path: str
    line: int
    col: int
    rule: str
    message: str
    stmt_start: int = 0
    stmt_end: int = 0
