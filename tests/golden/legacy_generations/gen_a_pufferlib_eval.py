"""Generation A (Feb 2025): positional store config, store.policy(...), rec.policy(), rec.name."""

from agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore
from rl.pufferlib.trainer_checkpoint import TrainerCheckpoint  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses TrainerCheckpoint


def evaluate(cfg, wandb_run, uri: str) -> str:
    store = PolicyStore(cfg, wandb_run)  # TODO(simple-ckpt): the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)
    rec = store.policy(uri)
    agent = rec.policy()
    checkpoint = TrainerCheckpoint.load(cfg.run_dir)  # TODO(simple-ckpt): TrainerCheckpoint.load: read the state with checkpoint_manager.load_trainer_state() (a dict or None)
    if checkpoint.policy_path:
        agent = store.policy(checkpoint.policy_path).policy()
    return f"{rec.name}: {type(agent).__name__}"
