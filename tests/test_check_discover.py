"""Discovery (which files check/codemod look at) and the text prefilter (which of them get parsed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codemods.discover import discover
from codemods.legacy_table import load_table
from codemods.prefilter import Prefilter, minimal_words


def _touch(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _rel(root: Path, files: list) -> list[str]:
    return [str(f.path.relative_to(root)) for f in files]


def test_walk_is_sorted_depth_first_and_skips_vendored_dirs(tmp_path: Path) -> None:
    for rel in ["b.py", "a/z.py", "a/b/c.py", "A.py", "c.pyi", "notes.txt"]:
        _touch(tmp_path / rel)
    for skipped in [".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist", "x.egg-info"]:
        _touch(tmp_path / skipped / "hidden.py")
    found = discover([tmp_path])
    assert _rel(tmp_path, found.files) == ["A.py", "a/b/c.py", "a/z.py", "b.py", "c.pyi"]
    assert found.problems == []
    assert discover([tmp_path]).files == found.files  # deterministic


def test_docs_only_with_include_docs(tmp_path: Path) -> None:
    for rel in ["m.py", "README.md", "conf.yaml", "conf.yml", "run.sh", "data.json"]:
        _touch(tmp_path / rel)
    assert _rel(tmp_path, discover([tmp_path]).files) == ["m.py"]
    found = discover([tmp_path], include_docs=True)
    assert [(str(f.path.relative_to(tmp_path)), f.kind) for f in found.files] == [
        ("README.md", "markdown"),
        ("conf.yaml", "yaml"),
        ("conf.yml", "yaml"),
        ("m.py", "python"),
        ("run.sh", "shell"),
    ]


def test_explicit_files_and_missing_paths(tmp_path: Path) -> None:
    script = _touch(tmp_path / "tool", "#!/usr/bin/env python\n")
    doc = _touch(tmp_path / "doc.md")
    found = discover([script, doc, tmp_path / "missing.py", script])
    assert [(f.path, f.kind) for f in found.files] == [(script, "python")]  # once, doc needs --include-docs
    assert [(p.path, p.problem) for p in found.problems] == [
        (tmp_path / "missing.py", "no such file or directory")
    ]


def test_symlink_loops_and_dangling_links_are_reported_not_fatal(tmp_path: Path) -> None:
    _touch(tmp_path / "pkg" / "mod.py")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")
    os.symlink(tmp_path / "nowhere.py", tmp_path / "pkg" / "dangling.py")
    os.symlink(tmp_path / "pkg", tmp_path / "alias")  # the same dir twice: walked once, no problem
    found = discover([tmp_path])
    assert _rel(tmp_path, found.files) == ["alias/mod.py"]
    problems = {(str(p.path.relative_to(tmp_path)), p.problem) for p in found.problems}
    assert ("alias/loop", "symlink loop, not followed") in problems
    assert ("alias/dangling.py", "dangling symlink") in problems


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory; permissions cannot be tested")
def test_unreadable_directory_is_reported(tmp_path: Path) -> None:
    _touch(tmp_path / "ok.py")
    locked = tmp_path / "locked"
    _touch(locked / "m.py")
    locked.chmod(0)
    try:
        found = discover([tmp_path])
    finally:
        locked.chmod(0o755)
    assert _rel(tmp_path, found.files) == ["ok.py"]
    assert [p.path for p in found.problems] == [locked]


def test_minimal_words_drops_words_containing_others() -> None:
    assert minimal_words({"PolicyRecord", "MockPolicyRecord", "policy_record", "policy_records"}) == [
        "PolicyRecord",
        "policy_record",
    ]


@pytest.mark.parametrize(
    "text",
    [
        b"from metta.agent.mocks import MockPolicyRecord\n",
        b"import metta.agent.policy_record\n",
        b"from .mock_policy_record import X\n",
        b"mgr = CheckpointManager(checkpoint_config=c)\n",
        b"x.load_or_create_policy()\n",
        b"f(policy_store=s)\n",
        b"# TODO(simple-ckpt): decide\n",
        b"from rl.pufferlib.trainer_checkpoint import TrainerCheckpoint\n",
        b"store.make_model_name(3)\n",
    ],
)
def test_prefilter_accepts_anything_that_may_be_legacy(text: bytes) -> None:
    assert Prefilter(load_table()).matches(text)


@pytest.mark.parametrize(
    "text",
    [
        b"import torch\nx = 1\n",
        b"from metta.rl.checkpoint_manager import CheckpointManager\nm = CheckpointManager(run_name=r, run_dir=d)\n",
        b"def policy_value(policy): return policy.save()\n",
    ],
)
def test_prefilter_rejects_files_that_cannot_match(text: bytes) -> None:
    assert not Prefilter(load_table()).matches(text)


def test_read_candidate_returns_bytes_only_for_candidates(tmp_path: Path) -> None:
    legacy = _touch(tmp_path / "a.py", "from metta.agent.policy_store import PolicyStore\n")
    clean = _touch(tmp_path / "b.py")
    prefilter = Prefilter()
    assert prefilter.read_candidate(legacy) == legacy.read_bytes()
    assert prefilter.read_candidate(clean) is None
