"""`simple-ckpt check` end to end, through the installed command (a subprocess, as users and CI run it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI = PROJECT_ROOT / ".venv" / "bin" / "simple-ckpt"

LEGACY = """\
from metta.agent.policy_store import PolicyStore


def load(store: PolicyStore, uri):
    # TODO(simple-ckpt): no URI loader: load a local run with load_agent()
    return store.policy_record(uri).policy
"""
MIGRATED = """\
from metta.rl.checkpoint_manager import CheckpointManager, PolicyMetadata


class MockPolicyRecord:
    pass


def load(run: str, run_dir: str) -> PolicyMetadata:
    # store = PolicyStore(cfg, wandb_run)  (commented out, not code)
    mgr = CheckpointManager(run_name=run, run_dir=run_dir)
    return {"run_name": mgr.run_name, "epoch": 0}
"""


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if not CLI.exists():
        pytest.skip(f"simple-ckpt not installed at {CLI}")
    return subprocess.run(
        [str(CLI), "check", *map(str, args)], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "legacy.py").write_text(LEGACY)
    (tmp_path / "pkg" / "migrated.py").write_text(MIGRATED)
    return tmp_path


def test_text_output_and_exit_code_1(tree: Path) -> None:
    done = run_cli(tree)
    assert done.returncode == 1, done.stderr
    legacy = tree / "pkg" / "legacy.py"
    lines = done.stdout.splitlines()
    assert [line.split(" ")[:2] for line in lines] == [
        [f"{legacy}:1:38", "SC001"],
        [f"{legacy}:4:17", "SC002"],
        [f"{legacy}:6:18", "manual"],
    ]
    assert "no URI loader" in lines[2]
    assert "3 legacy reference(s) in 1 file(s)" in done.stderr


def test_migrated_code_exits_0(tree: Path) -> None:
    done = run_cli(tree / "pkg" / "migrated.py")
    assert (done.returncode, done.stdout) == (0, "")
    assert "no legacy references" in done.stderr


def test_json_format(tree: Path) -> None:
    done = run_cli("--format", "json", tree)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    # The commented-out store in migrated.py makes it a (parsed, then clean) candidate.
    assert (report["failed"], report["files_scanned"], report["candidates"]) == (True, 2, 2)
    assert [(f["line"], f["rule"], f["name"], f["severity"]) for f in report["findings"]] == [
        (1, "SC001", "legacy-import", "error"),
        (4, "SC002", "legacy-name", "error"),
        (6, "manual", "manual", "warning"),
    ]


def test_github_format(tree: Path) -> None:
    done = run_cli("--format", "github", tree)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    legacy = tree / "pkg" / "legacy.py"
    assert lines[0].startswith(f"::error file={legacy},line=1,col=38,title=SC001 legacy-import::")
    assert lines[2].startswith(f"::warning file={legacy},line=6,col=18,title=manual::no URI loader")
    assert len(lines) == 3


def test_include_docs_scans_markdown_yaml_shell(tree: Path) -> None:
    (tree / "README.md").write_text(
        "Load with `PolicyStore`:\n\n    simple policy_uri=wandb://run/my_run:v3\n"
    )
    (tree / "sim.yaml").write_text("policy_uri: pytorch://checkpoints/model.pt\nother: 1\n")
    (tree / "run.sh").write_text("#!/bin/sh\npython -m tools.sim policy_uri=file://x\n")
    (tree / "clean.md").write_text("Use SimpleCheckpointManager and CheckpointManager.\n")
    without = run_cli(tree / "pkg" / "migrated.py", tree / "README.md", tree / "sim.yaml")
    assert without.returncode == 0 and without.stdout == ""
    done = run_cli("--include-docs", "--format", "json", tree)
    assert done.returncode == 1
    docs = {
        (Path(f["path"]).name, f["line"], f["rule"])
        for f in json.loads(done.stdout)["findings"]
        if not f["path"].endswith(".py")
    }
    assert docs == {
        ("README.md", 1, "SC101"),
        ("README.md", 3, "SC102"),  # policy_uri= and wandb://run/...
        ("sim.yaml", 1, "SC102"),
        ("run.sh", 2, "SC102"),
    }
    messages = [f["message"] for f in json.loads(done.stdout)["findings"]]
    assert any("wandb://run/my_run:v3" in m for m in messages)
    assert any("pytorch://checkpoints/model.pt" in m for m in messages)


def test_python_comments_are_information_only(tree: Path) -> None:
    done = run_cli("--include-docs", "--format", "json", tree / "pkg" / "migrated.py")
    assert done.returncode == 0
    findings = json.loads(done.stdout)["findings"]
    assert [(f["line"], f["rule"], f["severity"]) for f in findings] == [(9, "SC103", "info")]


def test_non_utf8_and_syntax_errors_are_one_line_each_and_the_rest_goes_on(tree: Path) -> None:
    (tree / "latin.py").write_bytes(b"# caf\xe9\nfrom metta.agent.policy_store import PolicyStore\n")
    (tree / "broken.py").write_text("from metta.agent.policy_store import (\n")
    declared = tree / "declared.py"
    declared.write_bytes(
        b"# -*- coding: latin-1 -*-\n# caf\xe9\nfrom agent.policy_store import PolicyStore\n"
    )
    done = run_cli(tree)
    assert done.returncode == 1
    by_file: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        location, rule = line.split(" ")[:2]
        by_file.setdefault(Path(location.split(":")[0]).name, []).append(rule)
    assert by_file["latin.py"] == ["unreadable"]
    assert by_file["broken.py"] == ["syntax-error"]
    assert by_file["declared.py"] == ["SC001"]  # a PEP 263 declaration is honoured
    assert by_file["legacy.py"] == ["SC001", "SC002", "manual"]
    assert "not valid utf-8" in done.stdout


def test_missing_path_is_reported_and_fails(tree: Path) -> None:
    done = run_cli(tree / "pkg" / "migrated.py", tree / "nope")
    assert done.returncode == 1
    assert done.stdout.strip() == f"{tree / 'nope'}:1:1 unreadable no such file or directory"


def test_symlink_loops_are_listed_but_do_not_fail(tree: Path) -> None:
    (tree / "pkg" / "loop").symlink_to(tree / "pkg")
    clean = tree / "clean"
    clean.mkdir()
    (clean / "migrated.py").write_text(MIGRATED)
    (clean / "loop").symlink_to(clean)
    done = run_cli(clean)
    assert done.returncode == 0, done.stdout
    assert done.stdout == f"{clean / 'loop'}:1:1 skipped symlink loop, not followed\n"
    done = run_cli("--format", "json", tree)
    assert done.returncode == 1  # pkg/legacy.py
    findings = json.loads(done.stdout)["findings"]
    loops = [
        (Path(f["path"]).relative_to(tree), f["rule"], f["severity"])
        for f in findings
        if f["rule"] == "skipped"
    ]
    assert loops == [(Path("clean/loop"), "skipped", "info"), (Path("pkg/loop"), "skipped", "info")]


def test_usage_errors_exit_2() -> None:
    done = run_cli()
    assert done.returncode == 2
    assert "give at least one PATH" in done.stderr
    assert run_cli("--format", "xml", ".").returncode == 2


def test_emit_ruff_config_without_paths(tree: Path) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    done = run_cli("--emit-ruff-config")
    assert done.returncode == 0
    banned = tomllib.loads(done.stdout)["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"]
    assert "metta.agent.policy_store.PolicyStore" in banned


def test_check_imports_neither_torch_nor_libcst(tree: Path) -> None:
    python = PROJECT_ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-X", "importtime", "-m", "simple_ckpt", "check", "--include-docs", str(tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "codemods" in imported and "yaml" in imported  # the import log is what we think it is
    assert "torch" not in imported and "libcst" not in imported


def test_in_process_check_leaves_torch_unimported(tree: Path) -> None:
    code = (
        "import sys; from codemods.check import run_check; r = run_check([sys.argv[1]], include_docs=True); "
        "assert r.findings; print(sorted(m for m in ('torch', 'libcst') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tree)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "simple-ckpt-check")
    assert hook["entry"] == "simple-ckpt check"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
