"""The `simple-ckpt` command: one click group, commands contributed by each package.

Commands are registered by import path and imported only when invoked, so `simple-ckpt check` never pays
for importing torch. Each package owns its commands (`simple_ckpt.commands`, `migrate.cli`,
`codemods.cli`); this module only knows where they live. Errors derived from `SimpleCkptError` become one
line on stderr and the error's exit code; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from simple_ckpt.errors import SimpleCkptError

# name -> "module:attribute" of a click.Command. Kept sorted by package so each package's block is its own.
COMMANDS: dict[str, str] = {
    # simple_ckpt: the manager's read-only views and retention.
    "ls": "simple_ckpt.commands:ls_command",
    "best": "simple_ckpt.commands:best_command",
    "show": "simple_ckpt.commands:show_command",
    "prune": "simple_ckpt.commands:prune_command",
    "demo": "simple_ckpt.journey:demo_command",
    # migrate: legacy data -> new layout.
    "migrate": "migrate.cli:migrate_command",
    "inspect": "migrate.inspect:inspect_command",
    # codemods: legacy code -> new API.
    "codemod": "codemods.cli:codemod_command",
    "check": "codemods.check_cli:check_command",
}

SHORT_HELP: dict[str, str] = {
    "ls": "List the checkpoints of a run dir (from the YAML sidecars).",
    "best": "Print the best checkpoint of a run dir by a metric.",
    "show": "Show a checkpoint's metadata and a parameter summary.",
    "prune": "Delete old checkpoints, keeping the newest and the best.",
    "demo": "Run the built-in example end to end in a temporary folder.",
    "migrate": "Convert legacy checkpoints to the simple_ckpt layout, verified.",
    "inspect": "Describe legacy checkpoint files without running anything they carry.",
    "codemod": "Rewrite legacy call sites to the simple_ckpt API.",
    "check": "List every remaining legacy reference (exit 1 if any).",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return _unavailable(cmd_name, f"{module_name} is not part of this build")
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing commands must not import them (torch, libcst): use the static short help.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SimpleCkptError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"simple-ckpt: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _unavailable(name: str, why: str) -> click.Command:
    @click.command(name=name, help=why)
    def stub() -> None:
        raise SimpleCkptError(f"command {name!r} is unavailable: {why}")

    return stub


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="simple-ckpt")
def main(debug: bool) -> None:
    """simple-ckpt: move PyTorch RL checkpoints and code off a legacy policy store, safely.

    \b
    Checkpoints live in RUN_DIR/checkpoints/ as model_NNNN.pt + model_NNNN.yaml,
    with trainer_state.pt beside them. Exit codes: 0 success, 1 failure (or
    findings, for check), 2 usage error.
    """


def run() -> None:
    """Entry point for `python -m simple_ckpt`."""
    main(prog_name="simple-ckpt")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
