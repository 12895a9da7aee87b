"""Selector and error names (patterns C10, Y3) become their ``simple_ckpt.compat`` stand-ins.

- ``PolicySelectorType`` -> ``compat.Selector``, the same Literal without the legacy ``"rand"``, so
  ``Selector.__args__`` still works as argparse choices. Not done in a file that spells ``"rand"`` (a
  default or a choice the new type would reject): that stays TODO.
- ``PolicyMissingError`` -> ``compat.CheckpointNotFound``, which ``compat.select_checkpoints`` raises when
  nothing is selected (as the store raised ``PolicyMissingError``). Only when the file no longer calls a
  store method or ``load_agent_from`` (which raise other errors), so ``except`` keeps its meaning.
- ``PolicySelectorConfig`` -> ``compat.SelectorConfig`` (fields ``type``, ``metric``, ``range``) in
  annotations, as a ``default_factory`` and in calls passing only those keywords (and no ``"rand"``);
  a file with any other call (``filters=``, ``uri=``, positional arguments, ``type="rand"``) keeps every
  ``PolicySelectorConfig`` TODO (no annotation naming one class while the value is the other).
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._resolve import LegacyBindings
from codemods.rules._shapes import FastVisitor

RENAMES = {
    "PolicySelectorType": "Selector",
    "PolicyMissingError": "CheckpointNotFound",
    "PolicySelectorConfig": "SelectorConfig",
}
CONFIG_FIELDS = frozenset({"type", "metric", "range"})
_RAISING_CALLS = frozenset({"policy_record", "policy_records", "policy", "policies", "load_agent_from"})


class SelectorNames(LegacyRule):
    DESCRIPTION = "PolicySelectorType/PolicyMissingError/PolicySelectorConfig -> compat Selector/CheckpointNotFound/SelectorConfig"
    TRIGGERS = frozenset(RENAMES)

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._allowed: set[str] = set()
        self._attr_names: set[int] = set()  # `x.Name` attribute names: not a reference to an import
        self._skip: set[int] = set()  # top-level statements naming none of the symbols renamed here

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        text = self.source_text()
        if text is None:
            text = tree.code
        allowed = {name for name in RENAMES if name in text}
        if '"rand"' in text or "'rand'" in text:
            allowed.discard("PolicySelectorType")
            allowed.discard("PolicySelectorConfig")
        if not allowed:
            return tree
        # One walk of the (already rewritten) tree: which top-level statements name which of these symbols,
        # and the two reasons to keep a name TODO. The rewriting walk then enters only those statements.
        finder = _Finder(self.bindings)
        for statement in tree.body:
            if isinstance(statement, cst.SimpleStatementLine) and all(
                isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
            ):
                continue  # the import pass owns imports
            finder.current = id(statement)
            statement.visit(finder)
        if finder.raising_call:
            allowed.discard("PolicyMissingError")
        if finder.unfaithful_config:
            allowed.discard("PolicySelectorConfig")
        self._allowed = allowed
        self._skip = {id(s) for s in tree.body if not finder.named.get(id(s), set()) & allowed}
        if len(self._skip) == len(tree.body):
            return tree
        return super().transform_module_impl(tree)

    def on_visit(self, node: cst.CSTNode) -> bool:
        entered = super().on_visit(node)
        return entered and id(node) not in self._skip

    def _target(self, node: cst.BaseExpression) -> str | None:
        symbol = self.bindings.resolve(node)
        return RENAMES[symbol.name] if symbol is not None and symbol.name in self._allowed else None

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._attr_names.add(id(node.attr))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if id(original_node) in self._attr_names:
            return updated_node
        return self._renamed(original_node, updated_node)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return self._renamed(original_node, updated_node)

    def _renamed(self, original: cst.BaseExpression, updated: cst.BaseExpression) -> cst.BaseExpression:
        target = self._target(original)
        if target is None:
            return updated
        self.counted()
        self.add_needed_import(f"{self.target_module}.compat", target)
        return cst.Name(target)


def _faithful_config_call(call: cst.Call) -> bool:
    """Only keywords the compat config has, and no ``"rand"`` selector."""
    for arg in call.args:
        if arg.star or arg.keyword is None or arg.keyword.value not in CONFIG_FIELDS:
            return False
        if isinstance(arg.value, cst.SimpleString) and arg.value.raw_value == "rand":
            return False
    return True


class _Finder(FastVisitor):
    """A call that raises something other than ``CheckpointNotFound`` for "nothing found" (a store method
    left, ``load_agent_from``), and a ``PolicySelectorConfig(...)`` call ``SelectorConfig`` cannot take."""

    def __init__(self, bindings: LegacyBindings) -> None:
        self.bindings = bindings
        self.raising_call = False
        self.unfaithful_config = False
        self.current = 0
        self.named: dict[int, set[str]] = {}  # top-level statement id -> symbols it names

    def on_visit(self, node: cst.CSTNode) -> bool:
        kind = type(node)
        if kind is cst.Name or kind is cst.Attribute:
            symbol = self.bindings.resolve(node)
            if symbol is not None and symbol.name in RENAMES:
                self.named.setdefault(self.current, set()).add(symbol.name)
        if kind is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            kind = type(func)
            name = func.attr.value if kind is cst.Attribute else func.value if kind is cst.Name else None
            if name in _RAISING_CALLS:
                self.raising_call = True
            elif self.bindings.is_legacy(func, "PolicySelectorConfig") and not _faithful_config_call(node):  # type: ignore[arg-type]
                self.unfaithful_config = True
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        return None
