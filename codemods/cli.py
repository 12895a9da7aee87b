"""`simple-ckpt codemod PATH...`: rewrite legacy call sites in place, or show the diff, then summarise.

Imports only the standard library, click and the codemods package (libcst), never torch. Exit codes: 0 when
every file was processed, 1 when any file failed (unreadable, not UTF-8, syntax error, not writable), 2 for
usage errors. Failures never stop the run: every other file is still processed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from simple_ckpt.errors import SimpleCkptError, UsageError

DECISION_F1 = (
    "a PolicyRecord at a function boundary is the checkpoint path (str): rec.uri -> path, "
    "rec.metadata -> simple_ckpt.read_metadata(path), rec.policy -> simple_ckpt.load_agent_from(path); "
    "a record kept on self keeps the path, its agent is loaded once in __init__"
)


@click.command("codemod")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff instead of writing files.")
@click.option("--dry-run", is_flag=True, help="Write nothing; only print the summary.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes.")
@click.option(
    "--target-module",
    default="simple_ckpt",
    show_default=True,
    help="Module the new API is imported from (`from <module> import SimpleCheckpointManager`).",
)
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write a JSON report here.")
@click.option(
    "--no-verify",
    is_flag=True,
    help="Skip the post-conditions (parses, no new undefined names, only methods the manager has).",
)
@click.option(
    "--verify-idempotent",
    is_flag=True,
    help="Also check that a second run changes nothing (runs every rule twice per changed file).",
)
def codemod_command(
    paths: tuple[str, ...],
    show_diff: bool,
    dry_run: bool,
    jobs: int,
    target_module: str,
    report_path: str | None,
    no_verify: bool,
    verify_idempotent: bool,
) -> None:
    """Rewrite legacy policy-store call sites under PATH... to the simple_ckpt API.

    Where no safe rewrite exists the code is left as it is and the statement gets a
    `# TODO(simple-ckpt): <what to decide>` comment. Files are replaced atomically.

    Decision F1: a PolicyRecord at a function boundary becomes the checkpoint path (str);
    the agent is loaded with simple_ckpt.load_agent_from(path), metadata read with
    simple_ckpt.read_metadata(path).
    """
    if show_diff and dry_run:
        raise UsageError("--diff and --dry-run are mutually exclusive")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if not target_module.replace(".", "_").isidentifier():
        raise UsageError(f"--target-module {target_module!r} is not a module name")
    from codemods.work_list import work_list_in_background

    listing = work_list_in_background(paths)  # scans the tree while libcst is imported below
    from codemods.driver import Options, run

    options = Options(
        target_module=target_module,
        write=not (show_diff or dry_run),
        want_diff=show_diff,
        verify=not no_verify,
    )
    outcome = run(list(paths), options, jobs=jobs, prepared=listing() if listing else None)
    if show_diff:
        for result in outcome.results:
            if result.diff:
                click.echo(result.diff, nl=False)
    summary = summarise(outcome, written=options.write)
    click.echo("\n".join(summary["lines"]), err=show_diff)
    if report_path:
        _write_report(Path(report_path), summary["report"])
    if outcome.failed or outcome.problems:
        raise SystemExit(1)


def summarise(outcome: object, *, written: bool) -> dict[str, object]:
    """The printed summary lines and the JSON report of a run."""
    from codemods.driver import RunResult

    assert isinstance(outcome, RunResult)
    results = outcome.results
    changed = [r for r in results if r.changed]
    rewrites: Counter[str] = Counter()
    for r in results:
        rewrites.update(r.rewrites)
    todos = sum(r.todos_added for r in results)
    reports = [(r.path, item) for r in results for item in r.reports]
    internal = [r for r in results if r.legacy_internal]
    before = sum(r.legacy_lines_before for r in results)
    after = sum(r.legacy_lines_after for r in results)
    ratio = (before - after) / before if before else 1.0
    verb = "changed" if written else "would change"
    lines = [
        f"simple-ckpt codemod: {outcome.files_seen} Python files, {outcome.candidates} candidates, "
        f"{len(changed)} files {verb}",
        "rewrites per rule:" if rewrites else "rewrites per rule: none",
        *[f"  {name}: {count}" for name, count in sorted(rewrites.items())],
        f"TODOs inserted: {todos}",
        *[f"  {r.path}:{item}" for r in changed for item in r.todos],
        f"items reported: {len(reports)}",
        *[f"  {path}: {item}" for path, item in reports],
        f"legacy-internal modules to delete: {len(internal)}",
        *[f"  {r.path} (defines {', '.join(r.legacy_internal)})" for r in internal],
        f"lines naming a legacy symbol in surviving files: {before} before, {after} after "
        f"({ratio:.1%} rewritten mechanically)",
        f"decision F1: {DECISION_F1}",
    ]
    failures = [f"{r.path}: {r.error}" for r in outcome.failed] + list(outcome.problems)
    if failures:
        lines.append(f"failed: {len(failures)}")
        lines.extend(f"  {line}" for line in failures)
    report = {
        "files_scanned": outcome.files_seen,
        "candidates": outcome.candidates,
        "files_changed": [r.path for r in changed],
        "rewrites_per_rule": dict(sorted(rewrites.items())),
        "todos_inserted": todos,
        "todos": {r.path: r.todos for r in changed if r.todos},
        "reported": [{"path": path, "item": item} for path, item in reports],
        "legacy_internal_modules": {r.path: r.legacy_internal for r in internal},
        "fallbacks": {r.path: r.fallback for r in results if r.fallback},
        "legacy_lines": {"before": before, "after": after, "rewritten_fraction": round(ratio, 4)},
        "decisions": {"F1": DECISION_F1},
        "failed": failures,
    }
    return {"lines": lines, "report": report}


def _write_report(path: Path, report: object) -> None:
    from codemods.writes import atomic_write_text

    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    try:
        atomic_write_text(path, text, path.read_bytes() if path.exists() else None)
    except OSError as exc:
        raise SimpleCkptError(f"{path}: cannot write the report: {exc.strerror or exc}") from exc
