"""The text pass of `simple-ckpt check --include-docs`: legacy names and URI forms outside Python code.

Markdown, YAML and shell files are never parsed: a line-by-line regex scan for the legacy names (those not
ambiguous in prose), the legacy module paths, the legacy-only method and keyword names, and the URI forms / config keys of the table's ``docs``
section (``wandb://run/...``, ``pytorch://...``, ``policy_uri=``). Python comments (e.g. commented-out
legacy code) are scanned the same way but reported as information only.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from codemods.findings import Finding
from codemods.legacy_table import LegacyTable
from codemods.markers import TODO_PATTERN


@dataclass(frozen=True)
class DocsPatterns:
    names: re.Pattern[str]
    uris: list[tuple[re.Pattern[str], str]]
    whys: dict[str, str]


_COMPILED: dict[int, tuple[LegacyTable, DocsPatterns]] = {}


def _patterns(table: LegacyTable) -> DocsPatterns:
    """The compiled patterns of a table (cached per table object; tables hold dicts, so not hashable)."""
    cached = _COMPILED.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    compiled = _compile(table)
    _COMPILED[id(table)] = (table, compiled)
    return compiled


def _compile(table: LegacyTable) -> DocsPatterns:
    whys: dict[str, str] = {}
    for symbol in table.symbols:
        if symbol.docs:
            whys.setdefault(symbol.name, symbol.why)
    for module in table.legacy_modules:
        whys[module.name] = module.why
    for method in table.distinctive_methods.values():
        whys.setdefault(method.name, method.why)
    for keyword in table.keywords:
        whys.setdefault(keyword.name, keyword.why)
    words = sorted(whys, key=len, reverse=True)
    names = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")
    uris = [(re.compile(p.pattern), p.why) for p in table.docs_patterns]
    return DocsPatterns(names=names, uris=uris, whys=whys)


def scan_text(table: LegacyTable, path: str, text: str) -> list[Finding]:
    """Findings for a Markdown/YAML/shell file: SC101 for names and module paths, SC102 for URI forms."""
    patterns = _patterns(table)
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in patterns.names.finditer(line):
            word = match.group(0)
            findings.append(
                Finding(
                    path, number, match.start() + 1, "SC101", f"`{word}` mentioned: {patterns.whys[word]}"
                )
            )
        for pattern, why in patterns.uris:
            for match in pattern.finditer(line):
                shown = match.group(0).strip()
                findings.append(Finding(path, number, match.start() + 1, "SC102", f"`{shown}`: {why}"))
    return findings


def scan_python_comments(table: LegacyTable, path: str, source: str) -> list[Finding]:
    """SC103 (information) for Python comments naming legacy things, e.g. commented-out legacy code."""
    patterns = _patterns(table)
    findings: list[Finding] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return findings
    for token in tokens:
        if token.type != tokenize.COMMENT or TODO_PATTERN.search(token.string):
            continue
        match = patterns.names.search(token.string)
        if match is None:
            match = next((m for p, _ in patterns.uris if (m := p.search(token.string))), None)
        if match is not None:
            line, col = token.start
            findings.append(
                Finding(
                    path,
                    line,
                    col + 1,
                    "SC103",
                    f"`{match.group(0).strip()}` in a comment (not code; listed only)",
                )
            )
    return findings
