"""Build a SimpleCheckpointManager where a training entry point built the store (C1, C2, factories).

``store = PolicyStore.create(device=..., data_dir=..., wandb_config=..., wandb_run=...)`` (or
``PolicyStore(...)`` in any generation, or ``get_policy_store_from_cfg(cfg, wandb_run)``) becomes
``checkpoint_manager = SimpleCheckpointManager(run_dir=..., run_name=...)`` when both hold:

- the run dir and run name are evident at the site: parameters ``run_dir`` and ``run_name``/``run``,
  fields ``run_dir`` and ``run``/``run_name`` of the enclosing class (used through ``self``), or
  ``<x>.run_dir`` and ``<x>.run``/``<x>.run_name`` read in the same function;
- the store is only used as a manager: passed on as ``policy_store=`` (renamed or dropped by the keyword
  rule) or through methods SimpleCheckpointManager has.

The variable ``policy_store`` is renamed ``checkpoint_manager`` at every use in the function. Everywhere
else (play/replay/sim tools loading arbitrary URIs, the store kept on an object) the statement gets a TODO.
Keywords are always emitted by name (the target's parameter order differs from #2366's).
"""

from __future__ import annotations

import re

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._resolve import dotted, iter_statements
from codemods.rules._shapes import (
    DROP_KEYWORDS,
    MANAGER_CLASS,
    MANAGER_PARAM,
    FastVisitor,
    KeywordOnlyUses,
    NameRenamer,
    callee_name,
    param_names,
)

STORE_FACTORIES = frozenset({"PolicyStore", "get_policy_store_from_cfg"})
_CONSTRUCTION = re.compile(r"\bPolicyStore(?:\.create)?\s*\(|\bget_policy_store_from_cfg\s*\(")
RUN_NAME_FIELDS = ("run_name", "run")


class StoreToManager(LegacyRule):
    DESCRIPTION = (
        "PolicyStore construction at a training entry point -> SimpleCheckpointManager(run_dir=, run_name=)"
    )
    TRIGGERS = STORE_FACTORIES

    @classmethod
    def wants(cls, text: str) -> bool:
        # Only construction sites matter (annotations and other uses are the TODO pass's); an aliased
        # import (`PolicyStore as PS`) makes any call a candidate.
        return (
            bool(_CONSTRUCTION.search(text))
            or "PolicyStore as " in text
            or "get_policy_store_from_cfg as " in text
        )

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._classes: list[cst.ClassDef] = []
        self._functions: list[cst.FunctionDef] = []
        self._renames: list[dict[int, tuple[str, str]]] = []
        self._owned: set[int] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)
        self._renames.append({})

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._functions.pop()
        renames = self._renames.pop()
        for old, new in renames.values():
            updated_node = updated_node.with_changes(body=updated_node.body.visit(NameRenamer(old, new)))
        return updated_node

    def _is_factory(self, call: cst.Call) -> bool:
        symbol = self.bindings.resolve(call.func)
        if symbol is not None and symbol.name in STORE_FACTORIES:
            return True
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "create":
            return self.bindings.is_legacy(call.func.value, "PolicyStore")
        return False

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if len(original_node.body) != 1 or not isinstance(original_node.body[0], cst.Assign):
            return updated_node
        assign = original_node.body[0]
        call = assign.value
        if not isinstance(call, cst.Call) or not self._is_factory(call):
            return updated_node
        if self._only_feeds_dropped_keywords(assign):
            self.counted()
            self.report(
                f"{self._functions[-1].name.value}(): the store built here only fed policy_store= to callees that "
                "no longer take it; the construction was removed"
            )
            return cst.RemovalSentinel.REMOVE  # type: ignore[return-value]
        why = self._why_not(assign)
        if why is not None:
            self.todo(why)
            return updated_node
        old = assign.targets[0].target.value  # type: ignore[attr-defined]
        new = MANAGER_PARAM if old == "policy_store" else old
        run_dir, run_name = self._hint()  # type: ignore[misc]
        new_call = cst.Call(
            func=cst.Name(MANAGER_CLASS),
            args=[
                cst.Arg(keyword=cst.Name("run_dir"), value=run_dir, equal=_EQ),
                cst.Arg(keyword=cst.Name("run_name"), value=run_name, equal=_EQ),
            ],
        )
        if new != old:
            self._renames[-1][id(original_node)] = (old, new)
        self.import_target(MANAGER_CLASS)
        self.counted()
        self.report(
            f"{self._functions[-1].name.value}(): {old} = {dotted(call.func)}(...) became "
            f"{MANAGER_CLASS}(run_dir=..., run_name=...); its device/data_dir/wandb arguments are dropped"
        )
        new_assign = assign.with_changes(
            targets=[assign.targets[0].with_changes(target=cst.Name(new))], value=new_call
        )
        return updated_node.with_changes(body=[new_assign])

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if (
            len(node.body) == 1
            and isinstance(node.body[0], cst.Assign)
            and isinstance(node.body[0].value, cst.Call)
        ):
            self._owned.add(id(node.body[0].value))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        # A store built anywhere else than `x = <factory>(...)` in a function: TODO.
        if id(original_node) not in self._owned and self._is_factory(original_node):
            self.todo(
                "the policy store is built here for loading policies by URI; SimpleCheckpointManager("
                "run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)"
            )
        return updated_node

    def _why_not(self, assign: cst.Assign) -> str | None:
        generic = (
            "the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., "
            "run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)"
        )
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return generic
        if not self._functions:
            return generic
        name = assign.targets[0].target.value
        function = self._functions[-1]
        uses = KeywordOnlyUses(name, assign)
        function.body.visit(uses)
        if not uses.ok:
            return generic
        new = MANAGER_PARAM if name == "policy_store" else name
        if new != name and MANAGER_PARAM in _all_names(function):
            return generic
        if self._hint() is None:
            return (
                "no run dir/run name in reach: build SimpleCheckpointManager(run_dir=..., run_name=...) here"
            )
        return None

    def _only_feeds_dropped_keywords(self, assign: cst.Assign) -> bool:
        """True when every use of the store is ``policy_store=`` to a callee that no longer takes it."""
        if (
            not self._functions
            or len(assign.targets) != 1
            or not isinstance(assign.targets[0].target, cst.Name)
        ):
            return False
        collector = _ArgumentCallees(assign.targets[0].target.value, assign)
        self._functions[-1].body.visit(collector)
        return (
            collector.ok
            and bool(collector.callees)
            and all("policy_store" in DROP_KEYWORDS.get(callee, frozenset()) for callee in collector.callees)
        )

    def _hint(self) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
        function = self._functions[-1]
        params = param_names(function)
        if "run_dir" in params:
            for field in RUN_NAME_FIELDS:
                if field in params:
                    return cst.Name("run_dir"), cst.Name(field)
        if self._classes and params[:1] == ["self"]:
            fields = _class_fields(self._classes[-1])
            if "run_dir" in fields:
                for field in RUN_NAME_FIELDS:
                    if field in fields:
                        return _attr("self", "run_dir"), _attr("self", field)
        reads = _attribute_reads(function)
        for base, attrs in reads.items():
            if "run_dir" in attrs:
                for field in RUN_NAME_FIELDS:
                    if field in attrs:
                        return _attr(base, "run_dir"), _attr(base, field)
        return None


class _ArgumentCallees(FastVisitor):
    """Callees receiving ``name`` as ``policy_store=name``; ``ok`` is False on any other use."""

    def __init__(self, name: str, skip: cst.CSTNode) -> None:
        self.name = name
        self.skip = skip
        self.ok = True
        self.callees: list[str] = []

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:
            if isinstance(arg.value, cst.Name) and arg.value.value == self.name:
                if arg.keyword is not None and arg.keyword.value == "policy_store":
                    self.callees.append(callee_name(node))

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is self.skip:
            return False
        if isinstance(node, cst.Arg) and isinstance(node.value, cst.Name) and node.value.value == self.name:
            if node.keyword is None or node.keyword.value != "policy_store":
                self.ok = False
            return False
        if isinstance(node, cst.Name) and node.value == self.name:
            self.ok = False
        return super().on_visit(node)


_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _attr(base: str, name: str) -> cst.Attribute:
    return cst.Attribute(value=cst.parse_expression(base), attr=cst.Name(name))


def _class_fields(node: cst.ClassDef) -> set[str]:
    fields: set[str] = set()
    for statement in node.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    fields.add(small.target.value)
    return fields


class _AttributeReads(FastVisitor):
    def __init__(self) -> None:
        self.reads: dict[str, set[str]] = {}

    def visit_Attribute(self, node: cst.Attribute) -> None:
        base = dotted(node.value)
        if base is not None:
            self.reads.setdefault(base, set()).add(node.attr.value)


def _attribute_reads(function: cst.FunctionDef) -> dict[str, set[str]]:
    visitor = _AttributeReads()
    function.body.visit(visitor)
    return visitor.reads


class _AllNames(FastVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _all_names(node: cst.CSTNode) -> set[str]:
    visitor = _AllNames()
    node.visit(visitor)
    return visitor.names


__all__ = ["StoreToManager", "iter_statements"]
