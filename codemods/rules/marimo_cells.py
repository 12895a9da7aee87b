"""Marimo notebooks: load the latest local checkpoint through the manager, across cells (M1, pair 17).

In a marimo notebook, names travel between cells as the setup cell's return tuple and the other cells'
parameters. The legacy shape::

    @app.cell
    def setup():
        from metta.agent.policy_store import PolicyStore
        from metta.rl.policy_management import initialize_policy_for_environment
        return PolicyStore, initialize_policy_for_environment

    @app.cell
    def evaluate(PolicyStore, initialize_policy_for_environment, run_dir, env):
        store = PolicyStore.create(...)
        record = store.policy_records(uri_or_config=f"file://{run_dir}", selector_type="latest", n=1, ...)[0]
        ...record.policy...

becomes (the helper was already inlined by the initialize rule)::

    @app.cell
    def setup():
        from simple_ckpt import SimpleCheckpointManager
        return (SimpleCheckpointManager,)

    @app.cell
    def evaluate(SimpleCheckpointManager, run_dir, env):
        record = SimpleCheckpointManager(run_dir=run_dir).load_agent()
        ...record...

Only the exact local shape is rewritten: a literal ``"latest"`` selector, ``n=1``, ``[0]``, a
``file://{dir}`` f-string and a store used for nothing else. The import, the return tuple and every
consuming cell's parameters change together (marimo's dataflow is by name); a legacy name still taken
by an unconverted cell stays exported.
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._shapes import MANAGER_CLASS, FastTransformer, keyword, uses_of

HELPER = "initialize_policy_for_environment"


def _is_cell(node: cst.FunctionDef) -> bool:
    for decorator in node.decorators:
        target = decorator.decorator
        target = target.func if isinstance(target, cst.Call) else target
        if isinstance(target, cst.Attribute) and target.attr.value == "cell":
            return True
    return False


def _params(node: cst.FunctionDef) -> list[str]:
    return [p.name.value for p in node.params.params]


def _file_uri_dir(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """``D`` of ``f"file://{D}"``."""
    if not isinstance(node, cst.FormattedString) or len(node.parts) != 2:
        return None
    text, expr = node.parts
    if isinstance(text, cst.FormattedStringText) and text.value == "file://":
        if (
            isinstance(expr, cst.FormattedStringExpression)
            and expr.format_spec is None
            and expr.conversion is None
        ):
            return expr.expression
    return None


def _literal(node: cst.BaseExpression | None) -> object:
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.Integer):
        return int(node.value)
    return None


class _CellRewrite(FastTransformer):
    """Apply the planned edits inside one consuming cell."""

    def __init__(self, remove: set[int], replace: dict[int, cst.BaseSmallStatement], agent: str) -> None:
        self.remove = remove
        self.replace = replace
        self.agent = agent

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if id(original_node) in self.remove:
            return cst.RemovalSentinel.REMOVE
        if id(original_node) in self.replace:
            return updated_node.with_changes(body=[self.replace[id(original_node)]])
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if (
            isinstance(original_node.value, cst.Name)
            and original_node.value.value == self.agent
            and original_node.attr.value == "policy"
        ):
            return cst.Name(self.agent)
        return updated_node


class MarimoLocalLoad(LegacyRule):
    DESCRIPTION = "marimo: latest local checkpoint via SimpleCheckpointManager, import/return/params together"
    TRIGGERS = frozenset({"marimo"})

    @classmethod
    def wants(cls, text: str) -> bool:
        return ".cell" in text and "policy_records" in text and "file://" in text

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        cells = [s for s in tree.body if isinstance(s, cst.FunctionDef) and _is_cell(s)]
        if not cells:
            return tree
        converted: dict[int, cst.FunctionDef] = {}
        store_params: set[str] = set()
        for cell in cells:
            new = self._convert(cell)
            if new is not None:
                converted[id(cell)], store_param = new
                store_params.add(store_param)
        if not converted:
            return tree
        body = [converted.get(id(s), s) if isinstance(s, cst.FunctionDef) else s for s in tree.body]
        still_taken = {p for s in body if isinstance(s, cst.FunctionDef) and _is_cell(s) for p in _params(s)}
        body = [
            self._setup(s, store_params, still_taken) if isinstance(s, cst.FunctionDef) else s for s in body
        ]
        self.counted(len(converted))
        self.report(
            "marimo cells now load the latest local checkpoint with SimpleCheckpointManager(run_dir=...).load_agent(), "
            "which returns None (instead of raising) when the run has no checkpoint"
        )
        return tree.with_changes(body=body)

    def _convert(self, cell: cst.FunctionDef) -> tuple[cst.FunctionDef, str] | None:
        statements = [
            s for s in cell.body.body if isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1
        ]
        for load in statements:
            assign = load.body[0]
            if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
                continue
            agent = assign.targets[0].target
            value = assign.value
            if not (
                isinstance(agent, cst.Name) and isinstance(value, cst.Subscript) and len(value.slice) == 1
            ):
                continue
            index = value.slice[0].slice
            call = value.value
            if not (
                isinstance(index, cst.Index) and _literal(index.value) == 0 and isinstance(call, cst.Call)
            ):
                continue
            if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "policy_records"):
                continue
            store = call.func.value
            uri = keyword(call, "uri_or_config")
            run_dir = _file_uri_dir(uri.value) if uri is not None else None
            selector, count = keyword(call, "selector_type"), keyword(call, "n")
            if not (
                isinstance(store, cst.Name)
                and run_dir is not None
                and selector is not None
                and _literal(selector.value) == "latest"
                and count is not None
                and _literal(count.value) == 1
                and all(arg.keyword is not None for arg in call.args)
            ):
                continue
            made = self._store_statement(statements, store.value, cell)
            if made is None:
                continue
            creation, store_param = made
            if uses_of(cell.body, store.value).total != 2:  # its assignment and this call, nothing else
                continue
            new_value = cst.Call(
                func=cst.Attribute(
                    value=cst.Call(
                        func=cst.Name(MANAGER_CLASS),
                        args=[cst.Arg(keyword=cst.Name("run_dir"), value=run_dir, equal=_EQ)],
                    ),
                    attr=cst.Name("load_agent"),
                )
            )
            rewrite = _CellRewrite(
                {id(creation)}, {id(load): assign.with_changes(value=new_value)}, agent.value
            )
            new_body = cell.body.visit(rewrite)
            drop = {store_param}
            if HELPER in _params(cell) and uses_of(new_body, HELPER).total == 0:
                drop.add(HELPER)
            params = []
            for param in cell.params.params:
                name = param.name.value
                if name == store_param:
                    params.append(param.with_changes(name=cst.Name(MANAGER_CLASS)))
                elif name not in drop:
                    params.append(param)
            params = _recomma(params, cell.params.params)
            new_cell = cell.with_changes(body=new_body, params=cell.params.with_changes(params=params))
            return new_cell, store_param
        return None

    def _store_statement(
        self, statements: list[cst.SimpleStatementLine], store: str, cell: cst.FunctionDef
    ) -> tuple[cst.SimpleStatementLine, str] | None:
        for statement in statements:
            assign = statement.body[0]
            if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
                continue
            target, value = assign.targets[0].target, assign.value
            if not (isinstance(target, cst.Name) and target.value == store and isinstance(value, cst.Call)):
                continue
            func = value.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "create"
                and isinstance(func.value, cst.Name)
                and func.value.value in _params(cell)
                and self.bindings.is_legacy(func.value, "PolicyStore")
            ):
                return statement, func.value.value
        return None

    def _setup(self, cell: cst.FunctionDef, store_params: set[str], still_taken: set[str]) -> cst.FunctionDef:
        """In the cell exporting the store class: import and return the manager instead (or as well)."""
        returns = [
            s
            for s in cell.body.body
            if isinstance(s, cst.SimpleStatementLine) and isinstance(s.body[0], cst.Return)
        ]
        if not _is_cell(cell) or len(returns) != 1:
            return cell
        ret = returns[0].body[0]
        value = ret.value  # type: ignore[union-attr]
        elements = (
            list(value.elements) if isinstance(value, cst.Tuple) else [cst.Element(value)] if value else []
        )
        names = [e.value.value for e in elements if isinstance(e.value, cst.Name)]
        if not store_params & set(names):
            return cell
        kept: list[str] = []
        for name in names:
            if name in store_params or (name == HELPER and name not in still_taken):
                if name in still_taken:
                    kept.append(name)
                continue
            kept.append(name)
        if MANAGER_CLASS not in kept:
            kept.insert(0, MANAGER_CLASS)
        new_tuple = cst.Tuple(
            [cst.Element(cst.Name(n)) for n in kept],
            lpar=[cst.LeftParen()] if len(kept) == 1 else [],
            rpar=[cst.RightParen()] if len(kept) == 1 else [],
        )
        if len(kept) == 1:
            new_tuple = new_tuple.with_changes(elements=[cst.Element(cst.Name(kept[0]), comma=cst.Comma())])
        new_return = returns[0].with_changes(body=[ret.with_changes(value=new_tuple)])  # type: ignore[union-attr]
        import_line = cst.SimpleStatementLine(
            body=[
                cst.ImportFrom(
                    module=cst.parse_expression(self.target_module),
                    names=[cst.ImportAlias(cst.Name(MANAGER_CLASS))],
                )
            ]  # type: ignore[arg-type]
        )
        body = list(cell.body.body)
        position = body.index(returns[0])
        body[position] = new_return
        already = any(
            isinstance(s, cst.SimpleStatementLine)
            and isinstance(s.body[0], cst.ImportFrom)
            and any(isinstance(a, cst.ImportAlias) and a.name.value == MANAGER_CLASS for a in s.body[0].names)  # type: ignore[union-attr]
            for s in body
        )
        if not already:
            body.insert(0, import_line)
        return cell.with_changes(body=cell.body.with_changes(body=body))


_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _recomma(params: list[cst.Param], original: tuple[cst.Param, ...] | list[cst.Param]) -> list[cst.Param]:
    if not params:
        return params
    fixed = [p.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for p in params[:-1]]
    fixed.append(params[-1].with_changes(comma=original[-1].comma))
    return fixed
