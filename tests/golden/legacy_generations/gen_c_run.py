"""Generation C (early Aug 2025): store from a factory, positional legacy CheckpointManager layout."""

from simple_ckpt import SimpleCheckpointManager

from metta.rl.checkpoint_manager import CheckpointManager  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses CheckpointManager
from metta.rl.trainer import train


def main(cfg, run_dir: str, run_name: str, wandb_run=None) -> None:
    checkpoint_manager = SimpleCheckpointManager(run_dir=run_dir, run_name=run_name)
    train(
        run=run_name,
        run_dir=run_dir,
        system_cfg=cfg.system,
        agent_cfg=cfg.agent,
        device=cfg.device,
        trainer_cfg=cfg.trainer,
        wandb_run=wandb_run,
        checkpoint_manager=checkpoint_manager,
        stats_client=None,
    )


def legacy_manager(cfg, policy_store, run_name: str) -> CheckpointManager:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); CheckpointManager: the legacy CheckpointManager(policy_store=..., checkpoint_config=...) is replaced by SimpleCheckpointManager
    return CheckpointManager(cfg.checkpoint_dir, policy_store, cfg.trainer, "cpu", True, 0, run_name)  # TODO(simple-ckpt): CheckpointManager: the legacy CheckpointManager(policy_store=..., checkpoint_config=...) is replaced by SimpleCheckpointManager; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
