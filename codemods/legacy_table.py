"""Load the one description of the legacy world (``legacy.yaml``) into typed records.

Everything that must agree on what "legacy" means reads this module: the codemod matchers, `check`, the
text prefilter, the Ruff banned-api emitter, and migrate's unpickler remap. It imports only the standard
library and PyYAML, so `simple-ckpt check` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

import yaml

ACTIONS = ("rewrite", "todo", "delete", "report")
KINDS = ("store", "record", "records", "manager", "trainer_state", "metadata", "cache", "checkpoint_result")
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class LegacyWhen:
    """For a name the refactor kept with a new meaning: which calls of it are still the legacy API."""

    keywords: tuple[str, ...] = ()
    min_positional: int | None = None

    def call_is_legacy(self, keyword_names: set[str] | frozenset[str], n_positional: int) -> bool:
        if any(k in keyword_names for k in self.keywords):
            return True
        return self.min_positional is not None and n_positional >= self.min_positional


@dataclass(frozen=True)
class LegacySymbol:
    """One legacy name and every module it could be imported from."""

    name: str
    modules: tuple[str, ...]
    action: str
    why: str
    becomes: str | None = None
    produces: str | None = None
    legacy_when: LegacyWhen | None = None
    docs: bool = True

    @property
    def qualified_names(self) -> tuple[str, ...]:
        return tuple(f"{module}.{self.name}" for module in self.modules)

    @property
    def ambiguous(self) -> bool:
        """True when the name alone is not legacy (the refactor reused it): only some calls are."""
        return self.legacy_when is not None


@dataclass(frozen=True)
class LegacyModule:
    """A module deleted as a whole by the refactor."""

    name: str
    why: str


@dataclass(frozen=True)
class LegacyMethod:
    """A legacy method or attribute, recognised on receivers of the given kinds."""

    name: str
    on: tuple[str, ...]
    why: str
    returns: str | None = None
    call: bool = False
    distinctive: bool = False


@dataclass(frozen=True)
class LegacyKeyword:
    """A keyword argument / parameter name that carries legacy objects through the code."""

    name: str
    why: str
    kind: str | None = None


@dataclass(frozen=True)
class DocsPattern:
    """A regular expression for legacy forms in Markdown/YAML/shell (URIs, config keys)."""

    pattern: str
    why: str


@dataclass(frozen=True)
class Rule:
    """A stable finding id of `simple-ckpt check`."""

    id: str
    name: str
    severity: str
    summary: str


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
    legacy_modules: tuple[LegacyModule, ...] = ()
    methods: tuple[LegacyMethod, ...] = ()
    keywords: tuple[LegacyKeyword, ...] = ()
    docs_patterns: tuple[DocsPattern, ...] = ()
    rules: dict[str, Rule] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        """Every legacy name, for the cheap text prefilter."""
        return frozenset(symbol.name for symbol in self.symbols)

    @property
    def modules(self) -> frozenset[str]:
        """Every module a legacy name can be imported from (including modules that survive the refactor)."""
        return frozenset(module for symbol in self.symbols for module in symbol.modules)

    @property
    def deleted_modules(self) -> frozenset[str]:
        """Modules that are legacy as a whole: any import from them is legacy."""
        return frozenset(module.name for module in self.legacy_modules)

    @cached_property
    def deleted_module_leaves(self) -> frozenset[str]:
        """Last components of the deleted modules (``policy_store``): file stems worth a closer look."""
        return frozenset(name.rsplit(".", 1)[-1] for name in self.deleted_modules)

    def by_qualified_name(self) -> dict[str, LegacySymbol]:
        return self._by_qualified_name

    @cached_property
    def _by_qualified_name(self) -> dict[str, LegacySymbol]:
        return {qualified: symbol for symbol in self.symbols for qualified in symbol.qualified_names}

    @cached_property
    def module_by_name(self) -> dict[str, LegacyModule]:
        return {module.name: module for module in self.legacy_modules}

    @cached_property
    def symbol_by_name(self) -> dict[str, LegacySymbol]:
        return {symbol.name: symbol for symbol in self.symbols}

    def symbol(self, module: str, name: str) -> LegacySymbol | None:
        """The legacy symbol imported as ``from module import name``, if that pair is legacy."""
        return self._by_qualified_name.get(f"{module}.{name}")

    def deleted_module_of(self, module: str) -> LegacyModule | None:
        """The deleted legacy module that ``module`` is (or is a submodule of), if any."""
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            found = self.module_by_name.get(".".join(parts[:end]))
            if found is not None:
                return found
        return None

    @cached_property
    def methods_by_name(self) -> dict[str, tuple[LegacyMethod, ...]]:
        grouped: dict[str, list[LegacyMethod]] = {}
        for method in self.methods:
            grouped.setdefault(method.name, []).append(method)
        return {name: tuple(methods) for name, methods in grouped.items()}

    def method(self, name: str, kind: str) -> LegacyMethod | None:
        """The legacy method ``name`` on a receiver of legacy ``kind``."""
        for method in self.methods_by_name.get(name, ()):
            if kind in method.on:
                return method
        return None

    @cached_property
    def distinctive_methods(self) -> dict[str, LegacyMethod]:
        """Methods only the legacy API had: legacy on any receiver."""
        return {method.name: method for method in self.methods if method.distinctive}

    @cached_property
    def keyword_by_name(self) -> dict[str, LegacyKeyword]:
        return {keyword.name: keyword for keyword in self.keywords}

    @cached_property
    def identifier_kinds(self) -> dict[str, str]:
        """Identifiers that are themselves legacy (``policy_store``) -> the kind of object they hold."""
        return {keyword.name: keyword.kind for keyword in self.keywords if keyword.kind}

    @cached_property
    def prefilter_words(self) -> frozenset[str]:
        """Every word whose presence can make a Python file match: names, module leaves, distinctive
        methods, legacy keywords and the keywords that mark the legacy CheckpointManager. The
        non-distinctive methods need a resolved receiver, i.e. one of these words, so they are not here."""
        words: set[str] = set(self.names)
        words.update(module.rsplit(".", 1)[-1] for module in self.deleted_modules)
        words.update(self.distinctive_methods)
        words.update(self.keyword_by_name)
        for symbol in self.symbols:
            if symbol.legacy_when is not None:
                words.discard(symbol.name)
                words.update(symbol.legacy_when.keywords)
        return frozenset(words)


def _parse_symbol(entry: dict[str, Any]) -> LegacySymbol:
    action = entry["action"]
    if action not in ACTIONS:
        raise ValueError(f"legacy.yaml: {entry['name']}: unknown action {action!r}")
    produces = entry.get("produces")
    if produces is not None and produces not in KINDS:
        raise ValueError(f"legacy.yaml: {entry['name']}: unknown kind {produces!r}")
    when_raw = entry.get("legacy_when")
    legacy_when = None
    if when_raw is not None:
        legacy_when = LegacyWhen(
            keywords=tuple(when_raw.get("keywords", ())), min_positional=when_raw.get("min_positional")
        )
    return LegacySymbol(
        name=entry["name"],
        modules=tuple(entry["modules"]),
        action=action,
        why=entry.get("why", ""),
        becomes=entry.get("becomes"),
        produces=produces,
        legacy_when=legacy_when,
        docs=bool(entry.get("docs", True)),
    )


def _parse_method(entry: dict[str, Any]) -> LegacyMethod:
    on = tuple(entry["receivers"])
    for kind in (*on, entry.get("returns")):
        if kind is not None and kind not in KINDS:
            raise ValueError(f"legacy.yaml: method {entry['name']}: unknown kind {kind!r}")
    return LegacyMethod(
        name=entry["name"],
        on=on,
        why=entry.get("why", ""),
        returns=entry.get("returns"),
        call=bool(entry.get("call", False)),
        distinctive=bool(entry.get("distinctive", False)),
    )


def _checked_kind(kind: str | None, owner: str) -> str | None:
    if kind is not None and kind not in KINDS:
        raise ValueError(f"legacy.yaml: {owner}: unknown kind {kind!r}")
    return kind


def _parse_rules(raw: dict[str, Any]) -> dict[str, Rule]:
    rules = {}
    for rule_id, entry in raw.items():
        if entry["severity"] not in SEVERITIES:
            raise ValueError(f"legacy.yaml: rule {rule_id}: unknown severity {entry['severity']!r}")
        rules[rule_id] = Rule(
            id=rule_id, name=entry["name"], severity=entry["severity"], summary=entry["summary"]
        )
    return rules


_KNOWN_SECTIONS = ("symbols", "pickle", "modules", "methods", "keywords", "docs", "rules")


def _parse(raw: dict[str, Any]) -> LegacyTable:
    symbols = tuple(_parse_symbol(entry) for entry in raw["symbols"])
    pickle_raw = raw["pickle"]
    remap = PickleRemap(
        standins=dict(pickle_raw.get("standins", {})),
        concrete_for=dict(pickle_raw.get("concrete_for", {})),
        stub_prefixes=tuple(pickle_raw.get("stub_prefixes", [])),
        drop_attributes={k: tuple(v) for k, v in pickle_raw.get("drop_attributes", {}).items()},
    )
    extra = {k: v for k, v in raw.items() if k not in _KNOWN_SECTIONS}
    docs_raw = raw.get("docs") or {}
    return LegacyTable(
        symbols=symbols,
        pickle=remap,
        extra=extra,
        legacy_modules=tuple(LegacyModule(name=m["name"], why=m["why"]) for m in raw.get("modules") or ()),
        methods=tuple(_parse_method(entry) for entry in raw.get("methods") or ()),
        keywords=tuple(
            LegacyKeyword(name=k["name"], why=k["why"], kind=_checked_kind(k.get("kind"), k["name"]))
            for k in raw.get("keywords") or ()
        ),
        docs_patterns=tuple(
            DocsPattern(pattern=d["pattern"], why=d["why"]) for d in docs_raw.get("uri_forms", ())
        ),
        rules=_parse_rules(raw.get("rules") or {}),
    )


@cache
def load_table() -> LegacyTable:
    """The table shipped in this package (parsed once per process)."""
    text = resources.files("codemods").joinpath("legacy.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _parse(yaml.load(text, Loader=loader))  # noqa: S506 - a safe loader
