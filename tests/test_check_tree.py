"""`check` over a generated tree: the parallel scan equals the sequential one, and the generator that the
check and codemod benchmarks share is deterministic and realistic (legacy files found, look-alikes not)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from codemods import check as check_module
from codemods.check import run_check

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # `bench` is a top-level folder, not an installed package
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.legacy_tree import generate_tree  # noqa: E402


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = generate_tree(tmp_path / "a", n_files=120, legacy_fraction=0.1, seed=3)
    b = generate_tree(tmp_path / "b", n_files=120, legacy_fraction=0.1, seed=3)
    c = generate_tree(tmp_path / "c", n_files=120, legacy_fraction=0.1, seed=4)
    assert _digest(a.root) == _digest(b.root) != _digest(c.root)
    assert len(a.files) == 120 and len(a.legacy_files) == 12 and len(a.lookalike_files) == 3


def test_check_finds_exactly_the_legacy_files_in_parallel_and_sequentially(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = generate_tree(tmp_path / "tree", n_files=300, legacy_fraction=0.05, seed=0)
    monkeypatch.setattr(check_module, "PARALLEL_MIN_FILES", 100)
    parallel = run_check([tree.root])
    monkeypatch.setattr(check_module, "PARALLEL_MIN_FILES", 10**9)
    sequential = run_check([tree.root])
    assert parallel.findings == sequential.findings
    assert (parallel.files_scanned, parallel.candidates) == (sequential.files_scanned, sequential.candidates)
    reported = {Path(f.path) for f in sequential.findings}
    assert reported == set(tree.legacy_files)
    assert sequential.candidates == len(tree.legacy_files) + len(tree.lookalike_files)


def test_a_bug_on_one_file_is_reported_and_the_others_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.py").write_text("from metta.agent.policy_store import PolicyStore\n")
    (tmp_path / "b.md").write_text("PolicyStore\n")

    def broken(*args: object, **kwargs: object) -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(check_module, "find_references", broken)
    report = run_check([tmp_path], include_docs=True)
    assert [(Path(f.path).name, f.rule) for f in report.findings] == [
        ("a.py", "internal-error"),
        ("b.md", "SC101"),
    ]
    assert "RuntimeError: boom" in report.findings[0].message
