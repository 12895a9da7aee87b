"""Training loop of the legacy mini-codebase (generation E shapes: store, legacy manager, trainer state)."""

import logging
import os
from typing import Any

import torch
from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.compat import maybe_save_checkpoint

from metta.agent.metta_agent import MettaAgent
from metta.eval.eval_service import evaluate_policy
from metta.rl.kickstarter import Kickstarter
from metta.rl.policy_management import (
    wrap_agent_distributed,
)
from metta.rl.stats import process_stats

logger = logging.getLogger(__name__)


def train(
    run: str,
    run_dir: str,
    system_cfg: Any,
    agent_cfg: Any,
    device: torch.device,
    trainer_cfg: Any,
    wandb_run: Any | None,
    checkpoint_manager: SimpleCheckpointManager,
    stats_client: Any | None,
) -> None:
    """Train one run; checkpoints every `checkpoint_interval` epochs."""
    is_master = int(os.environ.get("RANK", "0")) == 0
    metta_grid_env = trainer_cfg.make_env()

    checkpoint = checkpoint_manager.load_trainer_state()
    agent_step = checkpoint["agent_step"] if checkpoint else 0
    epoch = checkpoint["epoch"] if checkpoint else 0
    if checkpoint and checkpoint.stopwatch_state is not None:  # TODO(simple-ckpt): stopwatch_state is not saved by SimpleCheckpointManager's trainer state; decide how to restore it
        trainer_cfg.timer.load_state(checkpoint.stopwatch_state)  # TODO(simple-ckpt): stopwatch_state is not saved by SimpleCheckpointManager's trainer state; decide how to restore it

    latest_saved_policy_record = checkpoint_manager.load_agent()
    if latest_saved_policy_record is None:
        latest_saved_policy_record = MettaAgent(metta_grid_env, system_cfg, agent_cfg)
    latest_saved_policy_record.initialize_to_environment(metta_grid_env.get_observation_features(), metta_grid_env.action_names, metta_grid_env.max_action_args, device)
    policy = latest_saved_policy_record
    policy = wrap_agent_distributed(policy, device)  # no-op on one process

    optimizer = torch.optim.Adam(policy.parameters(), lr=trainer_cfg.learning_rate)
    if checkpoint and "optimizer_state" in checkpoint:
        optimizer.load_state_dict(checkpoint["optimizer_state"])

    kickstarter = Kickstarter(
        cfg=trainer_cfg.kickstart,
        device=device,
        metta_grid_env=metta_grid_env,
    )

    eval_scores: dict[str, float] = {}
    while agent_step < trainer_cfg.total_timesteps:
        agent_step += trainer_cfg.batch_size
        epoch += 1

        # TODO: the checkpoint tuple below carries the wandb artifact name
        saved = maybe_save_checkpoint(  # TODO(simple-ckpt): wandb upload dropped: simple_ckpt does not upload; upload the returned path if needed
            checkpoint_manager=checkpoint_manager,
            epoch=epoch,
            policy=policy,
            agent_step=agent_step,
            eval_scores=eval_scores,
            timer=trainer_cfg.timer,
            optimizer=optimizer,
            interval=trainer_cfg.checkpoint.checkpoint_interval,
        )
        if saved:
            latest_saved_policy_record, wandb_policy_name = saved, None  # TODO(simple-ckpt): wandb_policy_name (the wandb artifact name) no longer exists: simple_ckpt does not upload
            logger.info("uploaded %s", wandb_policy_name)  # TODO(simple-ckpt): wandb_policy_name (the wandb artifact name) no longer exists: simple_ckpt does not upload

        if epoch % trainer_cfg.evaluate_interval == 0:
            eval_scores = evaluate_policy(  # TODO(simple-ckpt): evaluate_policy(policy_record=...): pass the agent or the checkpoint path instead of the PolicyRecord (decision F1)
                policy_record=latest_saved_policy_record,
                simulations=trainer_cfg.simulations,
                device=device,
                stats_client=stats_client,
            )

        process_stats(  # TODO(simple-ckpt): process_stats(latest_saved_policy_record=...): pass the latest saved epoch (an int) instead of the PolicyRecord
            agent_step=agent_step,
            epoch=epoch,
            latest_saved_policy_record=latest_saved_policy_record,
        )

    maybe_save_checkpoint(  # TODO(simple-ckpt): wandb upload dropped: simple_ckpt does not upload; upload the returned path if needed
        checkpoint_manager=checkpoint_manager,
        epoch=epoch,
        policy=policy,
        agent_step=agent_step,
        eval_scores=eval_scores,
        timer=trainer_cfg.timer,
        optimizer=optimizer,
        force=True,
        interval=trainer_cfg.checkpoint.checkpoint_interval,
    )
