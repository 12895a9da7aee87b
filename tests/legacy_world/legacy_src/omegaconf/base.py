"""Stand-in for `omegaconf.base`."""

from __future__ import annotations

from typing import Any


class Metadata:
    def __init__(self, ref_type: Any = Any, object_type: Any = None, key: Any = None) -> None:
        self.ref_type = ref_type
        self.object_type = object_type
        self.optional = True
        self.key = key
        self.flags: dict[str, bool] = {}
        self.flags_root = False
        self.resolver_cache: dict[str, Any] = {}


class ContainerMetadata(Metadata):
    def __init__(self, key: Any = None, object_type: Any = None) -> None:
        super().__init__(ref_type=Any, object_type=object_type, key=key)
        self.key_type = Any
        self.element_type = Any


class Node:
    def __init__(self, parent: Any, metadata: Metadata) -> None:
        self._metadata = metadata
        self._parent = parent
