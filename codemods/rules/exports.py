"""Drop legacy names from ``__all__`` (pattern I6).

``__all__ = ["MockAgent", "MockPolicyRecord"]`` next to ``from .mock_policy_record import MockPolicyRecord``:
the string is invisible to name resolution, so it is matched explicitly against the module's legacy
bindings (relative imports resolved against the file's module name). Removing the entry leaves the
re-export import unused, and the import pass removes it.
"""

from __future__ import annotations

import re

import libcst as cst

from codemods.legacy_table import load_table
from codemods.rules._base import LegacyRule

_QUOTED_LEGACY_NAME = re.compile(
    "[\"'](" + "|".join(sorted(re.escape(symbol.name) for symbol in load_table().symbols)) + ")[\"']"
)


class DropLegacyExports(LegacyRule):
    DESCRIPTION = "remove legacy names from __all__ (their re-export import then goes too)"
    TRIGGERS = frozenset({"__all__"})

    @classmethod
    def wants(cls, text: str) -> bool:
        return "__all__" in text and _QUOTED_LEGACY_NAME.search(text) is not None

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if not any(
            isinstance(t.target, cst.Name) and t.target.value == "__all__" for t in original_node.targets
        ):
            return updated_node
        value = updated_node.value
        if not isinstance(value, (cst.List, cst.Tuple)):
            return updated_node
        elements = list(value.elements)
        keep = [e for e in elements if not self._is_legacy_entry(e.value)]
        if len(keep) == len(elements):
            return updated_node
        if keep and keep[-1] is not elements[-1]:
            keep[-1] = keep[-1].with_changes(comma=elements[-1].comma)
        self.counted(len(elements) - len(keep))
        return updated_node.with_changes(value=value.with_changes(elements=keep))

    def _is_legacy_entry(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.SimpleString):
            return False
        name = node.evaluated_value
        return isinstance(name, str) and name in self.bindings.names
