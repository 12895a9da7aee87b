"""Stand-in for `gymnasium.spaces.multi_discrete`."""

from __future__ import annotations

import numpy as np


class MultiDiscrete:
    def __init__(self, nvec: list[int]) -> None:
        self.nvec = np.asarray(nvec, dtype=np.int64)
        self.start = np.zeros_like(self.nvec)
        self.dtype = np.dtype(np.int64)
        self._shape = self.nvec.shape
        self._np_random = None
