"""Generation C (early Aug 2025): store from a factory, positional legacy CheckpointManager layout."""

from metta.rl.checkpoint_manager import CheckpointManager
from metta.rl.trainer import train
from tools.utils import get_policy_store_from_cfg


def main(cfg, run_dir: str, run_name: str, wandb_run=None) -> None:
    policy_store = get_policy_store_from_cfg(cfg, wandb_run)
    train(
        run=run_name,
        run_dir=run_dir,
        system_cfg=cfg.system,
        agent_cfg=cfg.agent,
        device=cfg.device,
        trainer_cfg=cfg.trainer,
        wandb_run=wandb_run,
        policy_store=policy_store,
        stats_client=None,
    )


def legacy_manager(cfg, policy_store, run_name: str) -> CheckpointManager:
    return CheckpointManager(cfg.checkpoint_dir, policy_store, cfg.trainer, "cpu", True, 0, run_name)
