"""What every codemod rule shares: legacy name resolution, TODO marking, counters, import finishing.

Each rule is a ``libcst.codemod.VisitorBasedCodemodCommand`` and can run alone
(``python -m libcst.tool codemod -x codemods.rules.<module>.<Class> PATH``). Run alone, its scheduled
import changes are applied by ``codemods.rules._imports.finalize_imports`` when it finishes. Run by the
driver, all rules share one CodemodContext and one parsed tree, and the imports are finished once at the
end. Rules declare TRIGGERS (words that must occur in the source for the rule to have anything to do) so
the driver skips them cheaply, and declare no metadata unless they really need scopes.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, VisitorBasedCodemodCommand

from codemods.rules._imports import ORIGINAL_BINDINGS_KEY, finalize_imports
from codemods.rules._inert import INERT_NODE_TYPES
from codemods.rules._resolve import LegacyBindings, scan_bindings
from codemods.rules._todo import STATEMENT_CLASSES, STATEMENT_TYPES, add_todo

STATS_KEY = "simple_ckpt.stats"
DRIVER_KEY = "simple_ckpt.driver"
DEFAULT_TARGET = "simple_ckpt"
TARGET_KEY = "simple_ckpt.target_module"
TEXT_KEY = "simple_ckpt.text"  # the source the driver parsed (rules may skip work by a substring test)


def stats_of(context: CodemodContext) -> dict[str, Any]:
    """The per-file counters every rule writes to (created on first use)."""
    stats = context.scratch.get(STATS_KEY)
    if stats is None:
        stats = {"rewrites": Counter(), "todos": [], "reports": []}
        context.scratch[STATS_KEY] = stats
    return stats


# Leaf nodes that hold only inert nodes: skipped by a rule that has no handler for them.
_LEAF_TYPES = frozenset({cst.Name, cst.SimpleString})


@cache
def handler_table(cls: type) -> tuple[frozenset[type], frozenset[str], frozenset[str]]:
    """(node types ``cls`` never descends into, node type names with a ``visit_``, with a ``leave_``
    handler), counting the handlers of every class but libcst's own (its typed base classes declare a
    no-op one for every type). A transformer rebuilds every node it descends into: the inert types, and the
    leaves no handler of the rule looks at, are left as they are."""
    own = [
        vars(klass)
        for klass in cls.__mro__
        if klass.__module__.partition(".")[0] not in ("libcst", "builtins")
    ]
    visits = frozenset(a[len("visit_") :] for names in own for a in names if a.startswith("visit_"))
    leaves = frozenset(a[len("leave_") :] for names in own for a in names if a.startswith("leave_"))
    skipped = INERT_NODE_TYPES | {t for t in _LEAF_TYPES if t.__name__ not in visits | leaves}
    return frozenset(skipped), visits, leaves


class TodoMarking:
    """Mixin for transformers: ``todo(msg)`` marks the innermost statement being visited."""

    context: CodemodContext

    def _todo_stack(self) -> list[list[str]]:
        stack = self.__dict__.get("_statement_todos")
        if stack is None:
            stack = self.__dict__["_statement_todos"] = []
        return stack

    def todo(self, message: str) -> None:
        """Mark the innermost statement being visited with a TODO carrying ``message``."""
        stack = self._todo_stack()
        if stack:
            stack[-1].append(message)

    def todo_owner(self) -> str:
        return type(self).__name__

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Plain dispatch on a per-class table: the rules use no matcher decorators (libcst's
        # MatcherDecoratableTransformer bookkeeping costs about 5x a plain visit on every node), and a
        # looked-up table saves CSTTransformer's f-string + getattr on every node.
        kind = type(node)
        skipped, visits, _ = handler_table(type(self))
        if kind in skipped:
            return False
        if kind in STATEMENT_CLASSES:
            self._todo_stack().append([])
        name = kind.__name__
        if name not in visits:
            return True
        return getattr(self, "visit_" + name)(node) is not False

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        kind = type(original_node)
        skipped, _, leaves = handler_table(type(self))
        if kind in skipped:
            return updated_node
        name = kind.__name__
        result = (
            getattr(self, "leave_" + name)(original_node, updated_node) if name in leaves else updated_node
        )
        if type(original_node) in STATEMENT_CLASSES:
            messages = self._todo_stack().pop()
            if not messages:
                return result
            if isinstance(result, cst.FlattenSentinel):
                nodes = list(result.nodes)
                nodes[0] = self._mark(nodes[0], messages)
                return cst.FlattenSentinel(nodes)
            if isinstance(result, STATEMENT_TYPES):
                return self._mark(result, messages)
        return result

    # No rule uses visit_<Node>_<attribute> hooks; the default lookups cost a getattr per field per node.
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None

    def _mark(self, statement: cst.CSTNode, messages: list[str]) -> cst.CSTNode:
        marked = add_todo(statement, messages)
        if marked is not statement:
            stats_of(self.context)["todos"].append(
                f"{self.todo_owner()}: {'; '.join(dict.fromkeys(messages))}"
            )
        return marked


class LegacyRule(TodoMarking, VisitorBasedCodemodCommand):
    """Base class of the rules: resolves legacy names and marks statements that need a person."""

    DESCRIPTION: str = "simple-ckpt legacy rule"
    TRIGGERS: ClassVar[frozenset[str]] = frozenset()
    # Rules whose subject is an identifier rather than an imported symbol (e.g. `policy_store=`) run even
    # when the module imports nothing legacy.
    NEEDS_LEGACY_IMPORT: ClassVar[bool] = True

    on_visit_attribute = TodoMarking.on_visit_attribute
    on_leave_attribute = TodoMarking.on_leave_attribute

    def __init__(self, context: CodemodContext) -> None:
        # Not MatcherDecoratableTransformer.__init__: it introspects the class for @visit/@leave matcher
        # decorators on every instantiation (~10 ms); the rules use none, and dispatch as a plain
        # CSTTransformer (see TodoMarking.on_visit).
        Codemod.__init__(self, context)
        cst.CSTTransformer.__init__(self)
        self.bindings = LegacyBindings()

    # Rules rewrite uses, never import statements (the import pass owns those): do not descend into them.
    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    @classmethod
    def wants(cls, text: str) -> bool:
        """Cheap test on the file's text: can this rule have anything to do?"""
        return not cls.TRIGGERS or any(word in text for word in cls.TRIGGERS)

    # --- entry points ---------------------------------------------------------------------------------

    def transform_module(self, tree: cst.Module) -> cst.Module:
        """Standalone entry (libcst.tool, tests): apply this rule, then finish the imports."""
        tree = self.apply(tree)
        return finalize_imports(tree, self.context)

    def apply(self, tree: cst.Module) -> cst.Module:
        """Apply only this rule (the driver calls this for each rule over the same tree)."""
        # Rules only rewrite uses, never imports (the import pass does), so the bindings of the input
        # tree hold for every rule of one run: computed once, shared through the context.
        cached = self.context.scratch.get(ORIGINAL_BINDINGS_KEY)
        self.bindings = cached if cached is not None else scan_bindings(tree, self.context.full_module_name)
        self.context.scratch.setdefault(ORIGINAL_BINDINGS_KEY, self.bindings)
        if self.NEEDS_LEGACY_IMPORT and not self.bindings:
            return tree
        if self.METADATA_DEPENDENCIES:
            return Codemod.transform_module(self, tree)
        return self.transform_module_impl(tree)

    # --- helpers for rules ----------------------------------------------------------------------------

    def source_text(self) -> str | None:
        """The text the driver parsed for this run (None when the rule runs alone)."""
        text = self.context.scratch.get(TEXT_KEY)
        return text if isinstance(text, str) else None

    @property
    def target_module(self) -> str:
        return str(self.context.scratch.get(TARGET_KEY, DEFAULT_TARGET))

    def rule_name(self) -> str:
        return type(self).__name__

    def counted(self, n: int = 1) -> None:
        stats_of(self.context)["rewrites"][self.rule_name()] += n

    def report(self, message: str) -> None:
        stats_of(self.context)["reports"].append(f"{self.rule_name()}: {message}")

    def import_target(self, name: str) -> None:
        self.add_needed_import(self.target_module, name)
