"""Queries over evaluation results keyed by policy record (patterns K1, R5 walrus, Y1)."""

from typing import Any

from metta.agent.policy_record import PolicyRecord


class EvalStatsDB:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def key_and_version(self, policy_record: PolicyRecord) -> tuple[str, int]:
        return policy_record.uri, policy_record.metadata.epoch

    def get_average_metric_by_filter(self, metric: str, policy_record: PolicyRecord, condition: str = "") -> float:
        key, version = self.key_and_version(policy_record)
        values = [r[metric] for r in self.rows if r["key"] == key and r["version"] == version]
        return sum(values) / len(values) if values else 0.0
