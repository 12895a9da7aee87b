"""Training entry point: builds the policy store and hands it to the trainer (pattern C1, pair 1)."""

from dataclasses import dataclass, field
from typing import Any

import torch

from metta.agent.policy_store import PolicyStore
from metta.rl.trainer import train


@dataclass
class TrainTool:
    run: str
    run_dir: str
    device: str = "cpu"
    trainer: Any = None
    wandb: dict[str, Any] = field(default_factory=dict)
    policy_uri: str | None = None

    def invoke(self, wandb_run: Any | None = None) -> int:
        if self.policy_uri is None:
            self.policy_uri = f"file://{self.run_dir}/checkpoints"

        # One store per run; the trainer saves through it.
        policy_store = PolicyStore.create(
            device=self.device,
            data_dir=self.run_dir,
            wandb_config=self.wandb,
            wandb_run=wandb_run,
        )

        train(
            run=self.run,
            run_dir=self.run_dir,
            system_cfg=None,
            agent_cfg=None,
            device=torch.device(self.device),
            trainer_cfg=self.trainer,
            wandb_run=wandb_run,
            policy_store=policy_store,
            stats_client=None,
        )
        return 0
