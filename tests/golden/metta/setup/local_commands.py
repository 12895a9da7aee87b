"""The `load-policies` command (patterns I4 function-local import, S2 positional in a loop)."""

from typing import Any

from simple_ckpt.compat import select_checkpoints


def load_policies(uris: list[str], data_dir: str) -> list[Any]:
    loaded: list[Any] = []
    for uri in uris:
        loaded.extend(select_checkpoints(uri, selector="all", n=10, metric="score"))
    return loaded
