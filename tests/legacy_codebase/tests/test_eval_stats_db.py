"""Tests of the stats DB with mock records (patterns C4, C5 in a dict literal and a cast, Y5)."""

from typing import cast

from metta.agent.mocks import MockPolicyRecord
from metta.agent.policy_metadata import PolicyMetadata
from metta.agent.policy_record import PolicyRecord
from metta.eval.eval_stats_db import EvalStatsDB


def test_average_metric() -> None:
    record = MockPolicyRecord.from_key_and_version("p", 1)
    by_name = {"p": MockPolicyRecord.from_key_and_version("p", 1)}
    db = EvalStatsDB([{"key": "p", "version": 1, "reward": 2.0}])
    assert db.get_average_metric_by_filter("reward", cast(PolicyRecord, record)) == 2.0
    assert set(by_name) == {"p"}


def test_metadata_defaults() -> None:
    metadata = PolicyMetadata(epoch=3)
    assert metadata["epoch"] == 3
    assert metadata.get("agent_step") == 0
