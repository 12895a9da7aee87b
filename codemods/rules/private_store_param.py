"""A module-private function whose ``policy_store`` parameter nothing reads any more loses it (pattern P4).

After the load/selection rewrites (``LoadByUri``: ``store.policy_records(u, s, ...)`` ->
``select_checkpoints(u, selector=s, ...)``) a helper such as ``_find_policies(policy_store, uri, ...)``
no longer uses its store. When the function is private to the module (``_name``) and every reference to
it in the module is a call, or the first argument of ``pool.submit(_name, ...)``, that passes the store as
``policy_store=``, the parameter and those keyword arguments are removed. A store then built in the
caller (``policy_store = PolicyStore(...)`` / ``PolicyStore.create(...)`` / ``get_policy_store_from_cfg``)
that nothing else reads is removed too. Any other reference (passed around, positional store argument,
another module calling it) leaves everything to the TODO pass.
"""

from __future__ import annotations

import re

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._resolve import iter_statements
from codemods.rules._uses import all_params, collect

STORE_PARAM = "policy_store"
STORE_FACTORIES = frozenset({"PolicyStore", "get_policy_store_from_cfg"})
_PRIVATE_WITH_STORE = re.compile(r"\bdef _(?!_)\w*\([^)]*\bpolicy_store\b")


class DropPrivateStoreParam(LegacyRule):
    DESCRIPTION = "drop the unused policy_store parameter of a module-private helper, its keyword at calls and the store"
    TRIGGERS = frozenset({STORE_PARAM})

    @classmethod
    def wants(cls, text: str) -> bool:
        return _PRIVATE_WITH_STORE.search(text) is not None

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._functions: set[int] = set()
        self._args: set[int] = set()
        self._statements: set[int] = set()
        self._enter: set[int] = set()  # functions and classes holding something to rewrite

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        for function in tree.body:
            if (
                isinstance(function, cst.FunctionDef)
                and function.name.value.startswith("_")
                and not function.name.value.startswith("__")
                and any(p.name.value == STORE_PARAM for p in all_params(function))
                and not any(p.name.value == STORE_PARAM for p in function.params.posonly_params)
                and not collect(function.body, {STORE_PARAM}).uses
            ):
                self._plan(tree, function)
        if not self._functions:
            return tree
        return super().transform_module_impl(tree)

    def _plan(self, tree: cst.Module, function: cst.FunctionDef) -> None:
        name = function.name.value
        store_args: list[tuple[cst.Arg, cst.FunctionDef | None]] = []
        enter: set[int] = {id(function)}
        for use in collect(tree, {name}).uses:
            call = _calling_call(use.ancestors, use.name)
            if call is None:
                return
            keyword = [a for a in call.args if a.keyword is not None and a.keyword.value == STORE_PARAM]
            positional = [a for a in call.args if a.keyword is None]
            if len(keyword) != 1 or any(a.star for a in call.args):
                return
            if call.func is use.name and len(positional) > _position(function):
                return  # the store (or something after it) passed positionally
            caller = next((a for a in reversed(use.ancestors) if isinstance(a, cst.FunctionDef)), None)
            store_args.append((keyword[0], caller))
            enter.update(id(a) for a in use.ancestors if isinstance(a, (cst.FunctionDef, cst.ClassDef)))
        if not store_args:
            return
        self._functions.add(id(function))
        self._enter |= enter
        self._args.update(id(arg) for arg, _ in store_args)
        for arg, caller in store_args:
            if caller is not None and isinstance(arg.value, cst.Name):
                self._drop_dead_store(caller, arg.value.value)
        self.report(
            f"{name}(): its policy_store parameter was no longer read; removed with the store passed to it"
        )

    def _drop_dead_store(self, caller: cst.FunctionDef, variable: str) -> None:
        uses = collect(caller.body, {variable}).uses
        targets = [u for u in uses if u.is_target()]
        reads = [u for u in uses if not u.is_target()]
        if len(targets) != 1 or any(id(u.parent) not in self._args for u in reads):
            return
        for statement in iter_statements(caller.body):
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                small = statement.body[0]
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and small.targets[0].target is targets[0].name
                    and self._is_factory(small.value)
                ):
                    self._statements.add(id(statement))

    def _is_factory(self, value: cst.BaseExpression) -> bool:
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "create":
            func = func.value
        symbol = self.bindings.resolve(func)
        return symbol is not None and symbol.name in STORE_FACTORIES

    # --- rewriting ----------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return id(node) in self._enter

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return id(node) in self._enter

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if id(original_node) not in self._functions:
            return updated_node
        params = updated_node.params
        changes: dict[str, object] = {}
        for field in ("params", "kwonly_params"):
            group = list(getattr(params, field))
            index = next((i for i, p in enumerate(group) if p.name.value == STORE_PARAM), None)
            if index is None:
                continue
            removed = group.pop(index)
            if group and index == len(group):
                group[-1] = group[-1].with_changes(comma=removed.comma)
            changes[field] = group
            if field == "kwonly_params" and not group and isinstance(params.star_arg, cst.ParamStar):
                changes["star_arg"] = cst.MaybeSentinel.DEFAULT
        self.counted()
        return updated_node.with_changes(params=params.with_changes(**changes))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        dropped = [i for i, arg in enumerate(original_node.args) if id(arg) in self._args]
        if not dropped:
            return updated_node
        args = [arg for i, arg in enumerate(updated_node.args) if i not in dropped]
        if args and dropped[-1] == len(original_node.args) - 1:
            args[-1] = args[-1].with_changes(comma=updated_node.args[-1].comma)
        self.counted()
        return updated_node.with_changes(args=args)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if id(original_node) in self._statements:
            self.counted()
            return cst.RemovalSentinel.REMOVE
        return updated_node


def _calling_call(ancestors: tuple[cst.CSTNode, ...], name: cst.Name) -> cst.Call | None:
    """The call that runs the function: ``name(...)`` or ``x.submit(name, ...)``; else None."""
    parent = ancestors[-1] if ancestors else None
    if isinstance(parent, cst.Call) and parent.func is name:
        return parent
    if isinstance(parent, cst.Arg) and len(ancestors) >= 2:
        call = ancestors[-2]
        if (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "submit"
            and call.args
            and call.args[0] is parent
            and parent.keyword is None
        ):
            return call
    return None


def _position(function: cst.FunctionDef) -> int:
    """How many positional arguments a call may pass before reaching the store parameter."""
    names = [p.name.value for p in function.params.params]
    return names.index(STORE_PARAM) if STORE_PARAM in names else len(names)
