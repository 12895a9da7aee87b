"""Generation A (Feb 2025): positional store config, store.policy(...), rec.policy(), rec.name."""

from agent.policy_store import PolicyStore
from rl.pufferlib.trainer_checkpoint import TrainerCheckpoint


def evaluate(cfg, wandb_run, uri: str) -> str:
    store = PolicyStore(cfg, wandb_run)
    rec = store.policy(uri)
    agent = rec.policy()
    checkpoint = TrainerCheckpoint.load(cfg.run_dir)
    if checkpoint.policy_path:
        agent = store.policy(checkpoint.policy_path).policy()
    return f"{rec.name}: {type(agent).__name__}"
