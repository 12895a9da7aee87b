"""Small shape helpers shared by rules: callee names, keyword lookup, renaming names in a subtree.

Also the two tables the rules agree on: the methods SimpleCheckpointManager has (a rewrite never calls
anything else on a manager) and the callee table for keyword plumbing (pattern P1 of the spec): callees
whose ``policy_store=`` keyword becomes ``checkpoint_manager=``, and callees that no longer need it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import libcst as cst

from codemods.rules._inert import INERT_NODE_TYPES
from codemods.rules._resolve import dotted


class FastVisitor(cst.CSTVisitor):
    """A CSTVisitor without the per-field ``visit_<Node>_<field>`` lookups (none of ours uses them), that
    skips the inert node types (whitespace, punctuation, operators, numbers)."""

    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) in INERT_NODE_TYPES:
            return False
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if type(original_node) in INERT_NODE_TYPES:
            return None
        return super().on_leave(original_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


class FastTransformer(cst.CSTTransformer):
    """A CSTTransformer without the per-field ``visit_<Node>_<field>`` lookups (none of ours uses them), that
    neither rebuilds nor dispatches the inert node types (whitespace, punctuation, operators, numbers)."""

    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) in INERT_NODE_TYPES:
            return False
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        if type(original_node) in INERT_NODE_TYPES:
            return updated_node
        return super().on_leave(original_node, updated_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


class FunctionScopedVisitor(cst.CSTVisitor):
    """A walk over a whole module that knows the functions enclosing each node (``stack``: their ids,
    innermost last). Subclasses implement ``see(node, kind)``; dispatch is on the exact type, without
    CSTVisitor's per-node ``visit_<Type>`` lookups, and the inert node types are not entered."""

    def __init__(self) -> None:
        self.stack: list[int] = []

    def see(self, node: cst.CSTNode, kind: type[cst.CSTNode]) -> None:
        raise NotImplementedError

    def on_visit(self, node: cst.CSTNode) -> bool:
        kind = type(node)
        if kind in INERT_NODE_TYPES:
            return False
        self.see(node, kind)
        if kind is cst.FunctionDef:
            self.stack.append(id(node))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if type(original_node) is cst.FunctionDef:
            self.stack.pop()

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


MANAGER_CLASS = "SimpleCheckpointManager"
MANAGER_PARAM = "checkpoint_manager"
MANAGER_METHODS = frozenset(
    {
        "save_agent",
        "load_agent",
        "save_trainer_state",
        "load_trainer_state",
        "find_best_checkpoint",
        "find_checkpoints_by_score",
        "list_all_checkpoints",
        "cleanup_old_checkpoints",
        "run_dir",
        "run_name",
        "checkpoint_dir",
    }
)

# Callees whose definition this codemod threads to take the manager (same keyword at every call site).
RENAME_STORE_KEYWORD = frozenset({"train"})
# Callees that stop needing the store / record keywords in the new API (what #2366 did).
DROP_KEYWORDS: dict[str, frozenset[str]] = {
    "evaluate_policy": frozenset({"policy_store"}),
    "Simulation": frozenset({"policy_store"}),
    "Simulation.create": frozenset({"policy_store"}),
    "Kickstarter": frozenset({"policy_store"}),
    "create": frozenset(),
    "maybe_save_checkpoint": frozenset({"initial_policy_record", "run_dir", "kickstarter", "wandb_run"}),
}

# The same callees when the store is passed by position: index of the store among the call's arguments
# (Simulation(name, config, record, store, ...), Kickstarter(cfg, device, store, env)).
POSITIONAL_STORE: dict[str, int] = {"Simulation": 3, "Kickstarter": 2}


def callee_name(call: cst.Call) -> str:
    """``train`` for ``train(...)``, ``Simulation.create`` for ``Simulation.create(...)`` / ``x.Simulation.create``."""
    full = dotted(call.func) or ""
    parts = full.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 and parts[-2][:1].isupper() else parts[-1]


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_args(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


def drop_args(call: cst.Call, names: Iterable[str]) -> cst.Call:
    """Remove keyword arguments, keeping the others' order, comments and the trailing comma style."""
    names = set(names)
    args = list(call.args)
    keep = [arg for arg in args if arg.keyword is None or arg.keyword.value not in names]
    if len(keep) == len(args):
        return call
    if keep and args and keep[-1] is not args[-1]:
        # The old last argument's comma (and whitespace before ')') moves to the new last one.
        keep[-1] = keep[-1].with_changes(comma=args[-1].comma)
    return call.with_changes(args=keep)


def param_names(function: cst.FunctionDef) -> list[str]:
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    return [p.name.value for p in every]


class NameRenamer(FastTransformer):
    """Rename load/store uses of one identifier (not attribute names, not keyword names)."""

    def __init__(self, old: str, new: str) -> None:
        self.old = old
        self.new = new
        self.count = 0

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return True

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        # Only the receiver may be renamed; restore the attribute name itself.
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.old:
            self.count += 1
            return updated_node.with_changes(value=self.new)
        return updated_node


class NameUses(FastVisitor):
    """How a name is used in a subtree: attribute reads on it, and every other use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.attributes: list[str] = []
        self.arguments = 0
        self.total = 0

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Name) and node.value.value == self.name:
            self.attributes.append(node.attr.value)
            self.total += 1
            return False
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        if isinstance(node.value, cst.Name) and node.value.value == self.name and not node.star:
            self.arguments += 1
        node.value.visit(self)
        return False

    @property
    def only_arguments_and(self) -> frozenset[str] | None:
        """The attribute names read on the name, if every other use is as a call argument; else None."""
        if self.total != self.arguments + len(self.attributes):
            return None
        return frozenset(self.attributes)

    def visit_Param(self, node: cst.Param) -> bool:
        if node.default is not None:
            node.default.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.total += 1


def uses_of(node: cst.CSTNode, name: str) -> NameUses:
    uses = NameUses(name)
    node.visit(uses)
    return uses


def assigned_call(statement: cst.CSTNode) -> tuple[list[cst.AssignTarget], cst.Call] | None:
    """``a = b = call(...)`` -> (targets, call) when the statement is exactly that."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
        return list(small.targets), small.value
    return None


def target_name(target: cst.AssignTarget) -> str | None:
    return target.target.value if isinstance(target.target, cst.Name) else None


class StatementRemover(FastTransformer):
    """Remove statements by identity; a removed statement's blank-line separator goes to the next one."""

    def __init__(self, remove: set[int]) -> None:
        self.remove = remove

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        return cst.RemovalSentinel.REMOVE if id(original_node) in self.remove else updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body = carry_blank_lines(original_node.body, updated_node.body, self.remove)
        return updated_node.with_changes(body=body or [cst.SimpleStatementLine(body=[cst.Pass()])])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(
            body=carry_blank_lines(original_node.body, updated_node.body, self.remove)
        )


def leading_blanks(lines: Iterable[cst.EmptyLine]) -> list[cst.EmptyLine]:
    blanks: list[cst.EmptyLine] = []
    for line in lines:
        if line.comment is not None:
            break
        blanks.append(line)
    return blanks


def carry_blank_lines(
    original: Iterable[cst.BaseStatement], updated: Iterable[cst.BaseStatement], removed: set[int]
) -> list[cst.BaseStatement]:
    """Rebuild a block after removals, handing each removed statement's blank lines to its successor."""
    original = list(original)
    updated = list(updated)
    if len(original) == len(updated):
        return updated
    result: list[cst.BaseStatement] = []
    pending: list[cst.EmptyLine] = []
    remaining = iter(updated)
    for stmt in original:
        if id(stmt) in removed:
            if not pending:
                pending = leading_blanks(stmt.leading_lines)
            continue
        new = next(remaining)
        own = list(new.leading_lines)
        if not result and stmt is not original[0]:
            # The statements before it are gone: it now opens the block, without blank lines above.
            new = new.with_changes(leading_lines=own[len(leading_blanks(own)) :])
        elif pending and not leading_blanks(own):
            new = new.with_changes(leading_lines=[*pending, *own])
        pending = []
        result.append(new)
    result.extend(remaining)
    return result


class KeywordOnlyUses(FastVisitor):
    """Is every use of ``name`` a ``policy_store=name`` keyword or a manager method?"""

    def __init__(self, name: str, skip: cst.CSTNode | None = None) -> None:
        self.name = name
        self.skip = skip
        self.ok = True

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is self.skip or not self.ok:
            return False
        if isinstance(node, cst.Arg) and isinstance(node.value, cst.Name) and node.value.value == self.name:
            if node.keyword is None or node.keyword.value != "policy_store":
                self.ok = False
            return False
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == self.name
        ):
            if node.attr.value not in MANAGER_METHODS:
                self.ok = False
            return False
        if isinstance(node, cst.Name) and node.value == self.name:
            self.ok = False
        return True
