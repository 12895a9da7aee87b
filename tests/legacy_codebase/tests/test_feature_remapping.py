"""A test that builds a record by hand (patterns C3 with an explanatory trailing comment, R2)."""

import torch

from metta.agent.policy_metadata import PolicyMetadata
from metta.agent.policy_record import PolicyRecord


def test_record_round_trip(tmp_path) -> None:
    record = PolicyRecord(
        policy_store=None,  # no store: the record is saved by hand below
        run_name="p",
        uri=f"file://{tmp_path}/p.pt",
        metadata=PolicyMetadata(epoch=1),
    )
    record.policy = torch.nn.Linear(2, 2)
    torch.save(record, tmp_path / "p.pt")
    assert (tmp_path / "p.pt").exists()
