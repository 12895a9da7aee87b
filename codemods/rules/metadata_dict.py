"""PolicyMetadata(...) becomes a plain dict (pattern C4); PolicyMetadata annotations become ``dict``.

The legacy class silently supplied four keys (agent_step, epoch, generation, train_time, all 0), so the
dict spells them out: code that later reads ``md["epoch"]`` keeps working. A construction whose result is
read attribute-style (``md.epoch``) is not rewritten (the dict has no attributes): it gets a TODO.
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._shapes import uses_of

LEGACY_DEFAULT_KEYS = ("agent_step", "epoch", "generation", "train_time")
DICT_METHODS = frozenset({"get", "items", "keys", "values", "update", "copy", "setdefault", "pop"})


class PolicyMetadataToDict(LegacyRule):
    DESCRIPTION = "PolicyMetadata(...) -> dict(...) with the legacy default keys; annotations -> dict"
    TRIGGERS = frozenset({"PolicyMetadata"})

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._functions: list[cst.FunctionDef] = []
        self._in_annotation = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._functions.pop()
        return updated_node

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self._in_annotation += 1

    def leave_Annotation(self, original_node: cst.Annotation, updated_node: cst.Annotation) -> cst.Annotation:
        self._in_annotation -= 1
        return updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if self._in_annotation and self.bindings.is_legacy(original_node, "PolicyMetadata"):
            self.counted()
            return updated_node.with_changes(value="dict")
        return updated_node

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        call = original_node.value
        if not (isinstance(call, cst.Call) and self.bindings.is_legacy(call.func, "PolicyMetadata")):
            return updated_node
        names = [t.target.value for t in original_node.targets if isinstance(t.target, cst.Name)]
        scope = self._functions[-1] if self._functions else None
        for name in names:
            if scope is None:
                continue
            attrs = uses_of(scope.body, name).attributes
            if any(attr not in DICT_METHODS for attr in attrs):
                self._blocked.add(id(call))
                self.todo(f"{name} is read attribute-style; PolicyMetadata becomes a dict: use {name}['key']")
        return updated_node

    def visit_Module(self, node: cst.Module) -> None:
        self._blocked: set[int] = set()

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if id(original_node) in self._blocked or not self.bindings.is_legacy(
            original_node.func, "PolicyMetadata"
        ):
            return updated_node
        if any(arg.keyword is None and not arg.star for arg in updated_node.args):
            self.todo("PolicyMetadata with positional arguments: build the dict by hand")
            return updated_node
        given = {arg.keyword.value for arg in updated_node.args if arg.keyword is not None}
        defaults = [
            cst.Arg(
                keyword=cst.Name(key),
                value=cst.Integer("0"),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                ),
            )
            for key in LEGACY_DEFAULT_KEYS
            if key not in given
        ]
        star = [arg for arg in updated_node.args if arg.star]
        explicit = [arg for arg in updated_node.args if not arg.star]
        if star and defaults:
            # dict(mapping, **kw): keys from ** arguments override the defaults instead of colliding.
            mapping = cst.Dict(
                [cst.DictElement(cst.SimpleString(f'"{a.keyword.value}"'), a.value) for a in defaults]  # type: ignore[union-attr]
            )
            args = _join_args([cst.Arg(mapping)], explicit, star)
        else:
            args = _join_args(defaults, explicit, star)
        self.counted()
        return updated_node.with_changes(func=cst.Name("dict"), args=args)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        # isinstance(x, PolicyMetadata) -> isinstance(x, dict)
        if isinstance(original_node.value, cst.Name) and self.bindings.is_legacy(
            original_node.value, "PolicyMetadata"
        ):
            self.counted()
            return updated_node.with_changes(value=cst.Name("dict"))
        return updated_node


def _join_args(*groups: list[cst.Arg]) -> list[cst.Arg]:
    args = [arg for group in groups for arg in group]
    if not args:
        return []
    # Defaults first: give every argument but the last a ", " separator, keep the original last comma.
    fixed = []
    for i, arg in enumerate(args):
        if i < len(args) - 1 and not isinstance(arg.comma, cst.Comma):
            arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        fixed.append(arg)
    return fixed
