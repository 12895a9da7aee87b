"""Request evaluations of policies on a server (patterns P4 submit, C10 error + selector choices)."""

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from metta.agent.policy_store import PolicyMissingError, PolicySelectorType, PolicyStore


def _find_policies(policy_store: PolicyStore, policy_uri: str, selector_type: str) -> list[Any]:
    try:
        return policy_store.policy_records(uri_or_config=policy_uri, selector_type=selector_type, n=1)
    except PolicyMissingError:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("uris", nargs="+")
    parser.add_argument("--selector", choices=PolicySelectorType.__args__, default="latest")
    args = parser.parse_args(argv)
    policy_store = PolicyStore(device="cpu", data_dir="./train_dir", wandb_entity=None, wandb_project=None)
    with ThreadPoolExecutor() as pool:
        futures = [
            pool.submit(_find_policies, policy_store=policy_store, policy_uri=uri, selector_type=args.selector)
            for uri in args.uris
        ]
    return sum(1 for f in futures if f.result())
