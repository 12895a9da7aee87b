"""Where a set of names is used inside a subtree, with each use's ancestors (libcst gives no parents
without metadata providers, which cost far more than this one walk).

Used by the F1 rules (record_paths, load_by_uri, unused_store) to decide, for one function or class,
whether every use of a record or store variable has a mechanical rewrite before rewriting any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from codemods.rules._inert import INERT_NODE_TYPES
from codemods.rules._shapes import FastVisitor

SCOPE_NODES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


@dataclass(frozen=True)
class Use:
    """One occurrence of a name as a value (not an attribute name, keyword name or parameter name)."""

    name: cst.Name
    ancestors: tuple[cst.CSTNode, ...]

    @property
    def parent(self) -> cst.CSTNode | None:
        return self.ancestors[-1] if self.ancestors else None

    @property
    def nested_scope(self) -> bool:
        return any(isinstance(a, SCOPE_NODES) for a in self.ancestors)

    def is_target(self, node: cst.CSTNode | None = None) -> bool:
        """True when ``node`` (default: the name) is written to: assignment, augmented assignment,
        for/with/comprehension target, walrus target or ``del``."""
        node = node if node is not None else self.name
        chain = [*self.ancestors, self.name]
        start = chain.index(node) if node in chain else len(chain) - 1
        for i in range(start - 1, -1, -1):
            anc, child = chain[i], chain[i + 1]
            if isinstance(anc, (cst.AssignTarget, cst.Del)):
                return True
            if isinstance(anc, (cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor, cst.NamedExpr)):
                return child is anc.target
            if isinstance(anc, cst.AsName):
                return True
            if isinstance(anc, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
        return False


class UseCollector(FastVisitor):
    def __init__(self, names: set[str] | frozenset[str]) -> None:
        self.names = names
        self.stack: list[cst.CSTNode] = []
        self.uses: list[Use] = []
        self.returns: list[cst.Return] = []
        self.calls: list[cst.Call] = []
        self.ann_assigns: list[cst.AnnAssign] = []
        self._scopes = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) in INERT_NODE_TYPES:
            return False
        if isinstance(node, cst.Name) and node.value in self.names and self._is_value(node):
            self.uses.append(Use(node, tuple(self.stack)))
        elif isinstance(node, cst.Return) and not self._scopes:
            self.returns.append(node)
        elif isinstance(node, cst.Call):
            self.calls.append(node)
        elif isinstance(node, cst.AnnAssign):
            self.ann_assigns.append(node)
        if isinstance(node, SCOPE_NODES):
            self._scopes += 1
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if type(original_node) in INERT_NODE_TYPES:
            return
        self.stack.pop()
        if isinstance(original_node, SCOPE_NODES):
            self._scopes -= 1

    def _is_value(self, node: cst.Name) -> bool:
        parent = self.stack[-1] if self.stack else None
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return False
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return False
        if isinstance(parent, (cst.Param, cst.FunctionDef, cst.ClassDef)) and parent.name is node:
            return False
        return True


def collect(node: cst.CSTNode, names: set[str] | frozenset[str]) -> UseCollector:
    collector = UseCollector(names)
    node.visit(collector)
    return collector


def self_attribute(node: cst.CSTNode) -> str | None:
    """``X`` for ``self.X``, else None."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def all_params(function: cst.FunctionDef) -> list[cst.Param]:
    params = function.params
    return [*params.posonly_params, *params.params, *params.kwonly_params]
