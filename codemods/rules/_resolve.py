"""Which names in a module are legacy: resolved through the module's own import statements.

A rule never matches a bare name. A name is legacy only if this module imports it from one of the legacy
modules listed in ``legacy.yaml`` (re-export paths included), directly, under an alias, through
``import pkg.mod as m`` + ``m.Name``, or through a star import. A local class that happens to be called
``MockPolicyRecord`` therefore never matches, and neither does code inside comments.

The scan walks statements only (module body and nested blocks), never expressions, so it costs far less
than libcst's ScopeProvider/QualifiedNameProvider; rules that need real scopes ask for them explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_full_name_for_node

from codemods.legacy_table import LegacySymbol, load_table
from codemods.rules._inert import INERT_NODE_TYPES

# Constructor keywords that only the legacy CheckpointManager (generations C and D) accepted. The
# post-refactor class of the same name and module takes none of them (hazard 1 of the spec).
LEGACY_MANAGER_KEYWORDS = frozenset({"policy_store", "checkpoint_config", "checkpoint_dir", "trainer_cfg"})
# The generation C/D constructors took the store and configs positionally; the new class takes at most 3.
LEGACY_MANAGER_MIN_POSITIONAL = 4
# Helpers that only ever lived beside the legacy CheckpointManager.
LEGACY_MANAGER_COMPANIONS = frozenset({"maybe_establish_checkpoint", "load_or_create_policy"})


def iter_statements(body: object) -> Iterator[cst.CSTNode]:
    """Every statement in a block and its nested blocks (not expressions), in source order."""
    stack: list[cst.CSTNode] = []
    if isinstance(body, cst.Module):
        stack.extend(reversed(body.body))
    elif isinstance(body, cst.CSTNode):
        stack.append(body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, cst.SimpleStatementLine):
            continue
        children: list[cst.CSTNode] = []
        for attr in ("body", "orelse", "handlers", "finalbody"):
            child = getattr(node, attr, None)
            if child is None:
                continue
            if isinstance(child, cst.BaseSuite):
                inner = child.body
                children.extend(inner if isinstance(inner, (list, tuple)) else [inner])
            elif isinstance(child, (list, tuple)):
                children.extend(child)
            elif isinstance(child, cst.CSTNode):
                children.append(child)
        stack.extend(reversed(children))


def dotted(node: cst.BaseExpression | cst.Attribute | cst.Name) -> str | None:
    return get_full_name_for_node(node)


def relative_module(current: str | None, level: int, module: str | None) -> str | None:
    """Resolve ``from ..x import y`` against the current module's dotted name."""
    if current is None:
        return None
    parts = current.split(".")
    if len(parts) < level:
        return None
    base = parts[: len(parts) - level]
    if module:
        base.append(module)
    return ".".join(base) or None


@dataclass
class LegacyBindings:
    """Local names (and module aliases) that refer to legacy symbols in one module."""

    names: dict[str, LegacySymbol] = field(default_factory=dict)
    module_aliases: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.names or self.module_aliases)

    def resolve(self, node: cst.CSTNode) -> LegacySymbol | None:
        """The legacy symbol a Name/Attribute expression refers to, if any."""
        if isinstance(node, cst.Name):
            return self.names.get(node.value)
        if isinstance(node, cst.Attribute) and self.module_aliases:
            full = dotted(node)
            if full is None or "." not in full:
                return None
            prefix, _, attr = full.rpartition(".")
            module = self.module_aliases.get(prefix)
            if module is None:
                return None
            return load_table().by_qualified_name().get(f"{module}.{attr}")
        return None

    def is_legacy(self, node: cst.CSTNode, name: str | None = None) -> bool:
        symbol = self.resolve(node)
        return symbol is not None and (name is None or symbol.name == name)

    def local_names_for(self, name: str) -> list[str]:
        return [local for local, symbol in self.names.items() if symbol.name == name]


def scan_bindings(module: cst.Module, current_module: str | None = None) -> LegacyBindings:
    """Collect the legacy bindings of ``module`` from its import statements."""
    table = load_table()
    by_qualified = table.by_qualified_name()
    legacy_modules = frozenset(module for symbol in table.symbols for module in symbol.modules)
    bindings = LegacyBindings()
    for statement in iter_statements(module):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom):
                _bind_from(small, bindings, by_qualified, legacy_modules, current_module)
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    full = dotted(alias.name)
                    if full in legacy_modules:
                        local = alias.asname.name.value if alias.asname else full  # type: ignore[union-attr]
                        bindings.module_aliases[local] = full
    _drop_post_refactor_manager(module, bindings)
    return bindings


def _bind_from(
    node: cst.ImportFrom,
    bindings: LegacyBindings,
    by_qualified: dict[str, LegacySymbol],
    legacy_modules: frozenset[str],
    current_module: str | None,
) -> None:
    if node.relative:
        module = relative_module(
            current_module, len(node.relative), dotted(node.module) if node.module else None
        )
    else:
        module = dotted(node.module) if node.module else None
    if module is None:
        return
    if isinstance(node.names, cst.ImportStar):
        if module in legacy_modules:
            for qualified, symbol in by_qualified.items():
                if qualified.rpartition(".")[0] == module:
                    bindings.names.setdefault(symbol.name, symbol)
        return
    for alias in node.names:
        name = dotted(alias.name)
        symbol = by_qualified.get(f"{module}.{name}")
        if symbol is not None:
            local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
            bindings.names[local] = symbol


def _drop_post_refactor_manager(module: cst.Module, bindings: LegacyBindings) -> None:
    """Forget ``CheckpointManager`` unless this module uses the legacy class (same name, new API)."""
    locals_ = [local for local, symbol in bindings.names.items() if symbol.name == "CheckpointManager"]
    if not locals_:
        return
    if any(symbol.name in LEGACY_MANAGER_COMPANIONS for symbol in bindings.names.values()):
        return
    finder = _LegacyManagerCallFinder(set(locals_))
    module.visit(finder)
    if not finder.found:
        for local in locals_:
            del bindings.names[local]


class _LegacyManagerCallFinder(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        return type(node) not in INERT_NODE_TYPES and super().on_visit(node)

    def visit_Call(self, node: cst.Call) -> bool:
        if isinstance(node.func, cst.Name) and node.func.value in self.names:
            keywords = {arg.keyword.value for arg in node.args if arg.keyword is not None}
            positional = sum(1 for arg in node.args if arg.keyword is None and not arg.star)
            if keywords & LEGACY_MANAGER_KEYWORDS or positional >= LEGACY_MANAGER_MIN_POSITIONAL:
                self.found = True
        return not self.found

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if node.attr.value in LEGACY_MANAGER_COMPANIONS:
            self.found = True
        return not self.found
