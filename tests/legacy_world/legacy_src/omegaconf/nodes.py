"""Stand-in for `omegaconf.nodes`."""

from __future__ import annotations

from typing import Any

from omegaconf.base import Metadata, Node


class AnyNode(Node):
    def __init__(self, value: Any, key: Any, parent: Any) -> None:
        super().__init__(parent, Metadata(key=key))
        self._val = value
