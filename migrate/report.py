"""The outcome of a migration, per file, as a table for people and JSON for tools.

Every discovered file ends in exactly one status: ``converted``, ``already-converted`` (a rerun found
its verified output, by the source's sha256), ``skipped`` (with the reason: not a checkpoint, not a
legacy file) or ``failed`` (with the one-line error). Dry runs and ``--check`` use ``would-convert``.
The exit code follows from the statuses: 1 if anything failed (or, under ``--check``, would be
converted), else 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

CONVERTED = "converted"
ALREADY = "already-converted"
SKIPPED = "skipped"
FAILED = "failed"
WOULD_CONVERT = "would-convert"


@dataclass
class FileResult:
    source: str  # relative to the input root
    path: str  # absolute path that was read
    kind: str  # "policy" | "trainer_state"
    run: str
    status: str
    size: int = 0
    sha256: str | None = None
    generation: str | None = None
    mode: str | None = None  # "module" | "weights-only"
    layout: str | None = None
    metadata_set: str | None = None
    outputs: list[str] = field(default_factory=list)
    reason: str | None = None  # skip reason or error
    warnings: list[str] = field(default_factory=list)
    fallback: str | None = None  # why weights-only was forced
    recovered: dict[str, Any] = field(default_factory=dict)
    unrecovered: list[str] = field(default_factory=list)
    globals: list[dict[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    tensors_verified: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    results: list[FileResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # discovery problems (symlink loops, unreadable dirs)
    new_layout_files: int = 0
    dry_run: bool = False
    check: bool = False

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    def fallbacks(self) -> list[FileResult]:
        return [r for r in self.results if r.fallback and r.status in (CONVERTED, WOULD_CONVERT)]

    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        if FAILED in statuses:
            return 1
        if self.check and WOULD_CONVERT in statuses:
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.counts(),
            "exit_code": self.exit_code(),
            "weights_only_fallbacks": [r.source for r in self.fallbacks()],
            "new_layout_files": self.new_layout_files,
            "problems": list(self.problems),
            "files": [r.to_json() for r in self.results],
        }

    def write_json(self, path: Path) -> None:
        from simple_ckpt.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json(), indent=2, sort_keys=False, default=str) + "\n")

    def summary_line(self) -> str:
        counts = self.counts()
        order = (CONVERTED, ALREADY, WOULD_CONVERT, SKIPPED, FAILED)
        parts = [
            f"{counts.get(status, 0)} {status}"
            for status in order
            if counts.get(status) or status in (CONVERTED, FAILED)
        ]
        line = ", ".join(parts)
        if self.new_layout_files:
            line += f"; {self.new_layout_files} file(s) already in the simple_ckpt layout"
        return line

    def print_table(self, out: TextIO) -> None:
        if not self.results:
            out.write("no legacy checkpoint files found\n")
        else:
            width = min(max(len(r.source) for r in self.results), 70)
            status_width = max(len(r.status) for r in self.results)
            for r in self.results:
                note = r.reason or (r.outputs[0] if r.outputs else "")
                tags = []
                if r.generation:
                    tags.append(r.generation)
                if r.mode:
                    tags.append(r.mode)
                if r.layout and "->" in r.layout:
                    tags.append(r.layout)
                tag = f" [{', '.join(tags)}]" if tags else ""
                out.write(f"{r.status:<{status_width}}  {r.source:<{width}}  {note}{tag}\n")
                for warning in r.warnings:
                    out.write(f"{'':<{status_width}}    warning: {warning}\n")
        for problem in self.problems:
            out.write(f"problem: {problem}\n")
        fallbacks = self.fallbacks()
        if fallbacks:
            out.write(
                f"WEIGHTS-ONLY: {len(fallbacks)} file(s) were written as weights-only payloads (their agent classes "
                "do not import here, or the source holds weights only); load them with agent_factory=...\n"
            )
        out.write(f"migrate: {self.summary_line()}\n")
