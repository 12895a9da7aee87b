"""``ck = TrainerCheckpoint.load(run_dir)`` becomes ``ck = checkpoint_manager.load_trainer_state()`` (C9/T3).

The result is now ``dict | None``. Reads are rewritten in the same function: ``ck.agent_step`` ->
``ck["agent_step"]``, ``ck.epoch`` -> ``ck["epoch"]``, ``ck.total_agent_step`` (generation B) ->
``ck["agent_step"]``, ``ck.optimizer_state_dict`` -> ``ck["optimizer_state"]`` (the key is renamed), and
as a truth test ``"optimizer_state" in ck``. ``stopwatch_state``, ``policy_path`` and ``extra_args`` are not
saved by SimpleCheckpointManager: those statements get a TODO. Requires exactly one manager in reach (a
parameter annotated SimpleCheckpointManager or a variable built from it); otherwise TODO.
Reported: the state file moves from ``RUN_DIR/trainer_state.pt`` to ``RUN_DIR/checkpoints/``, so a
pre-migration run resumes from step 0 unless it is migrated first (``simple-ckpt migrate``).
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule, TodoMarking
from codemods.rules._resolve import iter_statements
from codemods.rules._shapes import MANAGER_CLASS, FastTransformer, assigned_call, target_name

KEYS = {
    "agent_step": "agent_step",
    "epoch": "epoch",
    "total_agent_step": "agent_step",
    "optimizer_state_dict": "optimizer_state",
}
NOT_SAVED = frozenset({"stopwatch_state", "policy_path", "extra_args"})


def manager_names(function: cst.FunctionDef) -> list[str]:
    """Names bound to a SimpleCheckpointManager in a function: annotated parameters, constructed variables."""
    names: list[str] = []
    every = [*function.params.posonly_params, *function.params.params, *function.params.kwonly_params]
    for param in every:
        annotation = param.annotation.annotation if param.annotation is not None else None
        if isinstance(annotation, cst.Name) and annotation.value == MANAGER_CLASS:
            names.append(param.name.value)
    for statement in iter_statements(function.body):
        shape = assigned_call(statement)
        if shape and isinstance(shape[1].func, cst.Name) and shape[1].func.value == MANAGER_CLASS:
            names.extend(n for t in shape[0] if (n := target_name(t)) is not None)
    return list(dict.fromkeys(names))


class _StateReads(TodoMarking, FastTransformer):
    def __init__(self, rule: LegacyRule, name: str) -> None:
        super().__init__()
        self.rule = rule
        self.context = rule.context
        self.name = name

    def todo_owner(self) -> str:
        return self.rule.rule_name()

    def _is_read(self, node: cst.BaseExpression, attr: str | None = None) -> bool:
        return (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == self.name
            and (attr is None or node.attr.value == attr)
        )

    def _membership(self) -> cst.Comparison:
        return cst.Comparison(
            left=cst.SimpleString('"optimizer_state"'),
            comparisons=[cst.ComparisonTarget(operator=cst.In(), comparator=cst.Name(self.name))],
        )

    def leave_BooleanOperation(
        self, original_node: cst.BooleanOperation, updated_node: cst.BooleanOperation
    ) -> cst.BooleanOperation:
        changes = {}
        for side in ("left", "right"):
            if self._is_read(getattr(original_node, side), "optimizer_state_dict"):
                changes[side] = self._membership()
        return updated_node.with_changes(**changes) if changes else updated_node

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If:
        if self._is_read(original_node.test, "optimizer_state_dict"):
            return updated_node.with_changes(test=self._membership())
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.BaseExpression
    ) -> cst.BaseExpression:
        if not self._is_read(original_node):
            return updated_node
        attr = original_node.attr.value
        if attr in KEYS:
            self.rule.counted()
            return cst.Subscript(
                value=cst.Name(self.name),
                slice=[cst.SubscriptElement(slice=cst.Index(value=cst.SimpleString(f'"{KEYS[attr]}"')))],
            )
        if attr in NOT_SAVED:
            self.todo(
                f"{attr} is not saved by SimpleCheckpointManager's trainer state; decide how to restore it"
            )
        return updated_node


class TrainerStateLoad(LegacyRule):
    DESCRIPTION = "TrainerCheckpoint.load(run_dir) -> checkpoint_manager.load_trainer_state() + dict reads"
    TRIGGERS = frozenset({"TrainerCheckpoint"})

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._targets: list[dict[int, str]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        managers = manager_names(node)
        targets: dict[int, str] = {}
        for statement in iter_statements(node.body):
            shape = assigned_call(statement)
            if shape is None or len(shape[0]) != 1 or not self._is_load(shape[1]):
                continue
            name = target_name(shape[0][0])
            if name is not None and len(managers) == 1:
                targets[id(shape[1])] = managers[0]
                self._reads.append(name)
        self._targets.append(targets)

    def visit_Module(self, node: cst.Module) -> None:
        self._reads: list[str] = []

    def _is_load(self, call: cst.Call) -> bool:
        func = call.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value == "load"
            and self.bindings.is_legacy(func.value, "TrainerCheckpoint")
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self._is_load(original_node):
            return updated_node
        manager = self._targets[-1].get(id(original_node)) if self._targets else None
        if manager is None:
            self.todo(
                "TrainerCheckpoint.load: read the state with checkpoint_manager.load_trainer_state() (a dict or None)"
            )
            return updated_node
        self.counted()
        self.report(
            "TrainerCheckpoint.load -> load_trainer_state(): the state file moves from RUN_DIR/trainer_state.pt "
            "to RUN_DIR/checkpoints/trainer_state.pt; migrate old runs first or they resume from step 0"
        )
        return cst.Call(func=cst.Attribute(value=cst.Name(manager), attr=cst.Name("load_trainer_state")))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        targets = self._targets.pop()
        if not targets:
            return updated_node
        body = updated_node.body
        for name in self._reads:
            body = body.visit(_StateReads(self, name))
        self._reads = []
        return updated_node.with_changes(body=body)
