"""Tests of the stats DB with mock records (patterns C4, C5 in a dict literal and a cast, Y5)."""

from simple_ckpt.compat import make_test_checkpoint

from metta.eval.eval_stats_db import EvalStatsDB


def test_average_metric() -> None:
    record = make_test_checkpoint("p", 1)
    by_name = {"p": make_test_checkpoint("p", 1)}
    db = EvalStatsDB([{"key": "p", "version": 1, "reward": 2.0}])
    assert db.get_average_metric_by_filter("reward", record) == 2.0
    assert set(by_name) == {"p"}


def test_metadata_defaults() -> None:
    metadata = dict(agent_step=0, generation=0, train_time=0, epoch=3)
    assert metadata["epoch"] == 3
    assert metadata.get("agent_step") == 0
