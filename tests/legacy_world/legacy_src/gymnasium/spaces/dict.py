"""Stand-in for `gymnasium.spaces.dict`."""

from __future__ import annotations

from typing import Any


class Dict:
    def __init__(self, spaces: dict[str, Any]) -> None:
        self.spaces = spaces
        self._shape = None
        self.dtype = None
        self._np_random = None
