"""Stand-in for `omegaconf.listconfig`."""

from __future__ import annotations

from typing import Any

from omegaconf.base import ContainerMetadata, Node


class ListConfig(Node):
    def __init__(self, key: Any = None, parent: Any = None) -> None:
        super().__init__(parent, ContainerMetadata(key=key, object_type=list))
        self._content: list[Any] = []
