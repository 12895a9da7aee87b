"""Corrupt and odd inputs through the real CLI (`.venv/bin/simple-ckpt` in a subprocess).

Every bad input gets a one-line error naming it and a non-zero exit, never a traceback (unless
``--debug``), never a hang, and never stops the rest of the batch. Unreadable files cannot be made with
chmod as root, so they are simulated by a FIFO (a reader that opened it would block: the subprocess
timeout catches that), a directory named like a model file, a symlink loop and a dangling symlink.
The read side's unit tests (test_migrate_read_corrupt.py) cover each damage in-process; this file checks
the commands users run, in batches.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from hostile.odd_files import write_bad_yaml_pairs, write_odd_files
from legacy_world import LegacyWorld

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI = PROJECT_ROOT / ".venv" / "bin" / "simple-ckpt"


def run_cli(*args: object, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "simple_ckpt"]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
    )


def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def test_migrate_batch_of_damaged_and_odd_files(legacy_world: LegacyWorld, tmp_path: Path) -> None:
    run = legacy_world.make_run_dir(legacy_world.root / "td", "run_o", generation="L6", epochs=(0, 10))
    ckpts = run / "checkpoints"
    odd = write_odd_files(ckpts / "model_0010.pt", ckpts)
    odd.update(write_bad_yaml_pairs(ckpts))
    os.symlink("..", ckpts / "loop_dir")  # a directory symlink loop inside the run dir
    before = {p.name: _sha(p) for p in ckpts.iterdir() if not p.is_symlink()}
    report = tmp_path / "r.json"
    proc = run_cli("migrate", "-q", "--out", tmp_path / "out", "--report", report, run, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    files = {Path(f["source"]).name: f for f in json.loads(report.read_text())["files"]}
    assert [files[f"model_{e:04d}.pt"]["status"] for e in (0, 10)] == ["converted", "converted"]
    assert files["trainer_state.pt"]["status"] == "converted"
    not_files = {"model_0008.pt"}  # a directory: walked into, never read as a checkpoint
    for name, description in odd.items():
        if name in not_files:
            assert name not in files or files[name]["status"] != "converted", description
            continue
        entry = files.get(name)
        assert entry is not None, f"{description} ({name}) is missing from the report"
        assert entry["status"] in ("failed", "skipped"), (description, entry)
        assert entry["reason"] and "\n" not in entry["reason"], (description, entry)
        line = next(line for line in proc.stdout.splitlines() if name in line)
        assert entry["status"] in line, line
    assert files["model_0006.pt"]["status"] == "failed" and "size" in files["model_0006.pt"]["reason"]
    assert "regular file" in files["model_0007.pt"]["reason"]
    after = {p.name: _sha(p) for p in ckpts.iterdir() if not p.is_symlink()}
    assert after == before  # nothing a user had was changed


def test_inspect_each_odd_file_one_line_no_traceback(legacy_world: LegacyWorld, tmp_path: Path) -> None:
    good = legacy_world.write_policy(legacy_world.root / "good" / "model_0010.pt", generation="L6")
    odd = write_odd_files(good, tmp_path / "odd")
    odd.update(write_bad_yaml_pairs(tmp_path / "odd"))
    links = {"model_0009.pt", "model_0011.pt"}  # click rejects them before inspect runs (exit 2 below)
    targets = [tmp_path / "odd" / name for name in odd if name not in links and name != "model_0008.pt"]
    proc = run_cli("inspect", good, *targets)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("simple-ckpt inspect: error:")]
    for target in targets:
        hits = [e for e in errors if str(target) in e or str(target.with_suffix(".yaml")) in e]
        assert len(hits) == 1, (odd[target.name], proc.stderr)
    assert f"{len(targets)} of {len(targets) + 1} file(s) failed" in proc.stderr
    assert "verdict" in proc.stdout  # the good file was still described
    for link in sorted(links):
        proc = run_cli("inspect", tmp_path / "odd" / link)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and link in errors[0], proc.stderr  # click's usage error, one line


def test_show_on_odd_files_and_debug_gives_the_traceback(legacy_world: LegacyWorld, tmp_path: Path) -> None:
    good = legacy_world.write_policy(legacy_world.root / "good" / "model_0010.pt", generation="L6")
    odd = write_odd_files(good, tmp_path / "run" / "checkpoints")
    for name in ("model_0001.pt", "model_0003.pt", "model_0007.pt"):
        proc = run_cli("show", tmp_path / "run" / "checkpoints" / name, timeout=60)
        assert proc.returncode != 0, (odd[name], proc.stdout)
        assert "Traceback" not in proc.stderr, (odd[name], proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], (odd[name], proc.stderr)
    proc = run_cli("ls", tmp_path / "run", timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    debug = run_cli("--debug", "show", tmp_path / "run" / "checkpoints" / "model_0001.pt", timeout=60)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


LEGACY_SOURCE = (
    "from metta.agent.policy_store import PolicyStore\n\n"
    "def load(cfg):\n"
    "    store = PolicyStore(cfg, None)\n"
    "    return store.policy_record('file://./x.pt')\n"
)


def _source_tree(root: Path) -> dict[str, bytes]:
    files = {
        "good.py": LEGACY_SOURCE.encode(),
        "latin1.py": b"# caf\xe9\n" + LEGACY_SOURCE.encode(),
        "syntax.py": b"from metta.agent.policy_store import PolicyStore\ndef f(:\n    pass\n",
        "nul.py": LEGACY_SOURCE.encode() + b"x = 1\x00\n",
        "pkg/ok.py": b"x = 1\n",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    os.mkfifo(root / "pkg" / "fifo.py")
    os.symlink("..", root / "pkg" / "loop")
    os.symlink("missing.py", root / "pkg" / "dangling.py")
    return files


def test_codemod_and_check_report_and_skip_unreadable_sources(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    files = _source_tree(tree)
    proc = run_cli("check", tree, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    out = proc.stdout + proc.stderr
    for rel in ("latin1.py", "syntax.py", "nul.py"):
        assert any(rel in line and ("unreadable" in line or "syntax" in line) for line in out.splitlines()), (
            rel,
            out,
        )
    assert "good.py" in out
    proc = run_cli("codemod", tree, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    out = proc.stdout + proc.stderr
    for rel in ("latin1.py", "syntax.py", "nul.py"):
        assert rel in out, (rel, out)
        assert (tree / rel).read_bytes() == files[rel]  # reported and skipped, untouched
    assert (tree / "good.py").read_bytes() != files["good.py"]  # the rest of the tree was still rewritten
    assert "SimpleCheckpointManager" in (tree / "good.py").read_text()
    assert (tree / "pkg" / "ok.py").read_bytes() == files["pkg/ok.py"]
