"""Remove the ``policy_store`` parameter from callees whose callers the codemod stops passing it to.

The callee table (``_shapes.DROP_KEYWORDS`` / ``POSITIONAL_STORE``: evaluate_policy, Simulation,
Simulation.create, Kickstarter) drops ``policy_store=`` (and the store passed positionally) at every call
site. The definition follows here: when, after the other rules (loads by URI rewritten, dead
``self.x = store`` removed, the store no longer passed on), the function body no longer mentions
``policy_store``, the parameter is removed. Otherwise the TODO pass marks the definition ("callers no
longer pass policy_store ... remove this parameter and its uses").
"""

from __future__ import annotations

import re

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._uses import collect
from codemods.rules.mark_remaining import DROPPED_BY_CALLERS

STORE_PARAM = "policy_store"
# Where the table's definitions can be: `def evaluate_policy`, `class Simulation`, `class Kickstarter`.
_DEFINITIONS = re.compile(
    r"\b(?:def (?:"
    + "|".join(sorted(q for q in DROPPED_BY_CALLERS if "." not in q))
    + r")|class (?:"
    + "|".join(sorted({q.split(".")[0] for q in DROPPED_BY_CALLERS if "." in q}))
    + r"))\b"
)


class DropUnusedStoreParams(LegacyRule):
    DESCRIPTION = "drop the policy_store parameter of callees whose callers no longer pass it"
    TRIGGERS = frozenset({"policy_store"})

    @classmethod
    def wants(cls, text: str) -> bool:
        return "policy_store" in text and _DEFINITIONS.search(text) is not None

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._classes: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        name = updated_node.name.value
        qualified = f"{self._classes[-1]}.{name}" if self._classes else name
        if qualified not in DROPPED_BY_CALLERS:
            return updated_node
        params = updated_node.params
        for field in ("params", "kwonly_params"):
            group = list(getattr(params, field))
            index = next((i for i, p in enumerate(group) if p.name.value == STORE_PARAM), None)
            if index is None:
                continue
            if collect(updated_node.body, {STORE_PARAM}).uses:
                return updated_node
            removed = group.pop(index)
            if group and index == len(group):
                # The old last parameter's comma (and what precedes ')') moves to the new last one.
                group[-1] = group[-1].with_changes(comma=removed.comma)
            changes: dict[str, object] = {field: group}
            if field == "kwonly_params" and not group and isinstance(params.star_arg, cst.ParamStar):
                changes["star_arg"] = cst.MaybeSentinel.DEFAULT  # `def f(*)` is not Python
            self.counted()
            self.report(
                f"{qualified}(): its callers no longer pass policy_store; the unused parameter was removed"
            )
            return updated_node.with_changes(params=params.with_changes(**changes))
        return updated_node
