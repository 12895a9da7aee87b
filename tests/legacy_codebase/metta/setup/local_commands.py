"""The `load-policies` command (patterns I4 function-local import, S2 positional in a loop)."""

from typing import Any


def load_policies(uris: list[str], data_dir: str) -> list[Any]:
    from metta.agent.policy_store import PolicyStore

    policy_store = PolicyStore(device="cpu", data_dir=data_dir, wandb_entity=None, wandb_project=None)
    loaded: list[Any] = []
    for uri in uris:
        loaded.extend(policy_store.policy_records(uri, "all", 10, "score"))
    return loaded
