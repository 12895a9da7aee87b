"""Tests of the stats DB with mock records (patterns C4, C5 in a dict literal and a cast, Y5)."""

from typing import cast

from metta.agent.mocks import MockPolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses MockPolicyRecord
from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord
from metta.eval.eval_stats_db import EvalStatsDB


def test_average_metric() -> None:
    record = MockPolicyRecord.from_key_and_version("p", 1)  # TODO(simple-ckpt): MockPolicyRecord: replace the mock record with a real tmp run dir or a path
    by_name = {"p": MockPolicyRecord.from_key_and_version("p", 1)}  # TODO(simple-ckpt): MockPolicyRecord: replace the mock record with a real tmp run dir or a path
    db = EvalStatsDB([{"key": "p", "version": 1, "reward": 2.0}])
    assert db.get_average_metric_by_filter("reward", cast(PolicyRecord, record)) == 2.0  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata; record is a PolicyRecord passed on: decide what replaces it (decision F1)
    assert set(by_name) == {"p"}


def test_metadata_defaults() -> None:
    metadata = dict(agent_step=0, generation=0, train_time=0, epoch=3)
    assert metadata["epoch"] == 3
    assert metadata.get("agent_step") == 0
