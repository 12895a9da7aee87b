"""The `simple-ckpt check` command: list remaining legacy references, exit 1 if there are any.

Output formats: ``text`` (``file:line:col rule-id message``, a summary on stderr), ``json`` (one object),
``github`` (workflow annotations: ``::error`` for findings, ``::warning`` for lines a person must decide,
``::notice`` for information). ``--emit-ruff-config`` prints the generated Ruff banned-api block instead.
Imports neither torch nor libcst.
"""

from __future__ import annotations

import json
import sys

import click

from codemods.check import CheckReport, run_check
from codemods.findings import Finding
from codemods.legacy_table import LegacyTable, load_table
from simple_ckpt.errors import UsageError

GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="How findings are printed.",
)
@click.option(
    "--include-docs", is_flag=True, help="Also scan Markdown, YAML and shell files (and Python comments)."
)
@click.option(
    "--emit-ruff-config", is_flag=True, help="Print a Ruff banned-api block built from the legacy table."
)
def check_command(
    paths: tuple[str, ...], output_format: str, include_docs: bool, emit_ruff_config: bool
) -> None:
    """List every remaining legacy reference under PATH... (exit 1 if any, 0 if none).

    \b
    Rule ids (see codemods/legacy.yaml, `rules:`):
      SC001 legacy-import   SC002 legacy-name      SC003 legacy-method
      SC004 legacy-keyword  SC005 legacy-checkpoint-manager  SC006 legacy-export
      SC007 legacy-module-file
      SC101 docs-legacy-name  SC102 docs-legacy-uri  SC103 legacy-comment (info)
      manual (a TODO(simple-ckpt) marker)  unreadable  syntax-error  internal-error
      skipped (symlink loop / dangling link; info)
    """
    table = load_table()
    if emit_ruff_config:
        from codemods.ruff_config import emit_ruff_config as emit

        click.echo(emit(table), nl=False)
        if not paths:
            return
    if not paths:
        raise UsageError("check: give at least one PATH (file or directory)")
    report = run_check(paths, include_docs=include_docs, table=table)
    if output_format == "json":
        click.echo(format_json(report, table))
    elif output_format == "github":
        for line in format_github(report, table):
            click.echo(line)
    else:
        for finding in report.findings:
            click.echo(format_text(finding))
        click.echo(summary(report, table), err=True)
    sys.exit(1 if report.failed(table) else 0)


def format_text(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.col} {finding.rule} {finding.message}"


def summary(report: CheckReport, table: LegacyTable) -> str:
    failing = [f for f in report.findings if report.severity(f, table) != "info"]
    files = len({f.path for f in failing})
    if not failing:
        return f"simple-ckpt check: no legacy references ({report.files_scanned} files scanned)"
    return (
        f"simple-ckpt check: {len(failing)} legacy reference(s) in {files} file(s) "
        f"({report.files_scanned} files scanned, {report.candidates} parsed)"
    )


def format_json(report: CheckReport, table: LegacyTable) -> str:
    findings = []
    for f in report.findings:
        rule = table.rules.get(f.rule)
        findings.append(
            {
                "path": f.path,
                "line": f.line,
                "col": f.col,
                "rule": f.rule,
                "name": rule.name if rule else f.rule,
                "severity": report.severity(f, table),
                "message": f.message,
            }
        )
    return json.dumps(
        {
            "findings": findings,
            "files_scanned": report.files_scanned,
            "candidates": report.candidates,
            "failed": report.failed(table),
        },
        indent=2,
    )


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: CheckReport, table: LegacyTable) -> list[str]:
    lines = []
    for f in report.findings:
        level = GITHUB_LEVEL[report.severity(f, table)]
        rule = table.rules.get(f.rule)
        title = f"{f.rule} {rule.name}" if rule and rule.name != f.rule else f.rule
        props = f"file={_escape_property(f.path)},line={f.line},col={f.col},title={_escape_property(title)}"
        lines.append(f"::{level} {props}::{_escape_data(f.message)}")
    return lines
