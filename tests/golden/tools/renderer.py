"""Look-alike: the legacy API appears only in commented-out code. Must not change."""

# from metta.agent.policy_store import PolicyStore
# policy_store = PolicyStore.create(device="cpu", data_dir="./train_dir", wandb_config={}, wandb_run=None)
# policy_record = policy_store.policy_record("wandb://run/example")


def render(frames: list[str]) -> str:
    return "\n".join(frames)
