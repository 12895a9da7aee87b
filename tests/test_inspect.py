"""`simple-ckpt inspect`: text and JSON reports, batches with bad files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from legacy_world import LegacyWorld

from simple_ckpt.cli import main

# Nothing named like a legacy package may be importable: the reader must not find the legacy code.
pytestmark = pytest.mark.usefixtures("no_legacy_modules")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["inspect", *args])
    return result.exit_code, result.stdout, result.stderr


def test_text_report_of_a_legacy_policy(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L8")
    code, out, err = _run(str(path))
    assert code == 0, err
    assert "generation: L8   container: metta.agent.policy_record.PolicyRecord" in out
    assert "agent: metta.agent.metta_agent.MettaAgent   layout: A2" in out
    assert "standin  metta.agent.component_policy.ComponentPolicy" in out
    assert "allowed  torch._utils._rebuild_tensor_v2" in out
    assert "dropped: policy.components._core_.lstm_h; policy.components._core_.lstm_c" in out
    assert "verdict: safe" in out
    assert "    epoch: 10" in out
    assert "  1 x metta.agent.component_policy.ComponentPolicy" in out
    assert "  2 x metta.agent.lib.nn_layer_library.Linear" in out


def test_json_report_fields(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L4")
    code, out, _ = _run("--json", str(path))
    assert code == 0
    (report,) = json.loads(out)
    assert report["generation"] == "L4"
    assert report["agent_layout"] == "A1"
    assert report["state_dict_tensors"] == len(legacy_world.expected_state_dict("L4", 10))
    assert report["metadata"]["score"] == 0.25  # numpy float64 rendered as a JSON number
    assert report["tensors_all"] >= report["tensors_distinct"] >= report["state_dict_tensors"]
    handling = {f"{g['module']}.{g['name']}": g["handling"] for g in report["globals"]}
    assert handling["numpy.core.multiarray._reconstruct"] == "allowed"
    assert handling["metta.agent.policy_store.PolicyRecord"] == "standin"
    assert handling["metta.agent.metta_agent.MettaAgent"] == "stub"


def test_batch_reports_every_failure_and_exits_1(legacy_world: LegacyWorld) -> None:
    good = legacy_world.write_policy(legacy_world.root / "a" / "model_0010.pt", generation="L6")
    command, sentinel = legacy_world.sentinel_command()
    evil = legacy_world.write_hostile(legacy_world.root / "b" / "model_0020.pt", "os", "system", command)
    bare = legacy_world.write_bare_state_dict(legacy_world.root / "c" / "final.pt")
    empty = legacy_world.root / "d" / "model_0030.pt"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    trainer = legacy_world.write_trainer_state(legacy_world.root / "e" / "trainer_state.pt", generation="T6")
    code, out, err = _run(str(good), str(evil), str(bare), str(empty), str(trainer))
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("simple-ckpt inspect: error:")]
    assert len(errors) == 3
    assert any(str(evil) in line and "os.system" in line for line in errors)
    assert any(str(bare) in line and "bare state_dict" in line for line in errors)
    assert any(str(empty) in line and "empty file" in line for line in errors)
    assert "3 of 5 file(s) failed" in err
    assert "UNSAFE" in out and "refused  os.system" in out  # the refused file is still described
    assert "generation: T6" in out and str(good) in out
    assert not sentinel.exists()


def test_directory_argument_expands_to_checkpoints(legacy_world: LegacyWorld) -> None:
    run = legacy_world.make_run_dir(
        legacy_world.root, "run_x", generation="L7", epochs=(0, 10), trainer_state="T7"
    )
    code, out, _ = _run("--json", str(run))
    assert code == 0
    reports = json.loads(out)
    assert sorted(Path(r["path"]).name for r in reports) == [
        "model_0000.pt",
        "model_0010.pt",
        "trainer_state.pt",
    ]
    assert {r["generation"] for r in reports} == {"L6", "L7", "T7"}  # epoch 0 carries creation metadata only


def test_real_fixture_counts(shared_legacy_dir: Path) -> None:
    code, out, _ = _run("--json", str(shared_legacy_dir / "l6-policyrecord-v2-a1/checkpoints/model_0000.pt"))
    assert code == 0
    (report,) = json.loads(out)
    assert (report["tensors_all"], report["tensors_distinct"], report["state_dict_tensors"]) == (34, 22, 27)
    (pickle,) = report["pickles"]
    assert (pickle["member"], pickle["protocol"], pickle["persistent_ids"]) == (
        "model_0000.pt/data.pkl",
        2,
        34,
    )
    assert pickle["reduce"] > 0 and pickle["newobj"] > 0
    assert report["verdict"].startswith("safe")
