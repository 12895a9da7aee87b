"""``simple-ckpt migrate``: convert legacy checkpoints to the simple_ckpt layout, verified.

Usage checks happen here (exit 2); everything per file is reported by the runner, and the exit code is
1 when any file failed (or, with ``--check``, when anything would still be converted).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from simple_ckpt.errors import SimpleCkptError, UsageError
from simple_ckpt.remote_inputs import PathOrURL

# Helper packages whose objects legacy agents hold (OmegaConf configs, gym spaces, typing.Any inside
# configs). Where they are installed their real classes are used, so a module-mode checkpoint holds the
# same objects the agent had; where they are not, the reader stubs them and the file falls back to a
# weights-only payload.
HELPER_MODULES = ("omegaconf", "gymnasium", "typing")


@click.command(name="migrate")
@click.argument("paths", nargs=-1, type=PathOrURL())
@click.option(
    "--out",
    "out",
    metavar="DIR",
    type=PathOrURL(),
    help="Write the converted runs under DIR/<run>/ (a local dir or an s3://, gs://... URL).",
)
@click.option(
    "--in-place", is_flag=True, help="Convert inside each run dir; originals move to <run>/legacy/."
)
@click.option("--dry-run", is_flag=True, help="Write nothing; print what would be done.")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if anything would be converted.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Convert in N processes.")
@click.option("--weights-only", is_flag=True, help="Write weights-only payloads instead of pickled modules.")
@click.option(
    "--allow-module",
    "allow_modules",
    multiple=True,
    metavar="PREFIX",
    help="Also import real classes from modules starting with PREFIX (repeatable). Besides the agent's own "
    "package, the helper packages agents pickle (omegaconf, gymnasium, typing) are always allowed.",
)
@click.option(
    "--report",
    "report_path",
    metavar="FILE",
    type=click.Path(path_type=Path),
    help="Write a JSON report to FILE.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def migrate_command(
    paths: tuple[Path, ...],
    out: Path | None,
    in_place: bool,
    dry_run: bool,
    check: bool,
    jobs: int,
    weights_only: bool,
    allow_modules: tuple[str, ...],
    report_path: Path | None,
    quiet: bool,
) -> None:
    """Convert legacy checkpoints under PATH... (run dirs, train_dirs, checkpoints/ dirs, wandb artifact
    caches or single files) into RUN/checkpoints/model_NNNN.pt + .yaml + trainer_state.pt.

    \b
    Originals are never modified: the output goes to --out DIR, or with --in-place
    the originals are first moved to <run>/legacy/. Every conversion is verified
    tensor for tensor before it counts; a rerun skips what is already converted.
    """
    from migrate.plan import Options, overlaps
    from migrate.runner import run_migration
    from simple_ckpt.remote_inputs import RemoteMigration, any_remote

    if not paths:
        raise UsageError("migrate: give at least one PATH (a run dir, train_dir, checkpoints dir or file)")
    if in_place and any_remote(*paths):
        raise UsageError("migrate: --in-place works on local run dirs only; use --out with remote PATHs")
    if any_remote(*paths, out):  # object storage: convert local copies, one file downloaded at a time
        with RemoteMigration(paths, out, upload=not (dry_run or check)) as local:
            ctx = click.get_current_context()
            ctx.meta[RemoteMigration.META_KEY] = local
            ctx.invoke(migrate_command, **{**ctx.params, "paths": tuple(local.paths), "out": local.out})
        return
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"migrate: no such file or directory: {', '.join(missing)}")
    if out is not None and in_place:
        raise UsageError("migrate: --out and --in-place exclude each other")
    if out is None and not (in_place or dry_run or check):
        raise UsageError("migrate: say where to write: --out DIR (a new directory) or --in-place")
    if report_path is not None and not report_path.parent.is_dir():
        raise UsageError(f"migrate: --report {report_path}: folder {report_path.parent} does not exist")
    if jobs < 1:
        raise UsageError(f"migrate: --jobs must be at least 1, got {jobs}")
    if out is not None:
        for path in paths:
            if overlaps(out, path):
                raise UsageError(
                    f"migrate: --out {out} overlaps the input {path}; choose a separate directory"
                )
        if out.exists() and not out.is_dir():
            raise UsageError(f"migrate: --out {out} exists and is not a directory")

    options = Options(
        out=out,
        in_place=in_place,
        dry_run=dry_run,
        check=check,
        jobs=jobs,
        weights_only=weights_only,
        allow_modules=tuple(dict.fromkeys((*HELPER_MODULES, *allow_modules))),
        progress=not quiet,
    )
    report = run_migration(list(paths), options)
    remote = click.get_current_context().meta.get(RemoteMigration.META_KEY)
    if remote is not None:
        remote.show_remote_names(report)  # the report names s3://... rather than the local copies
    if dry_run and not check:
        click.echo("dry run: nothing was written")
    report.print_table(sys.stdout)
    if report_path is not None:
        try:
            report.write_json(report_path)
        except OSError as exc:
            raise SimpleCkptError(
                f"migrate: cannot write the report {report_path}: {exc.strerror or exc}"
            ) from exc
    code = report.exit_code()
    if code:
        click.get_current_context().exit(code)
