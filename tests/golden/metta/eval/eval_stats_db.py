"""Queries over evaluation results keyed by policy record (patterns K1, R5 walrus, Y1)."""

from typing import Any

from simple_ckpt import read_metadata


class EvalStatsDB:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def key_and_version(self, policy_record: str) -> tuple[str, int]:
        return policy_record, read_metadata(policy_record)["epoch"]

    def get_average_metric_by_filter(self, metric: str, policy_record: str, condition: str = "") -> float:
        key, version = self.key_and_version(policy_record)
        values = [r[metric] for r in self.rows if r["key"] == key and r["version"] == version]
        return sum(values) / len(values) if values else 0.0
