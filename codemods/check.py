"""`simple-ckpt check`: every remaining legacy reference under some PATHs, as data.

discover -> read bytes -> prefilter -> (candidates only) decode + ``ast`` parse -> precise pass ->
TODO markers turn the findings of a marked statement into one ``manual`` finding. Files that cannot be
read, are not valid text in their declared encoding, or do not parse are reported once each and skipped;
nothing else stops the run. Large trees are split across forked worker processes (one per core).
Imports only the standard library, PyYAML and this package (no torch, no
libcst), so checking a large tree costs little more than reading it.
"""

from __future__ import annotations

import ast
import io
import multiprocessing
import os
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from codemods.check_docs import scan_python_comments, scan_text
from codemods.check_python import find_references, legacy_module_of_file
from codemods.discover import SourceFile, discover
from codemods.findings import Finding
from codemods.legacy_table import LegacyTable, load_table
from codemods.markers import TODO_PATTERN, TODO_TAG
from codemods.prefilter import Prefilter

# Below this many files, forking workers costs more than it saves.
PARALLEL_MIN_FILES = 2000
MAX_WORKERS = 8
VISITOR_RECURSION_LIMIT = 20_000
MARKER_TEXT = re.compile(re.escape(TODO_TAG) + r":\s*(.*)$")


@dataclass
class CheckReport:
    """What a check run found, and how much it looked at."""

    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    candidates: int = 0

    def severity(self, finding: Finding, table: LegacyTable) -> str:
        rule = table.rules.get(finding.rule)
        return rule.severity if rule else "error"

    def failed(self, table: LegacyTable) -> bool:
        """True when any finding fails the check (everything but information)."""
        return any(self.severity(f, table) != "info" for f in self.findings)


def run_check(
    paths: Iterable[str | Path], *, include_docs: bool = False, table: LegacyTable | None = None
) -> CheckReport:
    """Scan ``paths`` and return every finding, sorted by file, line and column."""
    table = table or load_table()
    discovery = discover(paths, include_docs=include_docs)
    report = CheckReport(files_scanned=len(discovery.files))
    for problem in discovery.problems:
        rule = "skipped" if problem.harmless else "unreadable"
        report.findings.append(Finding(str(problem.path), 1, 1, rule, problem.problem))
    workers = _worker_count(len(discovery.files))
    if workers > 1:
        results = _scan_in_parallel(table, discovery.files, include_docs, workers)
    else:
        results = [_scan_files(table, discovery.files, include_docs)]
    for findings, candidates in results:
        report.findings.extend(findings)
        report.candidates += candidates
    report.findings.sort(key=lambda f: (f.path, f.line, f.col, f.rule, f.message))
    return report


def _worker_count(n_files: int) -> int:
    """Processes to scan with: one for small inputs, else one per available core (fork only)."""
    if n_files < PARALLEL_MIN_FILES or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


_FORKED_TABLE: LegacyTable | None = None


def _scan_in_parallel(
    table: LegacyTable, files: list[SourceFile], include_docs: bool, workers: int
) -> list[tuple[list[Finding], int]]:
    """The parent scans one share itself while forked children scan the others; the children inherit
    the table (nothing to pickle) and send back only their findings."""
    global _FORKED_TABLE
    chunks = [files[i::workers] for i in range(workers)]
    _FORKED_TABLE = table
    try:
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            pending = [pool.apply_async(_scan_files_forked, (chunk, include_docs)) for chunk in chunks[1:]]
            results = [_scan_files(table, chunks[0], include_docs)]
            return results + [job.get() for job in pending]
    finally:
        _FORKED_TABLE = None


def _scan_files_forked(files: list[SourceFile], include_docs: bool) -> tuple[list[Finding], int]:
    assert _FORKED_TABLE is not None, "only called in a child forked by run_check"
    return _scan_files(_FORKED_TABLE, files, include_docs)


def _scan_files(table: LegacyTable, files: list[SourceFile], include_docs: bool) -> tuple[list[Finding], int]:
    """The findings of some files and how many of them were parsed (one worker's share)."""
    prefilter = Prefilter(table)
    findings: list[Finding] = []
    counter = CheckReport()
    for source in files:
        path = str(source.path)
        try:
            data = source.path.read_bytes()
        except OSError as exc:
            findings.append(Finding(path, 1, 1, "unreadable", f"cannot read: {_reason(exc)}"))
            continue
        try:
            if source.is_python:
                findings.extend(_check_python(table, prefilter, path, data, counter, include_docs))
            else:
                findings.extend(_check_docs(table, path, data))
        except Exception as exc:  # a bug on one file must not hide the findings of the others
            findings.append(
                Finding(path, 1, 1, "internal-error", f"check failed here: {type(exc).__name__}: {exc}")
            )
    return findings, counter.candidates


def check_source(table: LegacyTable, path: str, source: str, *, include_docs: bool = False) -> list[Finding]:
    """The findings of one Python source text (no prefilter): the pass `run_check` applies to candidates."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        line, col = exc.lineno or 1, exc.offset or 1
        return [Finding(path, line, col, "syntax-error", f"does not parse: {exc.msg}")]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [Finding(path, 1, 1, "syntax-error", f"does not parse: {_parser_failure(exc)}")]
    try:
        with _deep_recursion():
            findings = find_references(table, path, source, tree)
    except RecursionError:
        return [Finding(path, 1, 1, "syntax-error", "nested too deeply to analyse; check it by hand")]
    if include_docs:
        findings += scan_python_comments(table, path, source)
    return apply_markers(path, source, findings)


def _parser_failure(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply for the Python parser"
    if isinstance(exc, MemoryError):
        return "too large for the Python parser"
    return str(exc)


@contextmanager
def _deep_recursion(limit: int = VISITOR_RECURSION_LIMIT) -> Iterator[None]:
    """Let the visitor follow what the parser accepted (deep expression chains need > 1000 frames).

    Python 3.11+ runs Python-to-Python calls without C stack, so a higher limit is safe here."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _check_python(
    table: LegacyTable, prefilter: Prefilter, path: str, data: bytes, report: CheckReport, include_docs: bool
) -> list[Finding]:
    source = _decode_python(data)
    if isinstance(source, Finding):
        return [Finding(path, 1, 1, source.rule, source.message)]
    if not prefilter.matches(data) and legacy_module_of_file(table, path) is None:
        return []
    report.candidates += 1
    return check_source(table, path, source, include_docs=include_docs)


def _decode_python(data: bytes) -> str | Finding:
    """The text of a Python file in its declared encoding (PEP 263), or an ``unreadable`` finding."""
    if data.isascii():
        return data.decode("ascii")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "missing encoding declaration" not in str(exc):
            return Finding("", 1, 1, "unreadable", f"bad encoding declaration: {exc}")
        encoding = "utf-8"  # the first lines are not UTF-8 and declare nothing: report where decoding fails
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        return Finding("", 1, 1, "unreadable", f"bad encoding declaration: {exc}")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Finding("", 1, 1, "unreadable", f"not valid {exc.encoding} (byte {exc.start}, line {line})")
    return text[1:] if text.startswith("\ufeff") else text


def _check_docs(table: LegacyTable, path: str, data: bytes) -> list[Finding]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [Finding(path, 1, 1, "unreadable", f"not valid UTF-8 (byte {exc.start}, line {line})")]
    return scan_text(table, path, text)


def apply_markers(path: str, source: str, findings: list[Finding]) -> list[Finding]:
    """Turn the findings of every statement carrying the TODO marker into one ``manual`` finding.

    A marker is a comment (not a string that mentions it). It belongs to a statement when it sits on one
    of the statement's (header) lines, where the codemod puts it, or in the block of comment lines
    directly above it. A marker that belongs to no statement with findings is listed on its own line: it
    still asks a person to decide something."""
    if TODO_TAG not in source:
        return findings
    markers = _comment_markers(source)
    if not markers:
        return findings
    lines = source.splitlines()
    kept: list[Finding] = []
    marked: dict[tuple[int, int], list[Finding]] = {}
    claimed: dict[tuple[int, int], int] = {}
    for finding in findings:
        marker_line = _marker_for(finding, lines, markers) if finding.stmt_start else None
        if marker_line is None:
            kept.append(finding)
            continue
        span = (finding.stmt_start, finding.stmt_end)
        marked.setdefault(span, []).append(finding)
        claimed[span] = marker_line
    for span, group in marked.items():
        first = min(group, key=lambda f: (f.line, f.col))
        rules = ", ".join(sorted({f.rule for f in group}))
        text = markers[claimed[span]][1]
        kept.append(Finding(path, first.line, first.col, "manual", f"{text} (legacy: {rules})", *span))
    used = set(claimed.values())
    for line_number, (col, text) in sorted(markers.items()):
        if line_number not in used:
            kept.append(Finding(path, line_number, col + 1, "manual", text))
    return kept


def _comment_markers(source: str) -> dict[int, tuple[int, str]]:
    """Line -> (column, text to decide) of every TODO marker comment."""
    markers: dict[int, tuple[int, str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and (match := TODO_PATTERN.search(token.string)):
                markers[token.start[0]] = (token.start[1] + match.start(), _marker_text(token.string))
    except (tokenize.TokenError, SyntaxError):  # the source parsed, so this is unexpected: use lines
        for number, line in enumerate(source.splitlines(), start=1):
            if match := TODO_PATTERN.search(line):
                markers[number] = (match.start(), _marker_text(line))
    return markers


def _marker_for(finding: Finding, lines: list[str], markers: dict[int, tuple[int, str]]) -> int | None:
    for number in range(finding.stmt_start, finding.stmt_end + 1):
        if number in markers:
            return number
    number = finding.stmt_start - 1
    while number >= 1 and lines[number - 1].lstrip().startswith("#"):
        if number in markers:
            return number
        number -= 1
    return None


def _marker_text(comment: str) -> str:
    match = MARKER_TEXT.search(comment)
    text = match.group(1).strip() if match else ""
    return text or "marked for a person to decide"


def _reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else type(exc).__name__
