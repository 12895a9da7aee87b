"""Load the one description of the legacy world (``legacy.yaml``) into typed records.

Everything that must agree on what "legacy" means reads this module: the codemod matchers, `check`, the
Ruff banned-api emitter, and migrate's unpickler remap. It imports only the standard library and PyYAML,
so `simple-ckpt check` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

ACTIONS = ("rewrite", "todo", "delete", "report")


@dataclass(frozen=True)
class LegacySymbol:
    """One legacy name and every module it could be imported from."""

    name: str
    modules: tuple[str, ...]
    action: str
    why: str
    becomes: str | None = None

    @property
    def qualified_names(self) -> tuple[str, ...]:
        return tuple(f"{module}.{self.name}" for module in self.modules)


@dataclass(frozen=True)
class PickleRemap:
    """How migrate's restricted unpickler resolves globals named by legacy files."""

    standins: dict[str, str]
    concrete_for: dict[str, str]
    stub_prefixes: tuple[str, ...]
    drop_attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LegacyTable:
    symbols: tuple[LegacySymbol, ...]
    pickle: PickleRemap
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        """Every legacy name, for the cheap text prefilter."""
        return frozenset(symbol.name for symbol in self.symbols)

    @property
    def modules(self) -> frozenset[str]:
        return frozenset(module for symbol in self.symbols for module in symbol.modules)

    def by_qualified_name(self) -> dict[str, LegacySymbol]:
        return {qualified: symbol for symbol in self.symbols for qualified in symbol.qualified_names}


def _parse(raw: dict[str, Any]) -> LegacyTable:
    symbols = []
    for entry in raw["symbols"]:
        action = entry["action"]
        if action not in ACTIONS:
            raise ValueError(f"legacy.yaml: {entry['name']}: unknown action {action!r}")
        symbols.append(
            LegacySymbol(
                name=entry["name"],
                modules=tuple(entry["modules"]),
                action=action,
                why=entry.get("why", ""),
                becomes=entry.get("becomes"),
            )
        )
    pickle_raw = raw["pickle"]
    remap = PickleRemap(
        standins=dict(pickle_raw.get("standins", {})),
        concrete_for=dict(pickle_raw.get("concrete_for", {})),
        stub_prefixes=tuple(pickle_raw.get("stub_prefixes", [])),
        drop_attributes={k: tuple(v) for k, v in pickle_raw.get("drop_attributes", {}).items()},
    )
    extra = {k: v for k, v in raw.items() if k not in ("symbols", "pickle")}
    return LegacyTable(symbols=tuple(symbols), pickle=remap, extra=extra)


@cache
def load_table() -> LegacyTable:
    """The table shipped in this package (parsed once per process)."""
    text = resources.files("codemods").joinpath("legacy.yaml").read_text(encoding="utf-8")
    return _parse(yaml.safe_load(text))
