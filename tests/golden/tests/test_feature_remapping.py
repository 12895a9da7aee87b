"""A test that builds a record by hand (patterns C3 with an explanatory trailing comment, R2)."""

import torch

from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord


def test_record_round_trip(tmp_path) -> None:
    record = PolicyRecord(  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata; policy_store=: pass a SimpleCheckpointManager (checkpoint_manager=...) or drop the argument; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
        policy_store=None,  # no store: the record is saved by hand below
        run_name="p",
        uri=f"file://{tmp_path}/p.pt",
        metadata=dict(agent_step=0, generation=0, train_time=0, epoch=1),
    )
    record.policy = torch.nn.Linear(2, 2)  # TODO(simple-ckpt): record.policy: the record's agent: use the agent itself (load it with load_agent / load_agent_from)
    torch.save(record, tmp_path / "p.pt")  # TODO(simple-ckpt): record is a PolicyRecord passed on: decide what replaces it (decision F1)
    assert (tmp_path / "p.pt").exists()
