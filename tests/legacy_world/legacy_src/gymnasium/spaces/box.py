"""Stand-in for `gymnasium.spaces.box`."""

from __future__ import annotations

import numpy as np


class Box:
    def __init__(self, low: float, high: float, shape: tuple[int, ...]) -> None:
        self.dtype = np.dtype(np.uint8)
        self._shape = shape
        self.low = np.full(shape, low, dtype=np.uint8)
        self.high = np.full(shape, high, dtype=np.uint8)
        self.bounded_below = np.ones(shape, dtype=bool)
        self.bounded_above = np.ones(shape, dtype=bool)
        self._np_random = None
