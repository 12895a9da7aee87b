"""Per-epoch statistics (patterns I3 re-export import, R5 walrus, R8 wandb info)."""

import logging

from metta.agent.policy_store import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord

logger = logging.getLogger(__name__)


def process_stats(agent_step: int, epoch: int, latest_saved_policy_record: PolicyRecord | None) -> dict[str, int]:  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata
    stats = {"agent_step": agent_step, "epoch": epoch}
    if latest_saved_policy_record is not None and (saved := latest_saved_policy_record.metadata.epoch):  # TODO(simple-ckpt): latest_saved_policy_record.metadata: metadata is a dict in the YAML sidecar: simple_ckpt.compat.checkpoint_metadata(path)
        stats["latest_saved_epoch"] = saved
        entity, project, run_id = latest_saved_policy_record.extract_wandb_run_info()  # TODO(simple-ckpt): .extract_wandb_run_info(): wandb run info must come from the run config; latest_saved_policy_record.extract_wandb_run_info: wandb run info must come from the run config
        logger.info("wandb run %s/%s/%s", entity, project, run_id)
    return stats
