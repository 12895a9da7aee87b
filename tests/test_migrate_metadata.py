"""Metadata normalisation, key-set classification and §11 repairs (migrate.metadata)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import yaml

from migrate.metadata import FileFacts, TrainerFacts, Unplain, classify, plain_mapping, repair, to_plain


class _Node:
    """An OmegaConf-shaped stand-in: containers keep `_content`, leaves `_val` (spec §6.5)."""

    def __init__(self, **state: object) -> None:
        self.__dict__.update(state)


def test_to_plain_round_trips_through_safe_yaml() -> None:
    value = {
        "score": np.float64(0.25),
        "steps": np.int64(7),
        "nan": np.float64("nan"),
        "names": ("a", "b"),
        "arr": np.array([1, 2]),
        "t": torch.tensor(3.5),
        "cfg": _Node(
            _content={"lr": _Node(_val=0.1), "layers": _Node(_content=[_Node(_val=1)])}, _parent=None
        ),
    }
    plain = to_plain(value)
    loaded = yaml.safe_load(yaml.safe_dump(plain))
    assert type(loaded["score"]) is float and loaded["score"] == 0.25
    assert type(loaded["steps"]) is int and loaded["steps"] == 7
    assert math.isnan(loaded["nan"])
    assert loaded["names"] == ["a", "b"] and loaded["arr"] == [1, 2] and loaded["t"] == 3.5
    assert loaded["cfg"] == {"lr": 0.1, "layers": [1]}


def test_unplain_values_are_reported_not_replaced() -> None:
    class Opaque:
        __slots__ = ()

    plain, unreadable = plain_mapping({"ok": 1, "bad": Opaque()})
    assert plain == {"ok": 1}
    assert list(unreadable) == ["bad"] and "Opaque" in unreadable["bad"]
    with pytest.raises(Unplain):
        to_plain(Opaque())


@pytest.mark.parametrize(
    ("metadata", "epoch", "expected"),
    [
        ({"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}, 30, "M9"),
        ({"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}, 0, "M0-init"),
        (
            {
                "agent_step": 1,
                "epoch": 1,
                "run": "r",
                "action_names": [],
                "generation": 0,
                "initial_uri": None,
            },
            1,
            "M1",
        ),
        (
            {"agent_step": 1, "epoch": 1, "run": "r", "eval_scores": {"navigation_score": 0.1}, "score": 0.1},
            1,
            "M4",
        ),
        (
            {"agent_step": 1, "epoch": 1, "run": "r", "eval_scores": {"navigation": 0.1}, "score": 0.1},
            1,
            "M6",
        ),
        ({"epoch": 1, "total_time": 1.0, "evals": {}, "avg_reward": 0.1, "score": 0.1}, 1, "M7"),
        ({"epoch": 1, "total_time": 1.0, "total_train_time": 1.0}, 1, "M8"),
    ],
)
def test_classify(metadata: dict, epoch: int, expected: str) -> None:
    assert classify(metadata, epoch) == expected


def _facts(name: str = "model_0030.pt", epoch: int | None = 30) -> FileFacts:
    return FileFacts(file_name=name, epoch_from_name=epoch, run_from_dir="run_a")


def test_empty_metadata_repaired_from_trainer_state_of_that_epoch() -> None:
    trainer = TrainerFacts("run_a/trainer_state.pt", 30, 30720, "model_0030.pt", 130.0, 72.0)
    empty = {"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}
    out = repair(empty, _facts(), trainer)
    md = out.metadata
    assert out.metadata_set == "M9"
    assert (md["epoch"], md["agent_step"], md["total_time"], md["total_train_time"], md["run"]) == (
        30,
        30720,
        130.0,
        72.0,
        "run_a",
    )
    assert out.recovered["epoch"] == {"value": 30, "from": "file name", "was": 0}
    assert out.recovered["agent_step"]["from"] == "trainer state run_a/trainer_state.pt"
    assert out.recovered["run"]["from"] == "run directory name"
    assert "score" in out.unrecovered  # not on disk: left unset, never invented
    assert "score" not in md


def test_empty_metadata_of_another_epoch_keeps_zero_and_says_so() -> None:
    trainer = TrainerFacts("t.pt", 40, 40960, "model_0040.pt", 140.0, 80.0)
    out = repair({"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}, _facts(), trainer)
    assert out.metadata["epoch"] == 30
    assert out.metadata["agent_step"] == 0 and "agent_step" in out.unrecovered
    assert "total_time" not in out.metadata
    assert any("agent_step unknown" in w for w in out.warnings)


def test_m7_train_time_default_replaced_by_total_train_time_and_recorded() -> None:
    md = {
        "epoch": 10,
        "agent_step": 5,
        "total_time": 110.0,
        "total_train_time": 70.0,
        "train_time": 0.0,
        "run": "x",
    }
    out = repair(md, _facts("model_0010.pt", 10), None)
    assert out.metadata["train_time"] == 70.0
    assert out.recovered["train_time"]["was"] == 0.0
    assert out.metadata["run"] == "x"  # the legacy run name wins over the directory
    assert any("differs from the run directory" in w for w in out.warnings)


def test_score_and_avg_reward_from_evals_and_epoch_from_record_for_cache_files() -> None:
    md = {"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}
    record = {"run_name": "model_5050.pt", "uri": "file:///mnt/s3/train_dir/r/checkpoints/model_5050.pt"}
    out = repair(md, FileFacts("", None, "r"), None, record)
    assert out.metadata["epoch"] == 5050 and out.recovered["epoch"]["from"] == "record run_name"
    evals = {"avg_simulation_score": 0.4, "avg_category_score": 0.3}
    out = repair(
        {"epoch": 3, "agent_step": 1, "evals": evals, "total_time": 1.0}, _facts("model_0003.pt", 3), None
    )
    assert out.metadata["score"] == 0.4 and out.metadata["avg_reward"] == 0.3


def test_uri_name_fields_fill_metadata() -> None:
    facts = FileFacts(
        "r__e7__s700__t12__sc2500.pt", 7, "r", {"agent_step": 700, "total_time": 12, "score": 0.25}
    )
    out = repair({}, facts, None)
    md = out.metadata
    assert (md["epoch"], md["agent_step"], md["total_time"], md["score"], md["run"]) == (
        7,
        700,
        12,
        0.25,
        "r",
    )
    assert out.recovered["score"]["from"] == "file name"
