"""Stand-in for legacy `metta.agent.component_policy` (concrete here; abstract after 2492a920f0)."""

from __future__ import annotations

from typing import Any

from torch import nn


class ComponentPolicy(nn.Module):
    def __init__(self, **attrs: Any) -> None:
        super().__init__()
        for name, value in attrs.items():
            setattr(self, name, value)
