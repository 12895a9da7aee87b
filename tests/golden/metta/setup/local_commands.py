"""The `load-policies` command (patterns I4 function-local import, S2 positional in a loop)."""

from typing import Any


def load_policies(uris: list[str], data_dir: str) -> list[Any]:
    from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore

    policy_store = PolicyStore(device="cpu", data_dir=data_dir, wandb_entity=None, wandb_project=None)  # TODO(simple-ckpt): the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)
    loaded: list[Any] = []
    for uri in uris:
        loaded.extend(policy_store.policy_records(uri, "all", 10, "score"))  # TODO(simple-ckpt): .policy_records(): latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return loaded
