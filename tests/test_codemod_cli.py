"""`simple-ckpt codemod` end to end: exit codes, --diff/--dry-run, bad files, the report, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from simple_ckpt.cli import main

LEGACY = (
    "from metta.agent.policy_metadata import PolicyMetadata\n\n\n"
    "def fresh(epoch: int) -> PolicyMetadata:\n    return PolicyMetadata(epoch=epoch)\n"
)
MIGRATED = (
    "def fresh(epoch: int) -> dict:\n    return dict(agent_step=0, generation=0, train_time=0, epoch=epoch)\n"
)


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "meta.py").write_text(LEGACY)
    (root / "pkg" / "plain.py").write_text("X = 1\n")
    return root


def test_rewrites_in_place_and_summarises(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = CliRunner().invoke(main, ["codemod", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "pkg" / "meta.py").read_text() == MIGRATED
    assert (root / "pkg" / "plain.py").read_text() == "X = 1\n"
    assert "1 files changed" in result.output
    assert "PolicyMetadataToDict: 2" in result.output
    assert (
        "lines naming a legacy symbol in surviving files: 3 before, 0 after (100.0% rewritten"
        in result.output
    )


def test_diff_and_dry_run_write_nothing(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    diff = CliRunner().invoke(main, ["codemod", "--diff", str(root)])
    assert diff.exit_code == 0
    assert "-from metta.agent.policy_metadata import PolicyMetadata" in diff.stdout
    assert "+    return dict(agent_step=0, generation=0, train_time=0, epoch=epoch)" in diff.stdout
    dry = CliRunner().invoke(main, ["codemod", "--dry-run", str(root)])
    assert dry.exit_code == 0 and "1 files would change" in dry.output
    assert (root / "pkg" / "meta.py").read_text() == LEGACY


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    both = CliRunner().invoke(main, ["codemod", "--diff", "--dry-run", str(root)])
    assert both.exit_code == 2 and "mutually exclusive" in both.output
    jobs = CliRunner().invoke(main, ["codemod", "--jobs", "0", str(root)])
    assert jobs.exit_code == 2
    assert CliRunner().invoke(main, ["codemod"]).exit_code == 2


def test_bad_files_are_reported_and_the_rest_still_processed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "pkg" / "broken.py").write_text("from metta.agent.policy_store import PolicyStore\ndef f(:\n")
    (root / "pkg" / "latin1.py").write_bytes(b"# PolicyStore caf\xe9\nX = 1\n")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["codemod", "--report", str(report), str(root)])
    assert result.exit_code == 1
    assert "broken.py: syntax error" in result.output
    assert "latin1.py: not UTF-8" in result.output
    assert (root / "pkg" / "meta.py").read_text() == MIGRATED
    data = json.loads(report.read_text())
    assert len(data["failed"]) == 2
    assert data["rewrites_per_rule"] == {"PolicyMetadataToDict": 2}
    assert data["legacy_lines"] == {"before": 3, "after": 0, "rewritten_fraction": 1.0}


def test_missing_path_fails_without_stopping(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = CliRunner().invoke(main, ["codemod", str(tmp_path / "nope"), str(root)])
    assert result.exit_code == 1
    assert (root / "pkg" / "meta.py").read_text() == MIGRATED


def test_jobs_give_the_same_result_as_one_process(tmp_path: Path) -> None:
    one, many = tmp_path / "one", tmp_path / "many"
    for root in (one, many):
        for i in range(12):
            (root / f"m{i}").mkdir(parents=True)
            (root / f"m{i}" / "meta.py").write_text(LEGACY)
    assert CliRunner().invoke(main, ["codemod", str(one)]).exit_code == 0
    assert CliRunner().invoke(main, ["codemod", "--jobs", "2", str(many)]).exit_code == 0
    assert all((many / f"m{i}" / "meta.py").read_text() == MIGRATED for i in range(12))


def test_codemod_never_imports_torch(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    code = (
        "import sys\nfrom simple_ckpt.cli import main\n"
        "try:\n    main(['codemod', sys.argv[1]], standalone_mode=False)\n"
        "finally:\n    print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True)
    assert proc.stdout.strip().endswith("NO-TORCH"), proc.stdout + proc.stderr
    assert (root / "pkg" / "meta.py").read_text() == MIGRATED


def test_interrupted_write_leaves_file_whole(tmp_path: Path, monkeypatch) -> None:
    import os

    from codemods import driver, writes

    root = _tree(tmp_path)
    calls = {"n": 0}
    real_replace = os.replace

    def failing_replace(src, dst):  # the crash happens before the rename: the old file must survive
        calls["n"] += 1
        raise OSError("disk on fire")

    monkeypatch.setattr(writes.os, "replace", failing_replace)
    outcome = driver.run([str(root)], driver.Options())
    assert calls["n"] == 1
    assert outcome.failed and "disk on fire" in outcome.failed[0].error
    assert (root / "pkg" / "meta.py").read_text() == LEGACY
    assert not [p for p in (root / "pkg").iterdir() if p.name.startswith(".meta.py.")]
    monkeypatch.setattr(writes.os, "replace", real_replace)
    driver.run([str(root)], driver.Options())  # a rerun completes
    assert (root / "pkg" / "meta.py").read_text() == MIGRATED


def test_a_file_named_twice_is_rewritten_once(tmp_path: Path) -> None:
    """A directory and a file inside it (or a symlink to it) on the command line: one rewrite, no
    'changed while the codemod ran' failure from the second copy."""
    root = _tree(tmp_path)
    (root / "alias.py").symlink_to(root / "pkg" / "meta.py")
    meta = root / "pkg" / "meta.py"
    result = CliRunner().invoke(main, ["codemod", str(root), str(meta), str(root / "alias.py")])
    assert result.exit_code == 0, result.output
    assert meta.read_text() == MIGRATED
    assert (root / "alias.py").is_symlink()  # the real file was rewritten, not the link replaced
    assert "1 files changed" in result.output
    assert "3 before, 0 after" in result.output  # counted once


def test_run_restores_gc_thresholds_even_when_it_fails(tmp_path: Path, monkeypatch) -> None:
    import gc

    import pytest

    from codemods import driver

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    driver.run([str(_tree(tmp_path))], driver.Options(write=False))
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)

    def broken(*args: object, **kwargs: object) -> None:
        assert gc.get_threshold() != before  # the run itself collects less often
        raise RuntimeError("boom")

    monkeypatch.setattr(driver, "_run", broken)
    with pytest.raises(RuntimeError, match="boom"):
        driver.run([str(tmp_path)], driver.Options())
    assert gc.get_threshold() == before


def test_background_writer_records_os_errors_and_raises_other_errors_after_syncing(
    tmp_path: Path, monkeypatch
) -> None:
    from dataclasses import dataclass

    import pytest

    from codemods import writes

    @dataclass
    class Outcome:
        path: str
        changed: bool = True
        error: str | None = None

    good, gone, buggy = (Outcome(str(tmp_path / name)) for name in ("good.py", "gone/x.py", "buggy.py"))
    for outcome in (good, buggy):
        Path(outcome.path).write_text("old\n")
    real_write = writes.write_result
    synced: list[Path] = []
    monkeypatch.setattr(writes, "fsync_directory", synced.append)

    def write(result: Outcome, text: str, original: bytes) -> None:
        if result is buggy:
            raise ValueError("a bug in the writer")
        real_write(result, text, original)

    monkeypatch.setattr(writes, "write_result", write)
    writer = writes.BackgroundWriter()
    writer.submit(good, "new\n", b"old\n")
    writer.submit(gone, "new\n", b"old\n")  # its directory does not exist: an OSError, recorded
    writer.submit(buggy, "new\n", b"old\n")
    with pytest.raises(ValueError, match="a bug in the writer"):
        writer.finish([good, gone, buggy])
    assert Path(good.path).read_text() == "new\n" and good.error is None
    assert gone.changed is False and gone.error is not None and gone.error.startswith("cannot write")
    assert synced == [tmp_path]  # the directories of the files that were replaced are still synced

    other = writes.BackgroundWriter()
    other.submit(buggy, "new\n", b"old\n")
    other.abandon()  # the caller's own error is the one that propagates; nothing raised here
    assert Path(buggy.path).read_text() == "old\n"


def test_a_symlink_to_a_file_outside_the_given_paths_is_not_followed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    outside = tmp_path / "elsewhere.py"
    outside.write_text(LEGACY)
    (root / "pkg" / "link.py").symlink_to(outside)
    result = CliRunner().invoke(main, ["codemod", str(root)])
    assert result.exit_code == 1
    assert f"links to {outside}, outside the paths given; not followed" in result.output
    assert outside.read_text() == LEGACY and (root / "pkg" / "link.py").is_symlink()
    assert (root / "pkg" / "meta.py").read_text() == MIGRATED


def test_work_list_in_background_equals_the_inline_one(tmp_path: Path) -> None:
    """The scan the codemod command runs in a forked helper while libcst is imported gives what an inline
    scan gives: every Python file counted, only the prefilter's candidates kept, links resolved."""
    from codemods.work_list import work_list, work_list_in_background

    root = _tree(tmp_path)
    (root / "pkg" / "link.py").symlink_to(root / "pkg" / "meta.py")  # the same file again: listed once
    inline = work_list([str(root)])
    start = work_list_in_background([str(root)])
    assert start is not None
    background = start()
    assert background == inline
    assert inline.files_seen == 2 and inline.prefiltered
    assert inline.items == [(str(root / "pkg" / "meta.py"), str(root))]
    unfiltered = work_list([str(root)], prefilter=False)
    assert sorted(path for path, _ in unfiltered.items) == [
        str(root / "pkg" / n) for n in ("meta.py", "plain.py")
    ]
