"""``first = latest = mgr.load_or_create_policy(agent_cfg=a, system_cfg=s, ..., metta_grid_env=env)`` (T1).

becomes::

    latest = mgr.load_agent()
    if latest is None:
        latest = MettaAgent(env, s, a)

and ``latest.policy`` becomes ``latest`` in the function. The test is an explicit ``is None`` (some
nn.Module subclasses define ``__len__``, so ``x or y`` is unsafe). The other chained targets (the
"initial record") have no equivalent; they are dropped when their only use is the
``initial_policy_record=`` keyword the periodic-checkpoint rule drops. Reported: the legacy call also
honoured ``trainer_cfg.initial_policy.uri`` and ``checkpoint.policy_path`` and broadcast the choice from
the master rank; the new code does neither.
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._shapes import FastTransformer, NameUses, assigned_call, keyword, target_name, uses_of
from codemods.rules.trainer_state import manager_names

REQUIRED = ("agent_cfg", "system_cfg", "metta_grid_env")
AGENT_MODULE = "metta.agent.metta_agent"
AGENT_CLASS = "MettaAgent"


class _PolicyAttr(FastTransformer):
    def __init__(self, name: str) -> None:
        self.name = name

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if (
            isinstance(original_node.value, cst.Name)
            and original_node.value.value == self.name
            and original_node.attr.value == "policy"
        ):
            return cst.Name(self.name)
        return updated_node


class _KeywordOnly(NameUses):
    """Counts uses of a name that are the value of ``initial_policy_record=``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.initial = 0

    def visit_Arg(self, node: cst.Arg) -> bool:
        if (
            node.keyword is not None
            and node.keyword.value == "initial_policy_record"
            and isinstance(node.value, cst.Name)
            and node.value.value == self.name
        ):
            self.initial += 1
        return super().visit_Arg(node)


class LoadOrCreatePolicy(LegacyRule):
    DESCRIPTION = "mgr.load_or_create_policy(...) -> mgr.load_agent() + explicit `is None` fallback"
    TRIGGERS = frozenset({"load_or_create_policy"})
    NEEDS_LEGACY_IMPORT = False

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._functions: list[cst.FunctionDef] = []
        self._policy_renames: list[list[str]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)
        self._policy_renames.append([])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._functions.pop()
        for name in self._policy_renames.pop():
            updated_node = updated_node.with_changes(body=updated_node.body.visit(_PolicyAttr(name)))
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        shape = assigned_call(original_node)
        if shape is None:
            return updated_node
        targets, call = shape
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "load_or_create_policy"):
            return updated_node
        function = self._functions[-1] if self._functions else None
        receiver = call.func.value
        names = [target_name(t) for t in targets]
        ok = (
            function is not None
            and isinstance(receiver, cst.Name)
            and receiver.value in manager_names(function)
            and all(names)
            and not any(arg.star for arg in call.args)
            and all(keyword(call, k) is not None for k in REQUIRED)
        )
        if ok:
            kept = names[-1]
            dropped = names[:-1]
            for name in dropped:
                uses = _KeywordOnly(name)  # type: ignore[arg-type]
                function.body.visit(uses)  # type: ignore[union-attr]
                if uses.total != uses.initial + 1:  # +1: the chained assignment itself
                    ok = False
            kept_uses = uses_of(function.body, kept)  # type: ignore[union-attr,arg-type]
            if any(attr != "policy" for attr in kept_uses.attributes):
                ok = False
        if not ok:
            self.todo(
                "load_or_create_policy: agent = checkpoint_manager.load_agent(); if agent is None: build a fresh agent"
            )
            return updated_node
        kept = names[-1]
        agent_cls = self._agent_class()
        env = keyword(call, "metta_grid_env").value  # type: ignore[union-attr]
        system = keyword(call, "system_cfg").value  # type: ignore[union-attr]
        agent_cfg = keyword(call, "agent_cfg").value  # type: ignore[union-attr]
        load = cst.SimpleStatementLine(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(kept))],  # type: ignore[arg-type]
                    value=cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name("load_agent"))),
                )
            ],
            leading_lines=original_node.leading_lines,
            trailing_whitespace=original_node.trailing_whitespace,
        )
        fresh = cst.SimpleStatementLine(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(kept))],  # type: ignore[arg-type]
                    value=cst.Call(
                        func=cst.Name(agent_cls), args=[cst.Arg(env), cst.Arg(system), cst.Arg(agent_cfg)]
                    ),
                )
            ]
        )
        fallback = cst.If(
            test=cst.Comparison(
                left=cst.Name(kept),  # type: ignore[arg-type]
                comparisons=[cst.ComparisonTarget(operator=cst.Is(), comparator=cst.Name("None"))],
            ),
            body=cst.IndentedBlock(body=[fresh]),
        )
        self._policy_renames[-1].append(kept)  # type: ignore[arg-type]
        self.counted()
        self.report(
            "load_or_create_policy -> load_agent(): the legacy call also honoured trainer_cfg.initial_policy.uri "
            "and checkpoint.policy_path, and broadcast the choice from the master rank; the new code does neither"
        )
        return cst.FlattenSentinel([load, fallback])

    def _agent_class(self) -> str:
        tree_names = self.context.scratch.get("simple_ckpt.module_names", set())
        if AGENT_CLASS not in tree_names:
            self.add_needed_import(AGENT_MODULE, AGENT_CLASS)
        return AGENT_CLASS

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        self.context.scratch["simple_ckpt.module_names"] = _imported_names(tree)
        return super().transform_module_impl(tree)


def _imported_names(tree: cst.Module) -> set[str]:
    from codemods.rules._resolve import iter_statements

    names: set[str] = set()
    for statement in iter_statements(tree):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    for alias in small.names:
                        names.add(alias.asname.name.value if alias.asname else alias.name.value)  # type: ignore[union-attr]
    return names
