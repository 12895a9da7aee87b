"""`simple-ckpt demo`: the whole migration journey in a temporary folder, step by step.

Why: a team adopting simple-ckpt goes through the same path every time (train with the new manager;
convert the legacy run dirs; look at what came out; rewrite the code; list what is left). The demo runs
that path on a small but realistic input so that a new user sees every command, its output and its exit
code in under a minute, from an installed package:

1. ``train``: the tiny-policy train / save / "crash" / resume example of `simple_ckpt.demo`;
2. ``build``: a legacy ``train_dir`` (4 runs, generations L4 to N, `simple_ckpt._demo_legacy`) and a
   legacy mini-codebase (`simple_ckpt._demo_codebase`), written as the legacy code would have;
3. ``migrate`` into ``new_train_dir``, then ``migrate --check`` (nothing left to convert);
4. ``ls`` / ``best`` on the converted runs, and a weights-only checkpoint loaded back with an
   ``agent_factory``;
5. ``check`` (before), ``codemod``, deletion of the legacy modules, ``check`` (after: the TODO list).

Every CLI step runs the real `simple-ckpt` command in this process (its stdout is shown, long outputs
cut to their first lines and kept in full under ``logs/`` of the workspace); a table at the end sums up
exit codes, times and results. Workspace layout: the tiny policy's run dir is the workspace itself
(``checkpoints/``, as `simple-ckpt demo --keep DIR` always did), next to ``train_dir/``,
``new_train_dir/``, ``code/`` and ``logs/``. `prepare_workspace` builds step 2's input alone, for the
docs tests.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from simple_ckpt.errors import SimpleCkptError

TRAIN_DIR = "train_dir"
NEW_TRAIN_DIR = "new_train_dir"
CODE_DIR = "code"
LOGS = "logs"
HEAD_LINES = 8  # a long output shows its first HEAD_LINES and last TAIL_LINES lines
TAIL_LINES = 2


@dataclass
class StepResult:
    """One row of the final table."""

    name: str
    command: str
    exit_code: int
    seconds: float
    summary: str
    output: str = ""


@dataclass
class JourneyResult:
    workspace: Path
    steps: list[StepResult] = field(default_factory=list)

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


@dataclass(frozen=True)
class Workspace:
    """The input of the journey: a legacy train_dir and a legacy codebase under ``root``."""

    root: Path
    legacy_files: int
    runs: tuple[str, ...]
    code_files: int

    @property
    def train_dir(self) -> Path:
        return self.root / TRAIN_DIR

    @property
    def code(self) -> Path:
        return self.root / CODE_DIR


def prepare_workspace(root: Path, hidden: int = 32) -> Workspace:
    """Write ``root/train_dir`` (legacy runs) and ``root/code`` (legacy codebase); ``root`` may exist."""
    from simple_ckpt._demo_codebase import write_legacy_codebase
    from simple_ckpt._demo_legacy import build_legacy_train_dir

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    built = build_legacy_train_dir(root / TRAIN_DIR, hidden=hidden)
    code = write_legacy_codebase(root / CODE_DIR)
    return Workspace(root, len(built.files), tuple(built.runs), len(code))


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run_cli(args: Sequence[str]) -> tuple[int, str]:
    """Run ``simple-ckpt ARGS`` in this process; returns (exit code, stdout). stderr stays live."""
    from simple_ckpt.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            code = main.main(args=list(args), prog_name="simple-ckpt", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except SystemExit as exc:  # commands that end with sys.exit(code), e.g. check
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return (code if isinstance(code, int) else 0), buffer.getvalue()


class Journey:
    """Runs the steps over one workspace, echoing as it goes and recording a `StepResult` per step."""

    def __init__(self, root: Path, echo: Callable[[str], None], keep: bool, total: int) -> None:
        self.root = root
        self.echo = echo
        self.keep = keep
        self.total = total
        self.number = 0
        self.result = JourneyResult(root)
        (root / LOGS).mkdir(parents=True, exist_ok=True)

    def header(self, title: str) -> None:
        self.number += 1
        self.echo("")
        self.echo(click.style(f"[{self.number}/{self.total}] {title}", bold=True))

    def record(
        self, name: str, command: str, code: int, seconds: float, summary: str, output: str = ""
    ) -> None:
        self.result.steps.append(StepResult(name, command, code, seconds, summary, output))

    def cli(self, name: str, args: Sequence[str], expect: Sequence[int] = (0,)) -> StepResult:
        """Run one command from the workspace root, show its output (cut), record it."""
        command = "simple-ckpt " + " ".join(args)
        self.echo(f"$ {command}")
        start = time.perf_counter()
        with _cwd(self.root):
            code, output = run_cli(args)
        seconds = time.perf_counter() - start
        log = self.root / LOGS / f"{len(self.result.steps) + 1:02d}-{name}.txt"
        log.write_text(output)
        lines = output.rstrip("\n").splitlines()
        if len(lines) <= HEAD_LINES + TAIL_LINES + 1:
            shown, cut, tail = lines, 0, []
        else:
            shown, tail = lines[:HEAD_LINES], lines[-TAIL_LINES:]
            cut = len(lines) - HEAD_LINES - TAIL_LINES
        for line in shown:
            self.echo("  " + line)
        if cut:
            where = f"in {log}" if self.keep else "kept with --keep DIR"
            self.echo(f"  ... {cut} more lines (full output {where})")
        for line in tail:
            self.echo("  " + line)
        self.echo(f"  -> exit {code} in {seconds:.1f}s")
        summary = _summarise(name, code, output)
        self.record(name, command, code, seconds, summary, output)
        if code not in expect:
            raise SimpleCkptError(
                f"demo: `{command}` exited {code} (expected {' or '.join(map(str, expect))})"
            )
        return self.result.steps[-1]


_FINDING = re.compile(r"^\S+:\d+:\d+ \S+ ")


def _last_line(output: str, pattern: str) -> str:
    lines = [line for line in output.splitlines() if re.search(pattern, line)]
    return lines[-1].strip() if lines else ""


def _summarise(name: str, code: int, output: str) -> str:
    if name.startswith("migrate"):
        return _last_line(output, r"^migrate:") or _last_line(output, r"\S") or f"exit {code}"
    if name.startswith("check"):
        findings = [line.split() for line in output.splitlines() if _FINDING.match(line)]
        files = {f[0].split(":")[0] for f in findings}
        todos = sum(1 for f in findings if f[1] == "manual")
        return f"{len(findings)} legacy references in {len(files)} files ({todos} are TODO markers)"
    if name == "codemod":
        return _last_line(output, r"files changed") + "; " + _last_line(output, r"TODOs inserted")
    if name.startswith("best"):
        return Path(output.strip()).name if output.strip() else f"exit {code}"
    lines = [line for line in output.splitlines() if line.strip()]
    return f"{max(len(lines) - 1, 0)} checkpoints listed"


def _step_train(j: Journey, epochs: int) -> None:
    from simple_ckpt.demo import run_demo

    j.header("train a tiny policy with SimpleCheckpointManager, crash, resume (simple_ckpt.demo)")
    start = time.perf_counter()
    ctx = run_demo(j.root, epochs_per_phase=epochs, echo=lambda line: j.echo("  " + line))
    best = ctx.notes.get("best")
    j.record(
        "train",
        "(python) SimpleCheckpointManager save/resume",
        0,
        time.perf_counter() - start,
        f"{2 * epochs} epochs saved, resumed once; best {Path(best).name if best else '-'}",
    )


def _step_build(j: Journey, hidden: int) -> Workspace:
    j.header("write a legacy train_dir and a legacy codebase (what a team has before migrating)")
    j.echo(
        "  writing them in a subprocess that has stand-ins of the legacy classes (this process never does) ..."
    )
    start = time.perf_counter()
    ws = prepare_workspace(j.root, hidden=hidden)
    from simple_ckpt._demo_legacy import DEMO_RUNS, TRAINER_GENERATION

    for run in ws.runs:
        epochs = DEMO_RUNS[run]
        generations = "/".join(dict.fromkeys(g for _, g in epochs))
        names = sorted(p.name for p in (ws.train_dir / run / "checkpoints").glob("*.pt"))
        example = next(n for n in names if n != "trainer_state.pt")
        j.echo(
            f"  {TRAIN_DIR}/{run}: {len(epochs)} checkpoints [{generations}] (e.g. {example}) "
            f"+ trainer_state.pt [{TRAINER_GENERATION[epochs[-1][1]]}]"
        )
    j.echo(f"  {CODE_DIR}/: {ws.code_files} files of a training codebase using PolicyStore & co.")
    j.record(
        "build",
        "(python) legacy train_dir + codebase",
        0,
        time.perf_counter() - start,
        f"{ws.legacy_files} legacy files in {len(ws.runs)} runs; {ws.code_files} code files",
    )
    return ws


def demo_agent_factory() -> Any:
    """The demo's A2 agent shape (policy.components.*), to load weights-only payloads into."""
    from torch import nn

    from simple_ckpt._demo_legacy import DEMO_HIDDEN

    class Policy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.components = nn.ModuleDict(
                {
                    "_core_": nn.LSTM(DEMO_HIDDEN, DEMO_HIDDEN),
                    "_value_": nn.Linear(DEMO_HIDDEN, 1),
                    "_action_": nn.Linear(DEMO_HIDDEN, 8),
                }
            )

    class Agent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.policy = Policy()

    return Agent()


def _step_load(j: Journey, run: str) -> None:
    from simple_ckpt.manager import SimpleCheckpointManager, load_agent_from

    j.echo("")
    j.echo(
        f"load the best converted checkpoint of {run} (a weights-only payload) into the team's agent class:"
    )
    start = time.perf_counter()
    best = SimpleCheckpointManager(j.root / NEW_TRAIN_DIR / run, run).find_best_checkpoint("score")
    if best is None:
        raise SimpleCkptError(f"demo: {run} has no checkpoint with a score")
    agent = load_agent_from(best, weights_only=True, agent_factory=demo_agent_factory)
    n_tensors = len(agent.state_dict())
    j.echo(
        f"  load_agent_from({best.name}, weights_only=True, agent_factory=...) -> "
        f"{type(agent).__name__} with {n_tensors} tensors (strict load_state_dict)"
    )
    j.record(
        "load",
        "(python) load_agent_from(..., agent_factory=...)",
        0,
        time.perf_counter() - start,
        f"{best.name}: {n_tensors} tensors loaded",
    )


def _step_delete_legacy_modules(j: Journey) -> int:
    from simple_ckpt._demo_codebase import LEGACY_MODULES

    j.echo("")
    j.echo("delete the legacy modules the codemod listed (playbook step 5):")
    start = time.perf_counter()
    removed = 0
    for rel in LEGACY_MODULES:
        path = j.root / CODE_DIR / rel
        if path.exists():
            path.unlink()
            removed += 1
            j.echo(f"  rm {CODE_DIR}/{rel}")
    j.record(
        "delete", f"rm {removed} legacy modules", 0, time.perf_counter() - start, f"{removed} files deleted"
    )
    return removed


def format_summary(result: JourneyResult) -> str:
    rows = [("step", "command", "exit", "time", "result")]
    rows += [(s.name, s.command, str(s.exit_code), f"{s.seconds:.1f}s", s.summary) for s in result.steps]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) if i != 2 else row[i].rjust(widths[i]) for i in range(4)]
        lines.append("  ".join(cells) + "  " + row[4])
    return "\n".join(lines)


def run_journey(
    root: Path,
    *,
    train: bool = True,
    epochs: int = 3,
    hidden: int = 32,
    echo: Callable[[str], None] = click.echo,
    keep: bool = False,
) -> JourneyResult:
    """Run the whole journey in ``root`` (created if needed; must not hold a previous demo)."""
    from simple_ckpt._demo_legacy import DEMO_HIDDEN

    if hidden != DEMO_HIDDEN:
        raise SimpleCkptError(
            f"demo: hidden must be {DEMO_HIDDEN} (the demo's agent_factory builds that shape)"
        )
    root = Path(root).resolve()
    if train and any((root / "checkpoints").glob("model_*")):
        raise SimpleCkptError(f"demo: {root} already has checkpoints; the demo needs an empty directory")
    for name in (TRAIN_DIR, NEW_TRAIN_DIR, CODE_DIR):
        if (root / name).exists():
            raise SimpleCkptError(f"demo: {root / name} already exists; give the demo an empty directory")
    started = time.perf_counter()
    j = Journey(root, echo, keep, total=7 if train else 6)
    echo(f"simple-ckpt demo in {root}")
    if train:
        _step_train(j, epochs)
    ws = _step_build(j, hidden)

    j.header("convert every legacy run, verified tensor for tensor (originals untouched)")
    j.cli("migrate", ["migrate", TRAIN_DIR, "--out", NEW_TRAIN_DIR])
    j.cli("migrate --check", ["migrate", TRAIN_DIR, "--out", NEW_TRAIN_DIR, "--check", "--quiet"])

    j.header("look at the converted runs: YAML sidecars only, nothing unpickled")
    j.cli("ls", ["ls", f"{NEW_TRAIN_DIR}/nav_2025_07"])
    j.cli("best", ["best", f"{NEW_TRAIN_DIR}/nav_2025_07", "--metric", "evals.avg_simulation_score"])
    j.cli("ls (empty-metadata bug)", ["ls", f"{NEW_TRAIN_DIR}/arena_2025_08"])
    _step_load(j, "nav_2025_07")

    j.header("find the legacy call sites in the codebase")
    j.cli("check (before)", ["check", CODE_DIR], expect=(1,))

    j.header("rewrite them (TODO markers where a human must decide)")
    j.cli("codemod", ["codemod", CODE_DIR])
    _step_delete_legacy_modules(j)

    j.header("what is left: the TODO list to work through (check exits 1 until it is empty)")
    j.cli("check (after)", ["check", CODE_DIR], expect=(1,))

    echo("")
    echo(click.style("summary", bold=True) + f" ({time.perf_counter() - started:.1f}s, {len(ws.runs)} runs)")
    echo(format_summary(j.result))
    return j.result


@click.command("demo")
@click.option(
    "--epochs",
    type=click.IntRange(min=1, max=50),
    default=3,
    show_default=True,
    help="Epochs per training phase of the tiny-policy example.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False),
    default=None,
    help="Work in (and keep) this directory instead of a temporary one.",
)
@click.option("--train-only", is_flag=True, help="Only the tiny-policy train/save/resume example.")
@click.option("--skip-train", is_flag=True, help="Skip the tiny-policy example; only the migration journey.")
def demo_command(epochs: int, keep: str | None, train_only: bool, skip_train: bool) -> None:
    """Run the whole journey in a temporary folder: train with the new manager; build a legacy train_dir
    and codebase; migrate -> ls / best -> check -> codemod -> check.

    \b
    Each step prints the command it runs and its output; a summary table ends it.
    With --keep DIR everything (inputs, outputs, full logs under DIR/logs) stays.
    """
    if train_only and skip_train:
        raise click.UsageError("--train-only and --skip-train exclude each other")
    if train_only:
        from simple_ckpt.demo import run_demo

        if keep is not None:
            run_demo(Path(keep), epochs_per_phase=epochs)
            return
        with tempfile.TemporaryDirectory(prefix="simple-ckpt-demo-") as tmp:
            run_demo(Path(tmp) / "demo_run", epochs_per_phase=epochs)
        return
    if keep is not None:
        run_journey(Path(keep), train=not skip_train, epochs=epochs, keep=True)
        return
    tmp = tempfile.mkdtemp(prefix="simple-ckpt-demo-")
    try:
        run_journey(Path(tmp), train=not skip_train, epochs=epochs, keep=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
