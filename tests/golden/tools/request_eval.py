"""Request evaluations of policies on a server (patterns P4 submit, C10 error + selector choices)."""

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from metta.agent.policy_store import PolicyMissingError, PolicySelectorType, PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyMissingError, PolicySelectorType, PolicyStore


def _find_policies(policy_store: PolicyStore, policy_uri: str, selector_type: str) -> list[Any]:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    try:
        return policy_store.policy_records(uri_or_config=policy_uri, selector_type=selector_type, n=1)  # TODO(simple-ckpt): .policy_records(): latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    except PolicyMissingError:  # TODO(simple-ckpt): PolicyMissingError: load_agent returns None when a run has no checkpoint; handle that instead
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("uris", nargs="+")
    parser.add_argument("--selector", choices=PolicySelectorType.__args__, default="latest")  # TODO(simple-ckpt): PolicySelectorType: policy selectors are CLI/config surface; choose latest/best explicitly
    args = parser.parse_args(argv)
    policy_store = PolicyStore(device="cpu", data_dir="./train_dir", wandb_entity=None, wandb_project=None)  # TODO(simple-ckpt): no run dir/run name in reach: build SimpleCheckpointManager(run_dir=..., run_name=...) here
    with ThreadPoolExecutor() as pool:
        futures = [  # TODO(simple-ckpt): decide what submit() receives instead of the policy store (a manager, a path, or nothing)
            pool.submit(_find_policies, policy_store=policy_store, policy_uri=uri, selector_type=args.selector)
            for uri in args.uris
        ]
    return sum(1 for f in futures if f.result())
