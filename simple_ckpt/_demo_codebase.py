"""A small legacy training codebase for the demo and the docs tests: the "before" of a codemod run.

Why: `simple-ckpt demo` must show `codemod` and `check` on code shaped like a real team's, from an
installed package (no `tests/` tree). ``LEGACY_CODEBASE`` maps relative paths to sources: the legacy
modules themselves (``metta/agent/policy_store.py`` ... which the playbook deletes at the end) and the
code that uses them (a training entry point, a trainer that resumes, an evaluation tool, metadata helpers
and a test). The call shapes are the common ones of the call-site spec; the bodies are our own few lines.
"""

from __future__ import annotations

from pathlib import Path

# Legacy modules: deleted by the team once nothing imports them (the codemod reports them, never edits).
LEGACY_MODULES = (
    "metta/agent/policy_metadata.py",
    "metta/agent/policy_record.py",
    "metta/agent/policy_store.py",
    "metta/rl/trainer_checkpoint.py",
)

LEGACY_CODEBASE: dict[str, str] = {
    "metta/__init__.py": "",
    "metta/agent/__init__.py": "",
    "metta/rl/__init__.py": "",
    "metta/tools/__init__.py": "",
    "metta/eval/__init__.py": "",
    "metta/agent/policy_metadata.py": '''
"""Legacy: the metadata attached to a saved policy."""


class PolicyMetadata(dict):
    def __init__(self, agent_step: int = 0, epoch: int = 0, generation: int = 0, train_time: float = 0.0, **kw):
        super().__init__(agent_step=agent_step, epoch=epoch, generation=generation, train_time=train_time, **kw)
''',
    "metta/agent/policy_record.py": '''
"""Legacy: a saved policy with its metadata."""

from typing import Any


class PolicyRecord:
    def __init__(self, policy_store: Any, run_name: str, uri: str, metadata: Any) -> None:
        self.run_name = run_name
        self.uri = uri
        self.metadata = metadata
''',
    "metta/agent/policy_store.py": '''
"""Legacy: the policy store."""

from typing import Any

from metta.agent.policy_record import PolicyRecord


class PolicyStore:
    @classmethod
    def create(cls, device: str, data_dir: str, wandb_config: Any, wandb_run: Any) -> "PolicyStore":
        return cls()

    def policy_record(self, uri: str, selector_type: str = "top", metric: str = "score") -> PolicyRecord:
        raise FileNotFoundError(uri)
''',
    "metta/rl/trainer_checkpoint.py": '''
"""Legacy: the trainer state."""


class TrainerCheckpoint:
    @classmethod
    def load(cls, run_dir: str) -> "TrainerCheckpoint | None":
        return None
''',
    "metta/rl/trainer.py": '''
"""The training loop: resumes from the trainer state and the latest policy."""

from typing import Any

import torch

from metta.agent.policy_store import PolicyStore
from metta.rl.trainer_checkpoint import TrainerCheckpoint


def train(run: str, run_dir: str, trainer_cfg: Any, policy_store: PolicyStore) -> int:
    checkpoint = TrainerCheckpoint.load(run_dir)
    agent_step = checkpoint.agent_step if checkpoint else 0
    epoch = checkpoint.epoch if checkpoint else 0
    policy_record = policy_store.policy_record(f"file://{run_dir}/checkpoints", selector_type="latest")
    policy = policy_record.policy
    optimizer = torch.optim.Adam(policy.parameters(), lr=trainer_cfg.learning_rate)
    if checkpoint and checkpoint.optimizer_state_dict:
        optimizer.load_state_dict(checkpoint.optimizer_state_dict)
    while agent_step < trainer_cfg.total_timesteps:
        agent_step += trainer_cfg.batch_size
        epoch += 1
    return epoch
''',
    "metta/tools/train.py": '''
"""Training entry point: builds the policy store and hands it to the trainer."""

from dataclasses import dataclass
from typing import Any

from metta.agent.policy_store import PolicyStore
from metta.rl.trainer import train


@dataclass
class TrainTool:
    run: str
    run_dir: str
    device: str = "cpu"
    trainer: Any = None

    def invoke(self, wandb_run: Any | None = None) -> int:
        policy_store = PolicyStore.create(
            device=self.device,
            data_dir=self.run_dir,
            wandb_config={},
            wandb_run=wandb_run,
        )
        return train(run=self.run, run_dir=self.run_dir, trainer_cfg=self.trainer, policy_store=policy_store)
''',
    "metta/tools/sim.py": '''
"""Evaluate the best policy of each run."""

from typing import Any

from metta.agent.policy_record import PolicyRecord
from metta.agent.policy_store import PolicyStore


def best_policies(run_dirs: list[str], wandb_run: Any | None = None) -> list[PolicyRecord]:
    policy_store = PolicyStore.create(device="cpu", data_dir="./train_dir", wandb_config={}, wandb_run=wandb_run)
    records = []
    for run_dir in run_dirs:
        record = policy_store.policy_record(f"file://{run_dir}/checkpoints", selector_type="top", metric="score")
        print(record.uri, record.metadata["score"])
        records.append(record)
    return records
''',
    "metta/eval/metadata.py": '''
"""Metadata helpers used by the evaluation reports."""

from metta.agent.policy_metadata import PolicyMetadata


def fresh_metadata(epoch: int, **extra: float) -> PolicyMetadata:
    metadata = PolicyMetadata(epoch=epoch, **extra)
    return metadata


def is_metadata(value: object) -> bool:
    return isinstance(value, PolicyMetadata)
''',
    "tests/test_metadata.py": '''
"""A test of the metadata helpers."""

from metta.agent.policy_metadata import PolicyMetadata
from metta.eval.metadata import fresh_metadata


def test_fresh_metadata() -> None:
    assert fresh_metadata(3) == PolicyMetadata(epoch=3)
''',
}


def write_legacy_codebase(root: Path) -> list[Path]:
    """Write the mini-codebase under ``root`` (created; existing files with the same names are refused)."""
    root = Path(root)
    clashes = [rel for rel in LEGACY_CODEBASE if (root / rel).exists()]
    if clashes:
        raise FileExistsError(
            f"{root}: already holds {clashes[0]}; the demo writes its codebase only into new dirs"
        )
    written = []
    for rel, source in LEGACY_CODEBASE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.lstrip("\n"))
        written.append(path)
    return written
