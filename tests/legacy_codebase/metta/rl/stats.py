"""Per-epoch statistics (patterns I3 re-export import, R5 walrus, R8 wandb info)."""

import logging

from metta.agent.policy_store import PolicyRecord

logger = logging.getLogger(__name__)


def process_stats(agent_step: int, epoch: int, latest_saved_policy_record: PolicyRecord | None) -> dict[str, int]:
    stats = {"agent_step": agent_step, "epoch": epoch}
    if latest_saved_policy_record is not None and (saved := latest_saved_policy_record.metadata.epoch):
        stats["latest_saved_epoch"] = saved
        entity, project, run_id = latest_saved_policy_record.extract_wandb_run_info()
        logger.info("wandb run %s/%s/%s", entity, project, run_id)
    return stats
