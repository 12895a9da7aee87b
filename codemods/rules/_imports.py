"""Finish a rewritten module's imports: drop unused legacy names, add new ones where isort would put them.

Rules schedule import changes the standard libcst way (``AddImportsVisitor.add_needed_import`` and
``RemoveImportsVisitor.remove_unused_import`` on the shared CodemodContext). Instead of libcst's own
visitors, which append new imports after the last import and let a removed statement take its blank-line
group separator with it, this pass applies the schedule once, after every rule has run:

- a legacy import alias whose local name is no longer used anywhere is removed (the statement too when it
  becomes empty, handing its blank-line separator to the next statement; an emptied block gets ``pass``);
- a legacy import alias that is still used is kept, and its statement carries the TODO marker;
- a new ``from M import N`` is merged into an existing ``from M import ...`` or placed isort-style: in its
  section (future, stdlib, third-party, first-party, local), ``import x`` lines before ``from x import``
  lines, modules case-insensitively alphabetical, names ordered constants/classes/functions.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from codemods.rules._resolve import LegacyBindings, dotted, scan_bindings
from codemods.rules._shapes import FastTransformer, FastVisitor, carry_blank_lines, leading_blanks
from codemods.rules._todo import STATEMENT_CLASSES, add_todo

FIRST_PARTY_KEY = "simple_ckpt.first_party"
ORIGINAL_BINDINGS_KEY = "simple_ckpt.original_bindings"
IMPORT_HOLDERS_KEY = "simple_ckpt.import_holders"
_SECTION_ORDER = {"future": 0, "stdlib": 1, "thirdparty": 2, "firstparty": 3, "local": 4}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ANNOTATION_LIKE = re.compile(r"[\w.\[\]|, ]+")
_PROSE = re.compile(r"\w\s+\w")


def finalize_imports(tree: cst.Module, context: CodemodContext, only: set[int] | None = None) -> cst.Module:
    """Apply the scheduled import additions/removals in ``context`` and tidy legacy imports.

    ``only``: ids of the top-level statements that can mention legacy names (the driver's slice); the
    others are neither scanned for uses nor visited."""
    additions = list(context.scratch.pop(AddImportsVisitor.CONTEXT_KEY, []))
    removals = list(context.scratch.pop(RemoveImportsVisitor.CONTEXT_KEY, []))
    bindings = scan_bindings(tree, context.full_module_name)
    original = context.scratch.get(ORIGINAL_BINDINGS_KEY)
    if isinstance(original, LegacyBindings):
        # A legacy CheckpointManager whose legacy construction a rule removed is still the legacy class.
        for local, symbol in original.names.items():
            bindings.names.setdefault(local, symbol)
    used = _used_names(tree, only)
    removable = {(module, obj) for module, obj, _ in removals if obj}
    holders = context.scratch.pop(IMPORT_HOLDERS_KEY, None)
    tree = _prune_imports(tree, bindings, used, removable, holders if holders is not None else only)
    first_party = frozenset(context.scratch.get(FIRST_PARTY_KEY, ()))
    for item in additions:
        if item.obj_name is None or item.relative:
            continue
        tree = _add_from_import(tree, item.module_name, item.obj_name, first_party)
    return tree


class _NameCollector(FastVisitor):
    """Every identifier used outside import statements (plus words inside string literals)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        full = dotted(node)
        if full:
            parts = full.split(".")
            self.names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # String annotations ("PolicyStore", "list[PolicyRecord]") and __all__ entries keep a name alive;
        # prose (docstrings, messages) does not.
        content = node.raw_value
        if len(content) < 200 and _ANNOTATION_LIKE.fullmatch(content) and not _PROSE.search(content):
            self.names.update(_WORD.findall(content))


def _used_names(tree: cst.Module, only: set[int] | None = None) -> set[str]:
    collector = _NameCollector()
    if only is None:
        tree.visit(collector)
    else:
        for statement in tree.body:
            if id(statement) in only:
                statement.visit(collector)
    return collector.names


# The nodes the pruner descends into: the statement structure down to the lines (which it rewrites on
# leave, without visiting inside them).
_STATEMENT_STRUCTURE = (STATEMENT_CLASSES - {cst.SimpleStatementLine}) | {
    cst.Module,
    cst.MatchCase,
    cst.Else,
    cst.Finally,
    cst.IndentedBlock,
}


class _ImportPruner(FastTransformer):
    def __init__(
        self,
        bindings: LegacyBindings,
        used: set[str],
        removable: set[tuple[str, str]],
        only: set[int] | None = None,
    ) -> None:
        self.only = only
        self.top_level: set[int] = set()
        self.bindings = bindings
        self.used = used
        self.removable = removable
        self.removed: set[int] = set()

    def visit_Module(self, node: cst.Module) -> None:
        self.top_level = {id(statement) for statement in node.body}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.only is not None and id(node) in self.top_level and id(node) not in self.only:
            return False
        if type(node) not in _STATEMENT_STRUCTURE:
            return (
                False  # expressions, headers, and the lines themselves: leave_SimpleStatementLine still runs
            )
        return super().on_visit(node)

    def _drop_alias(self, module: str | None, alias: cst.ImportAlias) -> bool | None:
        """True: drop; False: keep; None: keep and mark (a legacy name still in use)."""
        name = dotted(alias.name) or ""
        local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
        legacy = local in self.bindings.names or local in self.bindings.module_aliases
        if local in self.used:
            return None if legacy else False
        if legacy:
            return True
        return module is not None and (module, name) in self.removable

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if len(updated_node.body) != 1 or not isinstance(updated_node.body[0], (cst.Import, cst.ImportFrom)):
            return updated_node
        node = updated_node.body[0]
        if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
            return updated_node
        module = dotted(node.module) if isinstance(node, cst.ImportFrom) and node.module else None
        keep: list[cst.ImportAlias] = []
        still_used: list[str] = []
        for alias in node.names:  # type: ignore[union-attr]
            decision = self._drop_alias(module, alias)
            if decision is True:
                continue
            keep.append(alias)
            if decision is None:
                still_used.append(dotted(alias.name) or "")
        if not keep:
            self.removed.add(id(original_node))
            return cst.RemovalSentinel.REMOVE
        if len(keep) != len(node.names):  # type: ignore[arg-type]
            last = keep[-1]
            had_trailing_comma = isinstance(node.names[-1].comma, cst.Comma)  # type: ignore[index]
            if not had_trailing_comma:
                keep[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            updated_node = updated_node.with_changes(body=[node.with_changes(names=keep)])
        if still_used:
            names = ", ".join(still_used)
            updated_node = add_todo(  # type: ignore[assignment]
                updated_node, [f"legacy import kept for the TODO-marked code that still uses {names}"]
            )
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body = self._carry_blank_lines(original_node.body, updated_node.body)
        if not body:
            body = [cst.SimpleStatementLine(body=[cst.Pass()])]
        return updated_node.with_changes(body=body)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(body=self._carry_blank_lines(original_node.body, updated_node.body))

    def _carry_blank_lines(
        self, original: Iterable[cst.BaseStatement], updated: Iterable[cst.BaseStatement]
    ) -> list[cst.BaseStatement]:
        return carry_blank_lines(original, updated, self.removed)


def _prune_imports(
    tree: cst.Module,
    bindings: LegacyBindings,
    used: set[str],
    removable: set[tuple[str, str]],
    only: set[int] | None = None,
) -> cst.Module:
    if not bindings and not removable:
        return tree
    return tree.visit(_ImportPruner(bindings, used, removable, only))


# --- placement of new imports ---------------------------------------------------------------------


def classify(module: str, first_party: frozenset[str]) -> str:
    top = module.split(".")[0]
    if module.startswith("."):
        return "local"
    if top == "__future__":
        return "future"
    if top in first_party:
        return "firstparty"
    if top in sys.stdlib_module_names:
        return "stdlib"
    return "thirdparty"


def _import_key(node: cst.Import | cst.ImportFrom) -> tuple[int, str]:
    if isinstance(node, cst.Import):
        return (0, (dotted(node.names[0].name) or "").lower())
    prefix = "." * len(node.relative)
    return (1, (prefix + (dotted(node.module) if node.module else "")).lower())


def _name_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _single_import(stmt: cst.BaseStatement) -> cst.Import | cst.ImportFrom | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        node = stmt.body[0]
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            return node
    return None


def _add_from_import(tree: cst.Module, module: str, obj: str, first_party: frozenset[str]) -> cst.Module:
    body = list(tree.body)
    head_start = 0
    if body and _is_docstring(body[0]):
        head_start = 1
    head: list[int] = []
    for index in range(head_start, len(body)):
        node = _single_import(body[index])
        if node is None:
            break
        head.append(index)
    # Already imported, or mergeable into an existing `from module import ...`.
    for index in head:
        node = _single_import(body[index])
        if (
            isinstance(node, cst.ImportFrom)
            and not node.relative
            and node.module
            and dotted(node.module) == module
        ):
            if isinstance(node.names, cst.ImportStar):
                return tree
            names = [dotted(alias.name) for alias in node.names]
            if obj in names:
                return tree
            if any(isinstance(alias.comma, cst.Comma) and "\n" in _code(alias.comma) for alias in node.names):
                continue  # a parenthesised multi-line import: leave its layout to the formatter
            aliases = sorted(
                [*node.names, cst.ImportAlias(name=cst.Name(obj))],
                key=lambda a: _name_key(dotted(a.name) or ""),
            )
            aliases = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in aliases]
            body[index] = body[index].with_changes(body=[node.with_changes(names=aliases)])  # type: ignore[attr-defined]
            return tree.with_changes(body=body)
    new_node = cst.ImportFrom(module=_dotted_expression(module), names=[cst.ImportAlias(name=cst.Name(obj))])  # type: ignore[arg-type]
    new_key = _import_key(new_node)
    section = classify(module, first_party)
    order = _SECTION_ORDER[section]

    def section_of(index: int) -> int:
        node = _single_import(body[index])
        assert node is not None
        if isinstance(node, cst.ImportFrom):
            name = "." * len(node.relative) + (dotted(node.module) if node.module else "")
        else:
            name = dotted(node.names[0].name) or ""
        return _SECTION_ORDER[classify(name, first_party)]

    same = [i for i in head if section_of(i) == order]
    blank = cst.EmptyLine()
    if same:
        for i in same:
            if _import_key(_single_import(body[i])) > new_key:  # type: ignore[arg-type]
                moved = [line for line in body[i].leading_lines]
                new_stmt = cst.SimpleStatementLine(body=[new_node], leading_lines=moved)
                body[i] = body[i].with_changes(leading_lines=[])
                body.insert(i, new_stmt)
                return tree.with_changes(body=body)
        body.insert(same[-1] + 1, cst.SimpleStatementLine(body=[new_node]))
        return tree.with_changes(body=body)
    later = [i for i in head if section_of(i) > order]
    if later:
        i = later[0]
        old_lines = list(body[i].leading_lines)
        blanks = leading_blanks(old_lines)
        body[i] = body[i].with_changes(leading_lines=[blank, *old_lines[len(blanks) :]])
        body.insert(i, cst.SimpleStatementLine(body=[new_node], leading_lines=blanks))
        return tree.with_changes(body=body)
    if head:
        i = head[-1] + 1
        body.insert(i, cst.SimpleStatementLine(body=[new_node], leading_lines=[blank]))
        return tree.with_changes(body=body)
    i = head_start
    leading = [blank] if head_start else []
    if i < len(body) and not leading_blanks(body[i].leading_lines):
        # isort's default: two blank lines before a def/class after the imports, one otherwise.
        gap = [blank, blank] if isinstance(body[i], (cst.FunctionDef, cst.ClassDef)) else [blank]
        body[i] = body[i].with_changes(leading_lines=[*gap, *body[i].leading_lines])
    body.insert(i, cst.SimpleStatementLine(body=[new_node], leading_lines=leading))
    return tree.with_changes(body=body)


def _dotted_expression(module: str) -> cst.Attribute | cst.Name:
    """``a.b.c`` as a libcst expression, built directly (parse_expression costs a parser start-up)."""
    first, *rest = module.split(".")
    node: cst.Attribute | cst.Name = cst.Name(first)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
