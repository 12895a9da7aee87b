"""read_legacy end to end: every generation written by the stand-in legacy world, and the real fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from legacy_world import CONTAINER, DEFAULT_LAYOUT, LegacyWorld

from migrate.errors import NotLegacyCheckpoint
from migrate.model import LegacyPolicy, LegacyTrainerState, ReadOptions
from migrate.names import parse_uri_name
from migrate.read import inventory, read_legacy, sha256_of

# Nothing named like a legacy package may be importable: the reader must not find the legacy code.
pytestmark = pytest.mark.usefixtures("no_legacy_modules")

RECORD_GENERATIONS = ("L1", "L2", "L3", "L4", "L6", "L7", "L8", "L9")


def _assert_same_tensors(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert list(actual) == list(expected)
    for key, tensor in expected.items():
        assert actual[key].dtype == tensor.dtype, key
        assert torch.equal(actual[key], tensor), key


@pytest.mark.parametrize("generation", RECORD_GENERATIONS)
def test_policy_record_generations(legacy_world: LegacyWorld, generation: str) -> None:
    path = legacy_world.write_policy(
        legacy_world.root / "checkpoints" / "model_0010.pt", generation=generation
    )
    result = read_legacy(path)
    assert isinstance(result, LegacyPolicy)
    assert result.generation == generation
    assert result.container == CONTAINER[generation]
    assert result.agent_layout == DEFAULT_LAYOUT[generation]
    assert result.metadata == legacy_world.expected_metadata(generation, 10)
    assert result.sha256 == sha256_of(path)
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict(generation, 10))
    assert result.record["uri"].endswith("/model_0010.pt")
    assert result.agent_classes_real is False  # nothing legacy is importable here


def test_v1_record_keeps_its_policy_store_only_in_l1(legacy_world: LegacyWorld) -> None:
    l1 = read_legacy(legacy_world.write_policy(legacy_world.root / "a.pt", generation="L1"))
    l2 = read_legacy(legacy_world.write_policy(legacy_world.root / "b.pt", generation="L2"))
    assert l1.record["policy_store"] == "agent.policy_store.PolicyStore"
    assert l2.record["policy_store"] is None


def test_l0_raw_puffer_module(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_000010.pt", generation="L0")
    result = read_legacy(path)
    assert (result.generation, result.container, result.agent_layout) == ("L0", "raw-module", "puffer")
    assert result.agent_class == "rl.pufferlib.puffer_agent_wrapper.Recurrent"
    assert result.record["name"] == "model_000010.pt"
    assert result.metadata == {}
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict("L0", 10))
    assert any(key.startswith("policy._encoder.") for key in result.state_dict)


def test_l5_torch_package_is_read_without_running_its_code(
    legacy_world: LegacyWorld, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the interned metta/agent/__init__.py would create PACKAGE_SOURCE_RAN here
    path = legacy_world.write_torch_package(legacy_world.root / "model_0010.pt", epoch=10)
    result = read_legacy(path)
    assert (result.generation, result.container, result.agent_layout) == ("L5", "torch.package", "A1")
    assert result.metadata == legacy_world.expected_metadata("L5", 10)
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict("L5", 10))
    assert not (tmp_path / "PACKAGE_SOURCE_RAN").exists()
    assert {use.member.rsplit("/", 2)[-2] for use in result.globals} == {"policy_record", "policy"}


def test_uri_named_raw_agent_is_generation_n(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_uri_named(legacy_world.root / "checkpoints", run="myrun", epoch=7, score=0.25)
    assert parse_uri_name(path.name) is not None
    result = read_legacy(path)
    assert (result.generation, result.container, result.agent_layout) == ("N", "raw-module", "A2")
    assert result.agent_class == "metta.agent.metta_agent.MettaAgent"
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict("N", 7))


def test_raw_agent_with_other_name_is_pre_release_b3(legacy_world: LegacyWorld) -> None:
    result = read_legacy(
        legacy_world.write_policy(legacy_world.root / "agent_epoch_3.pt", generation="N", epoch=3)
    )
    assert result.generation == "B3"
    assert result.warnings


def test_parse_uri_name_rules() -> None:
    parsed = parse_uri_name("run.a__e12__s3400__t99__sc2500.pt")
    assert parsed is not None
    assert (parsed.run, parsed.epoch, parsed.agent_step, parsed.total_time, parsed.score) == (
        "run.a",
        12,
        3400,
        99,
        0.25,
    )
    assert parse_uri_name("run__e12__s3400__t99__sc-5.pt") is None  # negative scores were invisible
    assert parse_uri_name("run__e12__s3400__t99.pt") is None
    assert parse_uri_name("model_0010.pt") is None


def test_l8_lstm_caches_are_dropped_and_listed(legacy_world: LegacyWorld) -> None:
    result = read_legacy(legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L8"))
    assert result.dropped == ["policy.components._core_.lstm_h", "policy.components._core_.lstm_c"]
    lstm = result.agent.policy.components["_core_"]
    assert "lstm_h" not in lstm.__dict__ and "lstm_c" not in lstm.__dict__
    plain = read_legacy(
        legacy_world.write_policy(legacy_world.root / "model_0020.pt", generation="L6", epoch=20)
    )
    assert plain.dropped == []


def test_l9_empty_metadata_bug_and_creation_record(legacy_world: LegacyWorld) -> None:
    l9 = read_legacy(
        legacy_world.write_policy(legacy_world.root / "model_0030.pt", generation="L9", epoch=30)
    )
    assert l9.generation == "L9"
    assert l9.metadata == {"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}
    first = read_legacy(
        legacy_world.write_policy(legacy_world.root / "model_0000.pt", generation="L9", epoch=0)
    )
    assert first.generation == "L8" and first.warnings  # a creation record cannot tell L8 from L9


@pytest.mark.parametrize("numpy_paths", ["1", "2"])
def test_numpy_1_and_2_pickle_paths(legacy_world: LegacyWorld, numpy_paths: str) -> None:
    path = legacy_world.write_policy(
        legacy_world.root / "model_0010.pt", generation="L4", numpy_paths=numpy_paths
    )
    spelled = {use.module for use in inventory(path) if use.name == "_reconstruct"}
    assert spelled == {"numpy.core.multiarray" if numpy_paths == "1" else "numpy._core.multiarray"}
    result = read_legacy(path)
    score = result.metadata["score"]
    assert isinstance(score, np.float64) and score == 0.25
    nvec = result.agent.agent_attributes["action_space"].nvec
    assert isinstance(nvec, np.ndarray) and nvec.tolist() == [4, 9]


@pytest.mark.parametrize("device", ["cuda:0", "mps"])
def test_gpu_saved_tensors_load_on_cpu(legacy_world: LegacyWorld, device: str) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L8", device=device)
    result = read_legacy(path)
    assert all(t.device.type == "cpu" for t in result.state_dict.values())
    assert str(result.agent.device) == device  # the recorded torch.device attribute is kept as written
    assert f"storages saved on {device} were loaded on cpu" in result.warnings
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict("L8", 10))


@pytest.mark.parametrize(
    ("generation", "keys"),
    [
        ("T0", {"optimizer_state_dict", "global_step", "agent_step", "epoch", "model_name", "run"}),
        ("T1", {"optimizer_state_dict", "agent_step", "epoch", "model_path"}),
        ("T2", {"optimizer_state_dict", "agent_step", "epoch", "policy_path"}),
        ("T3", {"optimizer_state_dict", "agent_step", "epoch", "policy_path", "average_reward"}),
        (
            "T4",
            {"optimizer_state_dict", "agent_step", "epoch", "policy_path", "total_agent_step", "extra_args"},
        ),
        ("T5", {"optimizer_state_dict", "agent_step", "epoch", "policy_path", "total_agent_step"}),
        (
            "T6",
            {
                "optimizer_state_dict",
                "agent_step",
                "epoch",
                "policy_path",
                "total_agent_step",
                "stopwatch_state",
            },
        ),
        ("T7", {"optimizer_state_dict", "agent_step", "epoch", "policy_path", "stopwatch_state"}),
        ("N", {"optimizer", "agent_step", "epoch", "stopwatch_state"}),
    ],
)
def test_trainer_state_generations(legacy_world: LegacyWorld, generation: str, keys: set[str]) -> None:
    path = legacy_world.write_trainer_state(
        legacy_world.root / "trainer_state.pt", generation=generation, epoch=20
    )
    result = read_legacy(path)
    assert isinstance(result, LegacyTrainerState)
    assert result.generation == generation
    assert set(result.state) == keys
    assert result.state["epoch"] == 20
    optimizer = result.state.get("optimizer_state_dict", result.state.get("optimizer"))
    assert set(optimizer) == {"state", "param_groups"}
    assert all(isinstance(v, torch.Tensor) for v in optimizer["state"][0].values())
    if generation == "T3":
        assert isinstance(result.state["average_reward"], np.float64)


def test_safetensors_pair_b1(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_safetensors_pair(legacy_world.root / "checkpoints" / "model_0010", epoch=10)
    result = read_legacy(path)
    assert (result.generation, result.container, result.agent, result.agent_layout) == (
        "B1",
        "safetensors",
        None,
        "A2",
    )
    assert result.metadata == legacy_world.expected_metadata("L8", 10)
    assert result.record["agent"]["agent_attributes"]["action_space"] == {
        "__tag__": "MultiDiscrete",
        "nvec": [4, 9],
        "dtype": "int64",
    }
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict("L8", 10, layout="A2"))
    assert inventory(path) == []


def test_safetensors_without_sidecar_warns(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_safetensors_pair(legacy_world.root / "model_0010", epoch=10)
    path.with_suffix(".yaml").unlink()
    result = read_legacy(path)
    assert result.metadata == {} and "no YAML sidecar" in result.warnings[0]
    assert len(result.state_dict) == len(legacy_world.expected_state_dict("L8", 10))


def test_wandb_artifact_cache_file_is_an_ordinary_legacy_file(legacy_world: LegacyWorld) -> None:
    train_dir = legacy_world.make_train_dir(
        legacy_world.root / "train_dir", runs={"run_a": "L6"}, epochs=(0, 10)
    )
    result = read_legacy(train_dir / "artifacts" / "run_a:v3" / "model.pt")
    assert result.generation == "L6"
    assert result.metadata["epoch"] == 10


def test_bare_state_dict_is_not_a_legacy_checkpoint(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_bare_state_dict(legacy_world.root / "final_model.pt")
    with pytest.raises(
        NotLegacyCheckpoint, match=r"final_model\.pt: not a legacy checkpoint: a bare state_dict of 4"
    ):
        read_legacy(path)


def test_plain_torch_module_is_not_a_legacy_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(NotLegacyCheckpoint, match="not a legacy agent"):
        read_legacy(path)


def test_real_classes_resolve_when_importable(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L6")
    with legacy_world.importable():
        options = ReadOptions(allow_modules=("omegaconf", "gymnasium", "typing"))
        handling = {use.qualified_name: use.handling for use in inventory(path, options)}
        result = read_legacy(path, options)
        assert type(result.agent).__module__ == "metta.agent.metta_agent"
        assert type(result.agent).__module__ in sys.modules
        stubbed = read_legacy(path, ReadOptions(import_real_classes=False))
    assert handling["metta.agent.metta_agent.MettaAgent"] == "real"
    assert (
        handling["metta.agent.policy_record.PolicyRecord"] == "standin"
    )  # deleted classes never resolve to real
    assert result.agent_classes_real is True
    assert stubbed.agent_classes_real is False
    assert {use.handling for use in stubbed.globals} <= {"allowed", "standin", "stub"}
    _assert_same_tensors(result.state_dict, stubbed.state_dict)


def test_real_classes_only_from_the_agent_package(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L6")
    with legacy_world.importable():
        handling = {use.qualified_name: use.handling for use in inventory(path)}
        loaded_before = "omegaconf" in sys.modules
        read_legacy(path)
        imported_helper = "omegaconf" in sys.modules and not loaded_before
    assert handling["metta.agent.metta_agent.MettaAgent"] == "real"
    assert (
        handling["omegaconf.dictconfig.DictConfig"] == "stub"
    )  # importable, but not under an allowed prefix
    assert not imported_helper


def test_abstract_component_policy_maps_to_concrete_standin(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L8")
    with legacy_world.importable():
        result = read_legacy(path)
    assert type(result.agent.policy).__module__ == "migrate.standins"
    handling = {use.qualified_name: use.handling for use in result.globals}
    assert handling["metta.agent.component_policy.ComponentPolicy"] == "standin"


def test_omegaconf_stub_keeps_plain_values(legacy_world: LegacyWorld) -> None:
    from migrate.standins import plain_value

    result = read_legacy(legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L8"))
    assert plain_value(result.agent.policy.cfg) == {
        "clip_range": 0,
        "components": {"cnn1": {"_target_": "metta.agent.lib.nn_layer_library.Conv2d"}},
    }


# ------------------------------------------------------------------------------------ real fixtures
REAL = {
    "l6-policyrecord-v2-a1/checkpoints/model_0000.pt": ("L6", "A1", 34, 22),
    "l6-policyrecord-v2-a1/checkpoints/model_0050.pt": ("L6", "A1", 36, 36),
    "l8-policyrecord-v2-a2/checkpoints/model_0000.pt": ("L8", "A2", 34, 22),
    "l8-policyrecord-v2-a2/checkpoints/model_0020.pt": ("L8", "A2", 38, 36),
}


@pytest.mark.parametrize("relative", sorted(REAL))
def test_real_fixtures(shared_legacy_dir: Path, relative: str) -> None:
    from migrate.read import read_counted

    generation, layout, all_tensors, distinct = REAL[relative]
    result = read_counted(shared_legacy_dir / relative)
    assert isinstance(result, LegacyPolicy)
    assert (result.generation, result.agent_layout) == (generation, layout)
    assert result.container == "metta.agent.policy_record.PolicyRecord"
    assert len(result.state_dict) == 27  # spec §1: a full state_dict() of 27 tensors
    assert result._tensor_counts == (all_tensors, distinct)
    prefix = "components." if layout == "A1" else "policy.components."
    assert all(key.startswith(prefix) for key in result.state_dict)
    assert all(t.device.type == "cpu" for t in result.state_dict.values())


def test_real_l6_metadata(shared_legacy_dir: Path) -> None:
    first = read_legacy(shared_legacy_dir / "l6-policyrecord-v2-a1/checkpoints/model_0000.pt")
    assert first.metadata == {"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}
    last = read_legacy(shared_legacy_dir / "l6-policyrecord-v2-a1/checkpoints/model_0050.pt")
    assert last.metadata["epoch"] == 50
    assert "original_feature_mapping" in last.metadata and "eval_scores" in last.metadata
    assert last.record["run_name"] == "model_0050.pt"
    assert "components.cnn1._net.0.weight" in last.state_dict
    assert any(use.module == "numpy._core.multiarray" for use in last.globals)


def test_real_l8_metadata_and_mps(shared_legacy_dir: Path) -> None:
    result = read_legacy(shared_legacy_dir / "l8-policyrecord-v2-a2/checkpoints/model_0020.pt")
    assert result.metadata["epoch"] == 20
    assert set(result.metadata["evals"]) >= {"category_scores", "avg_category_score"}
    assert result.agent_class == "metta.agent.metta_agent.MettaAgent"
    assert result.dropped == ["policy.components._core_.lstm_h", "policy.components._core_.lstm_c"]
    assert str(result.agent.device) == "mps"


def test_real_fixture_through_torch_load_pickle_module(shared_legacy_dir: Path) -> None:
    """The restricted unpickler also works as torch.load's pickle_module (mps tensors mapped to cpu)."""
    from migrate.unpickler import GlobalPolicy, pickle_module

    path = shared_legacy_dir / "l8-policyrecord-v2-a2/checkpoints/model_0020.pt"
    record = torch.load(
        path, map_location="cpu", weights_only=False, pickle_module=pickle_module(GlobalPolicy())
    )
    direct = read_legacy(path)
    _assert_same_tensors(dict(record._cached_policy.state_dict()), direct.state_dict)


@pytest.mark.parametrize(
    ("source", "warning"),
    [
        ("class MettaAgent:\n    def __init__(self, env):\n        self.env = env\n", "is not an nn.Module"),
        (
            "import torch\n\nclass MettaAgent(torch.nn.Module):\n"
            "    def __setstate__(self, state):\n        raise KeyError('no such field')\n",
            "real classes could not restore the file",
        ),
    ],
)
def test_installed_classes_that_do_not_fit_fall_back_to_stubs(
    legacy_world: LegacyWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, warning: str
) -> None:
    """Another version of the agent package is installed: the file is still read, with inert stubs."""
    from legacy_world import builders

    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L6")
    fake = tmp_path / "installed"
    (fake / "metta" / "agent").mkdir(parents=True)
    (fake / "metta" / "__init__.py").write_text("")
    (fake / "metta" / "agent" / "__init__.py").write_text("")
    (fake / "metta" / "agent" / "metta_agent.py").write_text(source)
    monkeypatch.syspath_prepend(str(fake))
    builders.BLOCKER.suspended += 1
    try:
        assert {u.handling for u in inventory(path) if u.name == "MettaAgent"} == {"real"}
        result = read_legacy(path)
    finally:
        builders.BLOCKER.suspended -= 1
        for name in [n for n in sys.modules if n.split(".")[0] == "metta"]:
            del sys.modules[name]
    assert warning in result.warnings[-1]
    assert result.agent_classes_real is False
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict("L6", 10))


def test_pytorch_agent_layout_inside_a_record(legacy_world: LegacyWorld) -> None:
    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L7", layout="pytorch")
    result = read_legacy(path)
    assert (result.generation, result.agent_layout) == ("L7", "pytorch")
    assert result.agent_class == "metta.rl.puffer_policy.PytorchAgent"
    _assert_same_tensors(result.state_dict, legacy_world.expected_state_dict("L7", 10, layout="pytorch"))


def test_every_tensor_kind_round_trips_bit_for_bit(tmp_path: Path) -> None:
    """Storages of every dtype, views sharing a storage, empty and non-contiguous tensors, parameters."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    tensors = {
        "half": torch.randn(3, 2).half(),
        "bf16": torch.randn(5).bfloat16(),
        "bool": torch.tensor([True, False, True]),
        "int8": torch.tensor([-3, 7], dtype=torch.int8),
        "int64": torch.tensor([1 << 40]),
        "float64": torch.tensor([1e-300]),
        "complex": torch.tensor([1 + 2j], dtype=torch.complex64),
        "empty": torch.empty(0, 3),
        "scalar": torch.tensor(3.5),
        "transposed": base.t(),
        "row_view": base[1],
        "param": torch.nn.Parameter(torch.randn(2, 2)),
    }
    extras = {"dtype": torch.bfloat16, "size": torch.Size([2, 3]), "device": torch.device("cpu")}
    path = tmp_path / "trainer_state.pt"
    torch.save(
        {"optimizer": {"state": {}, "param_groups": []}, "epoch": 1, "agent_step": 2, **tensors, **extras},
        path,
    )
    result = read_legacy(path)
    assert isinstance(result, LegacyTrainerState) and result.generation == "N"
    for key, tensor in tensors.items():
        got = result.state[key]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape and got.stride() == tensor.stride(), (
            key
        )
        assert torch.equal(got, tensor), key
    assert isinstance(result.state["param"], torch.nn.Parameter)
    assert (
        result.state["transposed"].untyped_storage().data_ptr()
        == result.state["row_view"].untyped_storage().data_ptr()
    )
    assert {k: result.state[k] for k in extras} == extras
