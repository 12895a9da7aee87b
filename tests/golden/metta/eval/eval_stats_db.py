"""Queries over evaluation results keyed by policy record (patterns K1, R5 walrus, Y1)."""

from typing import Any

from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord


class EvalStatsDB:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def key_and_version(self, policy_record: PolicyRecord) -> tuple[str, int]:  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata
        return policy_record.uri, policy_record.metadata.epoch  # TODO(simple-ckpt): policy_record.uri: becomes the bare checkpoint path (no file:// or wandb:// scheme); check comparisons and keys; policy_record.metadata: metadata is a dict in the YAML sidecar: simple_ckpt.compat.checkpoint_metadata(path)

    def get_average_metric_by_filter(self, metric: str, policy_record: PolicyRecord, condition: str = "") -> float:  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata
        key, version = self.key_and_version(policy_record)  # TODO(simple-ckpt): policy_record is a PolicyRecord passed on: decide what replaces it (decision F1)
        values = [r[metric] for r in self.rows if r["key"] == key and r["version"] == version]
        return sum(values) / len(values) if values else 0.0
