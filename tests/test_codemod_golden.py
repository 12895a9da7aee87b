"""The codemod on the legacy mini-codebase: byte-for-byte goldens and the post-conditions on every file.

tests/legacy_codebase/ is a small legacy tree exercising the patterns of the call-site spec (§1.3) and its
hazards (§1.4); tests/golden/ is its reviewed migrated version (regenerate with
tests/regen_codemod_golden.py, then review the diff line by line).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from codemods.driver import Options, legacy_name_lines, run
from codemods.markers import TODO_PATTERN

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "legacy_codebase"
GOLDEN = HERE / "golden"
RUFF = Path(sys.executable).parent / "ruff"
LOOKALIKES = ["tests/sweep/test_protein_pipeline.py", "tools/renderer.py", "metta/rl/checkpointing_after.py"]
INTERNALS = {
    "metta/agent/policy_store.py",
    "metta/agent/policy_record.py",
    "metta/agent/policy_metadata.py",
    "metta/agent/policy_cache.py",
    "metta/agent/mocks/mock_policy_record.py",
    "metta/rl/checkpoint_manager.py",
    "metta/rl/trainer_checkpoint.py",
    "metta/rl/policy_management.py",
}


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("codemod") / "legacy_codebase"
    shutil.copytree(SOURCE, root, ignore=shutil.ignore_patterns("__pycache__"))
    outcome = run([str(root)], Options())
    return root, outcome


def test_output_matches_golden_byte_for_byte(migrated: tuple[Path, object]) -> None:
    root, outcome = migrated
    assert not outcome.failed  # type: ignore[attr-defined]
    got, want = _files(root), _files(GOLDEN)
    assert sorted(got) == sorted(want)
    mismatched = [name for name in got if got[name] != want[name]]
    assert mismatched == []


def test_second_run_changes_nothing(migrated: tuple[Path, object]) -> None:
    root, _ = migrated
    before = _files(root)
    outcome = run([str(root)], Options())
    assert [r.path for r in outcome.results if r.changed] == []
    assert _files(root) == before


def test_lookalikes_and_internals_untouched(migrated: tuple[Path, object]) -> None:
    root, outcome = migrated
    source, result = _files(SOURCE), _files(root)
    for name in [*LOOKALIKES, *INTERNALS]:
        assert result[name] == source[name], name
    internal = {str(Path(r.path).relative_to(root)) for r in outcome.results if r.legacy_internal}  # type: ignore[attr-defined]
    assert internal == INTERNALS


def test_every_changed_file_parses_and_keeps_untouched_lines(migrated: tuple[Path, object]) -> None:
    root, _ = migrated
    source, result = _files(SOURCE), _files(root)
    for name, after in result.items():
        if after == source[name]:
            continue
        cst.parse_module(after)
        # Every original comment line the codemod did not remove is still there, byte for byte.
        kept_comments = {line for line in after.splitlines() if line.lstrip().startswith("#")}
        for line in source[name].splitlines():
            if line.lstrip().startswith("#") and line in kept_comments:
                assert line in after


def test_every_remaining_legacy_reference_is_marked(migrated: tuple[Path, object]) -> None:
    """Lines naming a legacy symbol after the run carry the marker (or belong to a marked statement)."""
    root, outcome = migrated
    for result in outcome.results:  # type: ignore[attr-defined]
        if result.legacy_internal or not result.changed:
            continue
        text = Path(result.path).read_text(encoding="utf-8")
        assert legacy_name_lines(text) == result.legacy_lines_after
        for line in text.splitlines():
            if line.lstrip().startswith(("from ", "import ")) and "policy_store import" in line:
                assert TODO_PATTERN.search(line), f"{result.path}: unmarked legacy import {line!r}"


def _ruff(paths: list[Path], select: str, config: tuple[str, ...] = ()) -> list[dict]:
    proc = subprocess.run(
        [
            str(RUFF),
            "check",
            "--no-cache",
            "--isolated",
            *config,
            "--select",
            select,
            "--output-format",
            "json",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout or "[]")


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to the interpreter")
def test_no_new_undefined_names_and_no_unused_legacy_imports(migrated: tuple[Path, object]) -> None:
    root, outcome = migrated
    changed = [Path(r.path) for r in outcome.results if r.changed]  # type: ignore[attr-defined]
    assert changed
    originals = [SOURCE / p.relative_to(root) for p in changed]

    def undefined(findings: list[dict], base: Path) -> set[tuple[str, str]]:
        return {
            (str(Path(f["filename"]).relative_to(base)), f["message"])
            for f in findings
            if f["code"] == "F821"
        }

    before = undefined(_ruff(originals, "F821"), SOURCE)
    after = undefined(_ruff(changed, "F821"), root)
    assert after <= before
    unused = [
        f for f in _ruff(changed, "F401") if "policy" in f["message"].lower() or "Checkpoint" in f["message"]
    ]
    assert unused == []


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to the interpreter")
def test_new_imports_are_where_isort_puts_them(migrated: tuple[Path, object]) -> None:
    root, outcome = migrated
    with_new_import = [
        Path(r.path)
        for r in outcome.results
        if r.changed and "from simple_ckpt" in Path(r.path).read_text()  # type: ignore[attr-defined]
    ]
    assert len(with_new_import) >= 3
    config = (
        "--config",
        "lint.isort.known-first-party = ['metta', 'tools', 'tests', 'experiments', 'agent', 'rl']",
        "--config",
        "lint.isort.known-third-party = ['simple_ckpt']",
        "--config",
        "line-length = 320",  # TODO markers make long lines; wrapping them is the formatter's job
    )
    findings = _ruff(with_new_import, "I001", config)
    # Only files whose original imports were already sorted are held to it.
    originals = [SOURCE / p.relative_to(root) for p in with_new_import]
    unsorted_before = {str(Path(f["filename"]).relative_to(SOURCE)) for f in _ruff(originals, "I001", config)}
    unsorted_after = {str(Path(f["filename"]).relative_to(root)) for f in findings}
    assert unsorted_after <= unsorted_before


def test_rewritten_fraction_is_reported(migrated: tuple[Path, object]) -> None:
    _, outcome = migrated
    before = sum(r.legacy_lines_before for r in outcome.results)  # type: ignore[attr-defined]
    after = sum(r.legacy_lines_after for r in outcome.results)  # type: ignore[attr-defined]
    assert before > 50
    assert 0 < after < before
