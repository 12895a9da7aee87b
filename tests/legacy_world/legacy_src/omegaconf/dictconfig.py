"""Stand-in for `omegaconf.dictconfig`; `make_config` builds the node graph (with parent cycles)."""

from __future__ import annotations

from typing import Any

from omegaconf.base import ContainerMetadata, Node


class DictConfig(Node):
    def __init__(self, key: Any = None, parent: Any = None) -> None:
        super().__init__(parent, ContainerMetadata(key=key, object_type=dict))
        self._content: dict[str, Any] = {}


def make_config(value: Any, key: Any = None, parent: Any = None) -> Any:
    from omegaconf.listconfig import ListConfig
    from omegaconf.nodes import AnyNode

    if isinstance(value, dict):
        node = DictConfig(key, parent)
        node._content = {k: make_config(v, k, node) for k, v in value.items()}
        return node
    if isinstance(value, list):
        node = ListConfig(key, parent)
        node._content = [make_config(v, i, node) for i, v in enumerate(value)]
        return node
    return AnyNode(value, key, parent)
