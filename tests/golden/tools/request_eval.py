"""Request evaluations of policies on a server (patterns P4 submit, C10 error + selector choices)."""

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from simple_ckpt.compat import CheckpointNotFound, Selector, select_checkpoints


def _find_policies(policy_uri: str, selector_type: str) -> list[Any]:
    try:
        return select_checkpoints(policy_uri, selector=selector_type, n=1)
    except CheckpointNotFound:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("uris", nargs="+")
    parser.add_argument("--selector", choices=Selector.__args__, default="latest")
    args = parser.parse_args(argv)
    with ThreadPoolExecutor() as pool:
        futures = [
            pool.submit(_find_policies, policy_uri=uri, selector_type=args.selector)
            for uri in args.uris
        ]
    return sum(1 for f in futures if f.result())
