"""The manager's CLI commands (ls, best, show, prune, demo) through click's CliRunner and a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.cli import main
from simple_ckpt.errors import SimpleCkptError
from simple_ckpt.payload import make_weights_only_payload


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    manager = SimpleCheckpointManager(tmp_path / "run", "cli", fsync=False)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
    for epoch, score in ((1, 0.2), (2, 0.7), (3, 0.4), (4, 0.9), (5, 0.1)):
        manager.save_agent(
            net, epoch, {"score": score, "agent_step": epoch * 100, "evals": {"nav": 1 - score}}
        )
    manager.close()
    return tmp_path / "run"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ls_table(run_dir: Path) -> None:
    code, out, _ = invoke("ls", str(run_dir))
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["epoch", "agent_step", "score", "size", "file"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3", "4", "5"]
    assert lines[2].split()[1:3] == ["200", "0.7"] and lines[2].endswith("model_0002.pt")


def test_ls_where_sort_and_json(run_dir: Path) -> None:
    code, out, _ = invoke("ls", str(run_dir), "--where", "score>=0.4", "--sort", "-score", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["epoch"] for r in rows] == [4, 2, 3]
    assert rows[0]["metadata"]["evals"]["nav"] == pytest.approx(0.1)
    assert rows[0]["model_path"].endswith("model_0004.pt") and rows[0]["size"] > 0
    code, out, _ = invoke(
        "ls", str(run_dir / "checkpoints"), "--where", "evals.nav<0.5", "--where", "agent_step!=400"
    )
    assert code == 0 and [line.split()[0] for line in out.strip().splitlines()[1:]] == ["2"]


def test_ls_json_is_strict_json_with_nan(run_dir: Path) -> None:
    manager = SimpleCheckpointManager(run_dir, "cli", fsync=False)
    manager.save_agent(torch.nn.Linear(2, 2), 6, {"score": float("nan"), "evals": {"x": float("-inf")}})
    manager.close()
    code, out, _ = invoke("ls", str(run_dir), "--json")
    assert code == 0
    rows = json.loads(out, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert rows[-1]["score"] == "nan" and rows[-1]["metadata"]["evals"]["x"] == "-inf"
    code, out, _ = invoke("ls", str(run_dir), "--sort", "-score")
    assert code == 0 and [line.split()[0] for line in out.strip().splitlines()[1:]] == [
        "4",
        "2",
        "3",
        "1",
        "5",
        "6",
    ]


def test_ls_never_unpickles(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("ls unpickled a model"))
    assert invoke("ls", str(run_dir))[0] == 0
    assert invoke("best", str(run_dir))[0] == 0


def test_ls_errors_are_one_line(run_dir: Path, tmp_path: Path) -> None:
    code, out, err = invoke("ls", str(tmp_path / "missing"))
    assert code == 1 and err.strip().count("\n") == 0 and "missing: not a directory" in err
    code, _, err = invoke("ls", str(run_dir), "--where", "score ~ 3")
    assert code == 2 and "expected KEY OP VALUE" in err and "Traceback" not in err


def test_ls_warns_about_broken_sidecar_and_still_lists(run_dir: Path) -> None:
    (run_dir / "checkpoints" / "model_0003.yaml").write_text("{{{")
    code, out, err = invoke("ls", str(run_dir))
    assert code == 0 and "model_0003.yaml" in err and "warning" in err
    assert "model_0003.pt" in out


def test_best(run_dir: Path) -> None:
    code, out, _ = invoke("best", str(run_dir))
    assert code == 0 and out.strip().endswith("model_0004.pt")
    code, out, _ = invoke("best", str(run_dir), "--metric", "evals.nav", "--mode", "max")
    assert out.strip().endswith("model_0005.pt")
    code, _, err = invoke("best", str(run_dir), "--metric", "nope")
    assert code == 1 and "no checkpoint has a numeric 'nope'" in err


def test_show_module_and_payload(run_dir: Path) -> None:
    code, out, _ = invoke("show", str(run_dir / "checkpoints" / "model_0002.pt"))
    assert code == 0
    assert "score: 0.7" in out and "integrity: ok" in out
    assert "tensors: 4, elements: 58" in out and "0.weight  (8, 4)  float32" in out
    manager = SimpleCheckpointManager(run_dir, "cli", fsync=False)
    payload = make_weights_only_payload({"w": torch.zeros(3, 5)}, "pkg.Agent")
    path = manager.write_checkpoint(payload, 9, {"score": 0.3})
    manager.close()
    code, out, _ = invoke("show", str(path), "--weights-only")
    assert code == 0 and "weights-only payload" in out and "w  (3, 5)" in out


def test_show_detects_corruption_and_refuses_pickles_with_weights_only(run_dir: Path) -> None:
    path = run_dir / "checkpoints" / "model_0001.pt"
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF
    path.write_bytes(bytes(data))
    code, out, err = invoke("show", str(run_dir / "checkpoints" / "model_0002.pt"), "--weights-only")
    assert code == 1 and "weights_only" in err
    code, out, err = invoke("show", str(path))
    assert "integrity: FAILED" in out


def test_prune_dry_run_then_real(run_dir: Path) -> None:
    code, out, _ = invoke("prune", str(run_dir), "--keep-last", "1", "--keep-best", "1", "--dry-run")
    assert code == 0 and "would delete 3 checkpoint(s)" in out
    assert len(list((run_dir / "checkpoints").glob("model_*.pt"))) == 5
    code, out, _ = invoke("prune", str(run_dir), "--keep-last", "1", "--keep-best", "1")
    assert code == 0 and "deleted 3 checkpoint(s)" in out
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("model_*")) == [
        "model_0004.pt",
        "model_0004.yaml",
        "model_0005.pt",
        "model_0005.yaml",
    ]


def test_prune_fails_while_another_process_writes(run_dir: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from simple_ckpt.lease import RunLease; l = RunLease(sys.argv[1]).acquire(); "
            "print('held', flush=True); sys.stdin.read()",
            str(run_dir),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, _, err = invoke("prune", str(run_dir), "--keep-last", "1")
        assert code == 1 and f"pid {holder.pid}" in err and err.count("\n") == 1
    finally:
        holder.communicate(input="", timeout=60)
    assert len(list((run_dir / "checkpoints").glob("model_*.pt"))) == 5


def test_subprocess_entry_point_and_debug(run_dir: Path, tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "simple_ckpt", "best", str(run_dir)], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout.strip().endswith("model_0004.pt")
    bad = subprocess.run(
        [sys.executable, "-m", "simple_ckpt", "show", str(tmp_path / "x.pt")], capture_output=True, text=True
    )
    assert (
        bad.returncode == 1 and bad.stderr.startswith("simple-ckpt: error:") and "Traceback" not in bad.stderr
    )
    dbg = subprocess.run(
        [sys.executable, "-m", "simple_ckpt", "--debug", "show", str(tmp_path / "x.pt")],
        capture_output=True,
        text=True,
    )
    assert dbg.returncode != 0 and "Traceback" in dbg.stderr


def test_manager_demo_runs_end_to_end(tmp_path: Path) -> None:
    # The manager-only part of the demo (the full journey is tested in test_journey.py).
    from simple_ckpt.journey import demo_command

    def invoke_demo(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(demo_command, ["--train-only", *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = invoke_demo("--epochs", "2", "--keep", str(tmp_path / "demo_run"))
    assert code == 0
    assert "parameters identical: True" in out
    assert "best by evals.accuracy:" in out
    manager = SimpleCheckpointManager(tmp_path / "demo_run", "demo_run")
    assert [i.epoch for i in manager.list_all_checkpoints()] == [1, 2, 3, 4]
    assert manager.load_trainer_state()["epoch"] == 4
    with pytest.raises(SimpleCkptError, match="already has checkpoints"):
        invoke_demo("--epochs", "1", "--keep", str(tmp_path / "demo_run"))
