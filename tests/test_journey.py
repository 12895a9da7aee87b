"""The demo journey (`simple-ckpt demo`) and its packaged inputs (legacy train_dir, legacy codebase).

The in-package builders must produce what the migration and the codemod really recognise (the generations
claimed by `DEMO_RUNS` are the ones `migrate` detects), must leave no legacy class importable, and the
journey must run every step with the expected exit codes and leave the right files behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simple_ckpt._demo_codebase import LEGACY_CODEBASE, LEGACY_MODULES, write_legacy_codebase
from simple_ckpt._demo_legacy import DEMO_RUNS, build_legacy_train_dir
from simple_ckpt.errors import SimpleCkptError
from simple_ckpt.journey import NEW_TRAIN_DIR, format_summary, run_cli, run_journey

ROOT = Path(__file__).resolve().parent.parent


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_legacy_train_dir_generations_are_the_ones_migrate_detects(tmp_path: Path) -> None:
    built = build_legacy_train_dir(tmp_path / "train_dir")
    assert "metta" not in sys.modules  # the stand-ins were only imported by the writer subprocess
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_dir"]  # no stand-in sources left behind
    assert all(p.suffix == ".pt" for p in (tmp_path / "train_dir").rglob("*") if p.is_file())
    report_path = tmp_path / "report.json"
    out = str(tmp_path / "new")
    code, _ = run_cli(
        ["migrate", str(tmp_path / "train_dir"), "--out", out, "-q", "--report", str(report_path)]
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    detected = {
        entry["source"]: entry["generation"] for entry in report["files"] if entry["kind"] == "policy"
    }
    expected = {}
    for run, epochs in DEMO_RUNS.items():
        for (_, generation), path in zip(epochs, built.runs[run], strict=True):
            expected[str(path.relative_to(tmp_path / "train_dir"))] = generation
    assert detected == expected
    trainer = {
        entry["run"]: entry["generation"] for entry in report["files"] if entry["kind"] == "trainer_state"
    }
    assert trainer == {"nav_2025_05": "T3", "nav_2025_07": "T7", "arena_2025_08": "T7", "arena_2025_09": "N"}


def test_builders_refuse_to_write_over_existing_runs(tmp_path: Path) -> None:
    (tmp_path / "train_dir" / "nav_2025_05").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="nav_2025_05"):
        build_legacy_train_dir(tmp_path / "train_dir")
    write_legacy_codebase(tmp_path / "code")
    before = _digests(tmp_path / "code")
    with pytest.raises(FileExistsError):
        write_legacy_codebase(tmp_path / "code")
    assert _digests(tmp_path / "code") == before


def test_journey_runs_every_step_and_leaves_the_migrated_world(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_journey(tmp_path, epochs=1, echo=lines.append)
    names = [s.name for s in result.steps]
    assert names == [
        "train",
        "build",
        "migrate",
        "migrate --check",
        "ls",
        "best",
        "ls (empty-metadata bug)",
        "load",
        "check (before)",
        "codemod",
        "delete",
        "check (after)",
    ]
    codes = {s.name: s.exit_code for s in result.steps}
    assert codes["check (before)"] == 1 and codes["check (after)"] == 1
    assert all(code == 0 for name, code in codes.items() if not name.startswith("check"))

    # Every legacy policy file became model_NNNN.pt + .yaml, every run got its trainer state.
    for run, epochs in DEMO_RUNS.items():
        ckpt = tmp_path / NEW_TRAIN_DIR / run / "checkpoints"
        assert sorted(p.name for p in ckpt.glob("model_*.yaml")) == [f"model_{e:04d}.yaml" for e, _ in epochs]
        assert (ckpt / "trainer_state.pt").is_file()
    assert "17 converted, 0 failed" in result.step("migrate").summary
    assert "0 converted, 17 already-converted" in result.step("migrate --check").summary
    # best by the nested metric is not the latest epoch (the last epoch's score dropped)
    assert result.step("best").output.strip().endswith("nav_2025_07/checkpoints/model_0020.pt")
    # the empty-metadata bug: agent_step recovered from the trainer state for the last epoch only
    arena = result.step("ls (empty-metadata bug)").output.splitlines()[1:]
    assert [row.split()[:2] for row in arena] == [["0", "0"], ["10", "0"], ["20", "20480"]]

    # The codemod reduced the references; the legacy modules are gone; what is left are mostly TODOs.
    before = int(result.step("check (before)").summary.split()[0])
    after = int(result.step("check (after)").summary.split()[0])
    assert 0 < after < before
    assert all(not (tmp_path / "code" / rel).exists() for rel in LEGACY_MODULES)
    assert "TODO(simple-ckpt)" in (tmp_path / "code" / "metta" / "tools" / "sim.py").read_text()
    assert "PolicyMetadata" not in (tmp_path / "code" / "metta" / "eval" / "metadata.py").read_text()

    # The inputs are untouched: the builder is deterministic, so the train_dir equals a fresh build.
    build_legacy_train_dir(tmp_path / "fresh" / "train_dir")
    assert _digests(tmp_path / "train_dir") == _digests(tmp_path / "fresh" / "train_dir")
    remaining = set(LEGACY_CODEBASE) - set(LEGACY_MODULES)
    assert {str(p.relative_to(tmp_path / "code")) for p in (tmp_path / "code").rglob("*.py")} == remaining

    summary = format_summary(result)
    assert all(name in summary for name in names)
    assert summary in "\n".join(lines)


def test_journey_refuses_a_used_directory(tmp_path: Path) -> None:
    (tmp_path / "train_dir").mkdir()
    (tmp_path / "train_dir" / "precious.txt").write_text("mine")
    with pytest.raises(SimpleCkptError, match="already exists"):
        run_journey(tmp_path, train=False, echo=lambda _: None)
    assert (tmp_path / "train_dir" / "precious.txt").read_text() == "mine"


_CHILD = """
import sys
from pathlib import Path
from simple_ckpt.cli import main
code = main.main(args=sys.argv[2:], prog_name="simple-ckpt", standalone_mode=False)
tests = Path(sys.argv[1])
from_tests = sorted(name for name, m in list(sys.modules.items())
                    if Path(getattr(m, "__file__", None) or "/").resolve().is_relative_to(tests))
print("MODULES FROM tests/:", from_tests)
sys.exit(code or 0)
"""


def test_demo_command_from_a_clean_interpreter(tmp_path: Path) -> None:
    """`simple-ckpt demo --keep DIR` in a fresh interpreter: the user's path; nothing comes from tests/."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(ROOT / "tests"),
            "demo",
            "--skip-train",
            "--keep",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "MODULES FROM tests/: []" in out  # the demo ships in the package: no fixture code used
    for command in ("$ simple-ckpt migrate train_dir --out new_train_dir", "$ simple-ckpt codemod code"):
        assert command in out
    assert "summary" in out and "17 converted, 0 failed" in out
    assert "migrate [17/17]" in done.stderr  # progress of the long step
    logs = sorted(p.name for p in (tmp_path / "demo" / "logs").iterdir())
    assert any(name.endswith("-migrate.txt") for name in logs)
    migrate_log = next((tmp_path / "demo" / "logs").glob("*-migrate.txt")).read_text()
    assert "migrate: 17 converted, 0 failed" in migrate_log


def test_demo_train_only_keeps_the_tiny_policy_example(tmp_path: Path) -> None:
    code, out = run_cli(["demo", "--train-only", "--epochs", "1", "--keep", str(tmp_path / "run")])
    assert code == 0
    assert "parameters identical: True" in out
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("model_*.yaml")) == [
        "model_0001.yaml",
        "model_0002.yaml",
    ]
    assert not (tmp_path / "train_dir").exists()


def test_demo_flags_exclude_each_other(tmp_path: Path) -> None:
    code, _ = run_cli(["demo", "--train-only", "--skip-train", "--keep", str(tmp_path / "x")])
    assert code == 2
    assert not (tmp_path / "x").exists()
