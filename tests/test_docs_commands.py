"""Every command shown in the docs runs, with the exit code and the output the docs show.

Convention (also stated in docs/playbook.md): in ``docs/*.md`` and ``README.md``, fenced blocks tagged
``console`` hold shell commands after a ``$ `` prompt; the lines after a command, up to the next prompt,
are output the command must print (each line, whitespace-collapsed, must appear in its stdout+stderr;
a ``...`` line stands for lines left out). A command exits 0 unless it ends with ``# exit N``. Blocks
tagged ``bash``, ``yaml``, ``python`` etc. are illustrations and are not run (``make`` targets, CI
snippets). The commands of one file run in order in one fresh workspace made by
`simple_ckpt.journey.prepare_workspace` (the demo's legacy ``train_dir/`` and ``code/``), so a doc can
build on its earlier commands.

Speed: plain ``simple-ckpt ...`` commands (no pipes or redirections) run in this process through
`simple_ckpt.journey.run_cli` (the click group with the same arguments; stdout and stderr captured),
everything else through ``bash -c``; the workspace is built once per session and copied per doc. The
installed entry point itself is exercised by tests/test_journey.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simple_ckpt.journey import prepare_workspace, run_cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)\s*$")
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
SHELL_SYNTAX = re.compile(r"[|&;<>$`*?]")


@dataclass
class DocCommand:
    doc: str
    line: int
    command: str
    exit_code: int
    expected: list[str] = field(default_factory=list)


def extract_commands(text: str, doc: str) -> list[DocCommand]:
    commands: list[DocCommand] = []
    in_console = in_other = False
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence and not in_console and not in_other:
            in_console = fence.group(1) == "console"
            in_other = not in_console
            continue
        if fence and line.strip() == "```":
            in_console = in_other = False
            continue
        if not in_console:
            continue
        if line.startswith("$ "):
            command = line[2:]
            match = EXIT.search(command)
            code = int(match.group(1)) if match else 0
            commands.append(DocCommand(doc, number, command, code))
        elif commands and line.strip() and line.strip() != "...":
            commands[-1].expected.append(line)
    return commands


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _all_commands() -> list[DocCommand]:
    return [c for doc in DOCS for c in extract_commands(doc.read_text(), doc.name)]


def test_extractor_reads_prompts_outputs_and_exit_codes() -> None:
    text = (
        "intro\n```console\n$ simple-ckpt ls run\nepoch  score\n...\n$ simple-ckpt check code  # exit 1\n```\n"
        "```bash\n$ make test\n```\n"
    )
    commands = extract_commands(text, "x.md")
    assert [(c.command, c.exit_code, c.expected) for c in commands] == [
        ("simple-ckpt ls run", 0, ["epoch  score"]),
        ("simple-ckpt check code  # exit 1", 1, []),
    ]


def test_every_doc_page_has_commands_and_every_command_is_one_we_ship() -> None:
    commands = _all_commands()
    by_doc = {c.doc for c in commands}
    assert {"playbook.md", "faq.md", "api.md", "format.md", "README.md"} <= by_doc
    tools = {c.command.split()[0] for c in commands}
    assert tools <= {"simple-ckpt", "python", "ls", "rm", "cat", "grep"}, tools


@pytest.fixture(scope="session")
def workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs-template") / "ws"
    prepare_workspace(root)
    return root


def _run_in_process(args: list[str], cwd: Path) -> tuple[int, str]:
    err = io.StringIO()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err):
            code, out = run_cli(args)
    finally:
        os.chdir(before)
    return code, out + err.getvalue()


def _run(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    plain = EXIT.sub("", command)
    if plain.startswith("simple-ckpt ") and not SHELL_SYNTAX.search(plain):
        return _run_in_process(shlex.split(plain)[1:], cwd)
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("doc", [d for d in DOCS if "```console" in d.read_text()], ids=lambda d: d.name)
def test_doc_commands_run_as_shown(doc: Path, tmp_path: Path, workspace_template: Path) -> None:
    commands = extract_commands(doc.read_text(), doc.name)
    workspace = tmp_path / "ws"
    shutil.copytree(workspace_template, workspace)
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), PYTHONPATH=str(ROOT))
    for cmd in commands:
        code, output = _run(cmd.command, workspace, env)
        where = f"{cmd.doc}:{cmd.line}: `{cmd.command}`"
        assert code == cmd.exit_code, f"{where} exited {code}:\n{output[-3000:]}"
        collapsed = _collapse(output)
        for line in cmd.expected:
            assert _collapse(line) in collapsed, f"{where}: output lacks {line!r}:\n{output[-3000:]}"
