"""Post-refactor code (generation G): same module and class name, new API. Must not change."""

from metta.rl.checkpoint_manager import CheckpointManager, PolicyMetadata


def latest_epoch(run: str, run_dir: str) -> int:
    manager = CheckpointManager(run_name=run, run_dir=run_dir)
    metadata: PolicyMetadata = manager.get_metadata()
    return metadata["epoch"]
