"""Per-epoch statistics (patterns I3 re-export import, R5 walrus, R8 wandb info)."""

import logging

from simple_ckpt import read_metadata

logger = logging.getLogger(__name__)


def process_stats(agent_step: int, epoch: int, latest_saved_policy_record: str | None) -> dict[str, int]:
    stats = {"agent_step": agent_step, "epoch": epoch}
    if latest_saved_policy_record is not None and (saved := read_metadata(latest_saved_policy_record)["epoch"]):
        stats["latest_saved_epoch"] = saved
        entity, project, run_id = latest_saved_policy_record.extract_wandb_run_info()  # TODO(simple-ckpt): latest_saved_policy_record.extract_wandb_run_info: wandb run info must come from the run config (latest_saved_policy_record is the checkpoint path now, decision F1)
        logger.info("wandb run %s/%s/%s", entity, project, run_id)
    return stats
