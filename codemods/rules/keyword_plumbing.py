"""Keyword plumbing of the store and records through calls (patterns P1/P2), driven by a callee table.

- ``train(..., policy_store=m)`` -> ``train(..., checkpoint_manager=m)`` when ``m`` is a
  SimpleCheckpointManager in that function (a parameter annotated with it or a variable built from it):
  ``train`` is a callee whose definition the codemod threads (see manager_threading).
- ``evaluate_policy(...)``, ``Simulation(...)``, ``Simulation.create(...)``: ``policy_store=`` is dropped
  (the callees stop needing it), keeping the other arguments' order, comments and trailing comma.
- any other callee, and record-carrying keywords (``policy_record=``, ``policy_pr=``,
  ``latest_saved_policy_record=``, ``initial_policy_record=``): the statement gets a TODO (what replaces
  a record at a function boundary is decision F1 of the spec).
Calls with ``*args``/``**kwargs`` are never rewritten (pattern P5).
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._shapes import (
    DROP_KEYWORDS,
    MANAGER_PARAM,
    POSITIONAL_STORE,
    RENAME_STORE_KEYWORD,
    callee_name,
    drop_args,
    has_star_args,
)
from codemods.rules.mark_remaining import STORE_IDENTIFIER
from codemods.rules.trainer_state import manager_names

RECORD_KEYWORDS = {
    "policy_record": "pass the agent or the checkpoint path instead of the PolicyRecord (decision F1)",
    "policy_pr": "pass the agent or the checkpoint path instead of the PolicyRecord (decision F1)",
    "latest_saved_policy_record": "pass the latest saved epoch (an int) instead of the PolicyRecord",
    "initial_policy_record": "the initial PolicyRecord has no equivalent; drop this argument",
}


class StoreKeywordPlumbing(LegacyRule):
    DESCRIPTION = "policy_store=/policy_record= keywords: rename, drop or TODO per callee table"
    TRIGGERS = frozenset(
        {
            "policy_store=",
            "policy_record=",
            "policy_pr=",
            "policy_store =",
            "policy_record =",
            *(f"{callee}(" for callee in POSITIONAL_STORE),
            "cls(",
        }
    )
    NEEDS_LEGACY_IMPORT = False

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._managers: list[set[str]] = [set()]
        self._classes: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._managers.append(set(manager_names(node)) | self._managers[-1])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._managers.pop()
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        updated_node = self._drop_positional_store(original_node, updated_node)
        keywords = {arg.keyword.value: arg for arg in updated_node.args if arg.keyword is not None}
        relevant = [k for k in keywords if k == "policy_store" or k in RECORD_KEYWORDS]
        if not relevant:
            return updated_node
        callee = callee_name(original_node)
        if self.bindings.resolve(original_node.func) is not None:
            return updated_node  # a legacy helper: its own rule (or the TODO pass) owns this call
        if has_star_args(updated_node):
            self.todo(f"{callee}() forwards *args/**kwargs next to legacy arguments; rewrite by hand")
            return updated_node
        for name in relevant:
            if name != "policy_store":
                self.todo(f"{callee}({name}=...): {RECORD_KEYWORDS[name]}")
                continue
            value = keywords[name].value
            if callee in RENAME_STORE_KEYWORD:
                if isinstance(value, cst.Name) and value.value in self._managers[-1]:
                    updated_node = _rename_keyword(updated_node, name, MANAGER_PARAM)
                    self.counted()
                else:
                    self.todo(
                        f"{callee}() now takes checkpoint_manager=SimpleCheckpointManager(...), not a store"
                    )
            elif "policy_store" in DROP_KEYWORDS.get(callee, frozenset()):
                updated_node = drop_args(updated_node, [name])
                self.counted()
            else:
                self.todo(
                    f"decide what {callee}() receives instead of the policy store (a manager, a path, or nothing)"
                )
        return updated_node

    def _drop_positional_store(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        """``Simulation(name, cfg, rec, policy_store, ...)`` -> without the store (callee table)."""
        callee = callee_name(original_node)
        if callee == "cls" and self._classes:
            callee = self._classes[-1]
        index = POSITIONAL_STORE.get(callee)
        if index is None or has_star_args(updated_node) or self.bindings.resolve(original_node.func):
            return updated_node
        args = list(updated_node.args)
        positional = [a for a in args if a.keyword is None]
        if len(positional) <= index:
            return updated_node
        store = positional[index]
        if not (isinstance(store.value, cst.Name) and STORE_IDENTIFIER.search(store.value.value)):
            return updated_node
        position = args.index(store)
        if position == len(args) - 1 and position > 0:
            args[position - 1] = args[position - 1].with_changes(comma=store.comma)
        del args[position]
        self.counted()
        return updated_node.with_changes(args=args)


def _rename_keyword(call: cst.Call, old: str, new: str) -> cst.Call:
    args = [
        arg.with_changes(keyword=cst.Name(new))
        if arg.keyword is not None and arg.keyword.value == old
        else arg
        for arg in call.args
    ]
    return call.with_changes(args=args)
