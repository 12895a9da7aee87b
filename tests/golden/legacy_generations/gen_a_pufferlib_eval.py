"""Generation A (Feb 2025): positional store config, store.policy(...), rec.policy(), rec.name."""

from agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore
from rl.pufferlib.trainer_checkpoint import TrainerCheckpoint  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses TrainerCheckpoint


def evaluate(cfg, wandb_run, uri: str) -> str:
    store = PolicyStore(cfg, wandb_run)  # TODO(simple-ckpt): the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)
    rec = store.policy(uri)  # TODO(simple-ckpt): store.policy: generation A store.policy(uri): load with SimpleCheckpointManager(...).load_agent() or load_agent_from(path)
    agent = rec.policy()  # TODO(simple-ckpt): rec.policy: the record's agent: use the agent itself (load it with load_agent / load_agent_from)
    checkpoint = TrainerCheckpoint.load(cfg.run_dir)  # TODO(simple-ckpt): TrainerCheckpoint.load: read the state with checkpoint_manager.load_trainer_state() (a dict or None)
    if checkpoint.policy_path:  # TODO(simple-ckpt): checkpoint.policy_path: the policy path is not saved in the trainer state any more
        agent = store.policy(checkpoint.policy_path).policy()  # TODO(simple-ckpt): store.policy: generation A store.policy(uri): load with SimpleCheckpointManager(...).load_agent() or load_agent_from(path); checkpoint.policy_path: the policy path is not saved in the trainer state any more
    return f"{rec.name}: {type(agent).__name__}"  # TODO(simple-ckpt): rec.name: generation A record name: the checkpoint path or the run name
