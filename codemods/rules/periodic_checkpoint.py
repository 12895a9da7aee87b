"""``maybe_establish_checkpoint(checkpoint_manager=m, epoch=e, ...)`` -> compat ``maybe_save_checkpoint`` (T2).

Kept keywords: checkpoint_manager, epoch, policy, agent_step, optimizer, eval_scores, timer, force.
Dropped: initial_policy_record, run_dir, kickstarter (no equivalent) and wandb_run (TODO: simple_ckpt does
not upload). The interval the legacy manager read from its ``checkpoint_config`` becomes
``interval=<config>.checkpoint_interval``, taken from the legacy construction the threading rule removed.
The result changes from ``(record, wandb_name) | None`` to ``path | None``: ``latest, name = res`` becomes
``latest = res`` and statements that used the wandb name get a TODO; a post-save
``latest.metadata[k] = v`` (it never reached disk, even in legacy code) is deleted and reported.
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule, TodoMarking
from codemods.rules._resolve import iter_statements
from codemods.rules._shapes import (
    FastTransformer,
    StatementRemover,
    drop_args,
    has_star_args,
    keyword,
    uses_of,
)
from codemods.rules.manager_threading import CHECKPOINT_CONFIG_KEY
from codemods.rules.trainer_state import manager_names

HELPER = "maybe_save_checkpoint"
KEPT = frozenset(
    {"checkpoint_manager", "epoch", "policy", "agent_step", "optimizer", "eval_scores", "timer", "force"}
)
DROPPED = frozenset({"initial_policy_record", "run_dir", "kickstarter", "wandb_run"})


class _UsesMarker(TodoMarking, FastTransformer):
    """Mark statements reading ``name``; with ``after``, only statements after that one (source order)."""

    def __init__(self, rule: LegacyRule, name: str, message: str, after: set[int] | None = None) -> None:
        super().__init__()
        self.context = rule.context
        self.rule = rule
        self.name = name
        self.message = message
        self.after = after
        self.active = after is None

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> object:
        result = super().on_leave(original_node, updated_node)
        if self.after is not None and id(original_node) in self.after:
            self.active = True
        return result

    def todo_owner(self) -> str:
        return self.rule.rule_name()

    def visit_Name(self, node: cst.Name) -> None:
        if self.active and node.value == self.name:
            self.todo(self.message)


class PeriodicCheckpoint(LegacyRule):
    DESCRIPTION = "maybe_establish_checkpoint(...) -> simple_ckpt.compat.maybe_save_checkpoint(...)"
    TRIGGERS = frozenset({"maybe_establish_checkpoint"})

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._functions: list[cst.FunctionDef] = []
        self._results: list[set[str]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)
        self._results.append(set())

    def _interval(self) -> cst.BaseExpression | None:
        if not self._functions:
            return None
        configs = self.context.scratch.get(CHECKPOINT_CONFIG_KEY, {})
        config = configs.get(self._functions[-1].name.value)
        return (
            cst.Attribute(value=config, attr=cst.Name("checkpoint_interval")) if config is not None else None
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self.bindings.is_legacy(original_node.func, "maybe_establish_checkpoint"):
            return updated_node
        names = {arg.keyword.value for arg in updated_node.args if arg.keyword is not None}
        manager = keyword(updated_node, "checkpoint_manager")
        interval = self._interval()
        managers = manager_names(self._functions[-1]) if self._functions else []
        if (
            has_star_args(updated_node)
            or any(arg.keyword is None for arg in updated_node.args)
            or names - KEPT - DROPPED
            or manager is None
            or not (isinstance(manager.value, cst.Name) and manager.value.value in managers)
            or interval is None
        ):
            self.todo(
                "maybe_establish_checkpoint: use simple_ckpt.compat.maybe_save_checkpoint(...) (returns a path)"
            )
            return updated_node
        if "wandb_run" in names:
            self.todo("wandb upload dropped: simple_ckpt does not upload; upload the returned path if needed")
        call = drop_args(updated_node, DROPPED)
        args = list(call.args)
        last = args[-1]
        interval_arg = cst.Arg(
            keyword=cst.Name("interval"),
            value=interval,
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
            comma=last.comma,
        )
        if len(args) >= 2 and isinstance(last.comma, cst.Comma) and "\n" in _code(last.comma):
            args[-1] = last.with_changes(comma=args[-2].comma)  # multi-line: same separator as the others
        else:
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        self.add_needed_import(f"{self.target_module}.compat", HELPER)
        self.counted()
        return call.with_changes(func=cst.Name(HELPER), args=[*args, interval_arg])

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        value = original_node.value
        if (
            self._results
            and isinstance(value, cst.Call)
            and self.bindings.is_legacy(value.func, "maybe_establish_checkpoint")
            and isinstance(updated_node.value, cst.Call)
            and isinstance(updated_node.value.func, cst.Name)
            and updated_node.value.func.value == HELPER
        ):
            for target in original_node.targets:
                if isinstance(target.target, cst.Name):
                    self._results[-1].add(target.target.value)
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._functions.pop()
        results = self._results.pop()
        if not results:
            return updated_node
        body = updated_node.body
        gone: list[str] = []
        saved: list[str] = []
        replacements: dict[int, cst.SimpleStatementLine] = {}
        for statement in iter_statements(body):
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                continue
            small = statement.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Tuple)
                and isinstance(small.value, cst.Name)
                and small.value.value in results
            ):
                elements = small.targets[0].target.elements
                names = [e.value.value for e in elements if isinstance(e.value, cst.Name)]
                if len(names) == 2 == len(elements):
                    saved.append(names[0])
                    if uses_of(body, names[1]).total > 1:
                        # Still read later: keep it defined (None) and mark the readers.
                        gone.append(names[1])
                        value = cst.Tuple(
                            [cst.Element(small.value), cst.Element(cst.Name("None"))], lpar=[], rpar=[]
                        )
                        new_small = small.with_changes(value=value)
                    else:
                        new_small = small.with_changes(targets=[cst.AssignTarget(cst.Name(names[0]))])
                    replacements[id(statement)] = statement.with_changes(body=[new_small])
        unpacks: set[int] = set()
        if replacements:
            replacer = _Replace(replacements)
            body = body.visit(replacer)
            unpacks = replacer.done
        for name in saved:
            message = f"{name} is now the saved checkpoint path (or None), not a PolicyRecord"
            body = body.visit(_UsesMarker(self, name, message, after=unpacks))
            unpacks = set()  # ids do not survive a pass; one saved name per function in practice
        removed: set[int] = set()
        for statement in iter_statements(body):
            if _is_metadata_write(statement, saved):
                removed.add(id(statement))
        if removed:
            body = body.visit(StatementRemover(removed))
            self.report("a post-save `<record>.metadata[...] = ...` was deleted: it never reached disk")
        for name in gone:
            body = body.visit(
                _UsesMarker(
                    self,
                    name,
                    f"{name} (the wandb artifact name) no longer exists: simple_ckpt does not upload",
                )
            )
        return updated_node.with_changes(body=body)


class _Replace(FastTransformer):
    def __init__(self, replacements: dict[int, cst.SimpleStatementLine]) -> None:
        self.replacements = replacements
        self.done: set[int] = set()

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        replacement = self.replacements.get(id(original_node))
        if replacement is None:
            return updated_node
        self.done.add(id(replacement))
        return replacement


def _is_metadata_write(statement: cst.CSTNode, names: list[str]) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return False
    target = small.targets[0].target
    return (
        isinstance(target, cst.Subscript)
        and isinstance(target.value, cst.Attribute)
        and target.value.attr.value == "metadata"
        and isinstance(target.value.value, cst.Name)
        and target.value.value.value in names
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
