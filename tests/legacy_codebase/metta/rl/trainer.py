"""Training loop of the legacy mini-codebase (generation E shapes: store, legacy manager, trainer state)."""

import logging
import os
from typing import Any

import torch

from metta.agent.metta_agent import MettaAgent
from metta.agent.policy_store import PolicyStore
from metta.eval.eval_service import evaluate_policy
from metta.rl.checkpoint_manager import CheckpointManager, maybe_establish_checkpoint
from metta.rl.kickstarter import Kickstarter
from metta.rl.policy_management import (
    initialize_policy_for_environment,
    wrap_agent_distributed,
)
from metta.rl.stats import process_stats
from metta.rl.trainer_checkpoint import TrainerCheckpoint

logger = logging.getLogger(__name__)


def train(
    run: str,
    run_dir: str,
    system_cfg: Any,
    agent_cfg: Any,
    device: torch.device,
    trainer_cfg: Any,
    wandb_run: Any | None,
    policy_store: PolicyStore,
    stats_client: Any | None,
) -> None:
    """Train one run; checkpoints every `checkpoint_interval` epochs."""
    is_master = int(os.environ.get("RANK", "0")) == 0
    metta_grid_env = trainer_cfg.make_env()

    # The legacy manager wraps the store and decides where checkpoints go.
    checkpoint_manager = CheckpointManager(
        policy_store=policy_store,
        checkpoint_config=trainer_cfg.checkpoint,
        device=device,
        is_master=is_master,
        rank=0,
        run_name=run,
    )

    checkpoint = TrainerCheckpoint.load(run_dir)
    agent_step = checkpoint.agent_step if checkpoint else 0
    epoch = checkpoint.epoch if checkpoint else 0
    if checkpoint and checkpoint.stopwatch_state is not None:
        trainer_cfg.timer.load_state(checkpoint.stopwatch_state)

    initial_policy_record = latest_saved_policy_record = checkpoint_manager.load_or_create_policy(
        agent_cfg=agent_cfg,
        system_cfg=system_cfg,
        trainer_cfg=trainer_cfg,
        checkpoint=checkpoint,
        metta_grid_env=metta_grid_env,
    )
    initialize_policy_for_environment(
        policy_record=latest_saved_policy_record,
        metta_grid_env=metta_grid_env,
        device=device,
        restore_feature_mapping=True,
    )
    policy = latest_saved_policy_record.policy
    policy = wrap_agent_distributed(policy, device)  # no-op on one process

    optimizer = torch.optim.Adam(policy.parameters(), lr=trainer_cfg.learning_rate)
    if checkpoint and checkpoint.optimizer_state_dict:
        optimizer.load_state_dict(checkpoint.optimizer_state_dict)

    kickstarter = Kickstarter(
        cfg=trainer_cfg.kickstart,
        device=device,
        policy_store=policy_store,
        metta_grid_env=metta_grid_env,
    )

    eval_scores: dict[str, float] = {}
    while agent_step < trainer_cfg.total_timesteps:
        agent_step += trainer_cfg.batch_size
        epoch += 1

        # TODO: the checkpoint tuple below carries the wandb artifact name
        saved = maybe_establish_checkpoint(
            checkpoint_manager=checkpoint_manager,
            epoch=epoch,
            policy=policy,
            agent_step=agent_step,
            eval_scores=eval_scores,
            timer=trainer_cfg.timer,
            initial_policy_record=initial_policy_record,
            optimizer=optimizer,
            run_dir=run_dir,
            kickstarter=kickstarter,
            wandb_run=wandb_run,
        )
        if saved:
            latest_saved_policy_record, wandb_policy_name = saved
            logger.info("uploaded %s", wandb_policy_name)

        if epoch % trainer_cfg.evaluate_interval == 0:
            eval_scores = evaluate_policy(
                policy_record=latest_saved_policy_record,
                simulations=trainer_cfg.simulations,
                device=device,
                policy_store=policy_store,
                stats_client=stats_client,
            )

        process_stats(
            agent_step=agent_step,
            epoch=epoch,
            latest_saved_policy_record=latest_saved_policy_record,
        )

    maybe_establish_checkpoint(
        checkpoint_manager=checkpoint_manager,
        epoch=epoch,
        policy=policy,
        agent_step=agent_step,
        eval_scores=eval_scores,
        timer=trainer_cfg.timer,
        initial_policy_record=initial_policy_record,
        optimizer=optimizer,
        run_dir=run_dir,
        kickstarter=kickstarter,
        wandb_run=wandb_run,
        force=True,
    )
