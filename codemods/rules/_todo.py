"""Put the ``# TODO(simple-ckpt): ...`` marker on a statement, always in the same place.

Convention (shared with ``simple-ckpt check``): the marker is a trailing comment on the FIRST line of the
statement. For a one-line statement that is its end-of-line comment; for a statement spread over several
lines inside brackets it is the comment after the first line break (libcst's ParenthesizedWhitespace);
for a compound statement (def/if/for/with/class/try handler) it is on the header's first line. An
existing comment on that line is kept and the marker appended after it. Adding a marker that is already
there changes nothing, which keeps the codemod idempotent.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import libcst as cst

from codemods.markers import TODO_PATTERN, todo_comment

STATEMENT_TYPES = (cst.SimpleStatementLine, cst.BaseCompoundStatement, cst.ExceptHandler)
# The same, as exact classes: `type(node) in STATEMENT_CLASSES` avoids the ABC isinstance slow path.
STATEMENT_CLASSES = frozenset(
    {
        cst.SimpleStatementLine,
        cst.FunctionDef,
        cst.ClassDef,
        cst.If,
        cst.For,
        cst.While,
        cst.With,
        cst.Try,
        cst.TryStar,
        cst.Match,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
    }
)
_ATOMS = frozenset({cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis})
_HEADER_SKIP = frozenset({"body", "orelse", "handlers", "finalbody", "leading_lines", "decorators"})


def has_todo(statement: cst.CSTNode) -> bool:
    target = _first_line_whitespace(statement)
    comment = target.comment if target is not None else None
    return comment is not None and TODO_PATTERN.search(comment.value) is not None


def add_todo(statement: cst.CSTNode, messages: list[str]) -> cst.CSTNode:
    """Return ``statement`` with the TODO marker carrying ``messages`` on its first line."""
    unique = list(dict.fromkeys(m for m in messages if m))
    if not unique:
        return statement
    target = _first_line_whitespace(statement)
    if target is None:
        return statement
    existing = target.comment.value if target.comment is not None else None
    if existing is not None and TODO_PATTERN.search(existing):
        return statement
    text = todo_comment("; ".join(unique))
    value = f"{existing}  {text}" if existing else text
    whitespace = target.whitespace if target.comment is not None else cst.SimpleWhitespace("  ")
    replacement = target.with_changes(whitespace=whitespace, comment=cst.Comment(value))
    if isinstance(statement, cst.SimpleStatementLine) and statement.trailing_whitespace is target:
        return statement.with_changes(trailing_whitespace=replacement)
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock) and body.header is target:
        return statement.with_changes(body=body.with_changes(header=replacement))
    # Not deep_replace: libcst nodes are immutable and may be shared (a rule can reuse one Comma for two
    # arguments), and deep_replace swaps every occurrence; the marker goes on the first line only.
    return statement.visit(_ReplaceFirst(target, replacement))  # type: ignore[return-value]


class _ReplaceFirst(cst.CSTTransformer):
    """Replace the first occurrence (source order) of one node object; leave everything after it as is."""

    def __init__(self, target: cst.CSTNode, replacement: cst.CSTNode) -> None:
        super().__init__()
        self.target = target
        self.replacement = replacement
        self.done = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        return not self.done and node is not self.target

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        if not self.done and original_node is self.target:
            self.done = True
            return self.replacement
        return updated_node


def _first_line_whitespace(statement: cst.CSTNode) -> cst.TrailingWhitespace | None:
    """The TrailingWhitespace that ends the first line of the statement (or its header)."""
    if isinstance(statement, cst.SimpleStatementLine):
        found = _first_paren_whitespace(statement.body)
        return found.first_line if found is not None else statement.trailing_whitespace
    skipped: set[int] = set()
    for name in _HEADER_SKIP:
        value = getattr(statement, name, None)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            skipped.add(id(item))
    header_parts = [child for child in statement.children if id(child) not in skipped]
    found = _first_paren_whitespace(header_parts)
    if found is not None:
        return found.first_line
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return body.header
    if isinstance(body, cst.SimpleStatementSuite):
        return body.trailing_whitespace
    return None


def _first_paren_whitespace(nodes: object) -> cst.ParenthesizedWhitespace | None:
    """The first line break inside brackets, in source order. Most statements have none or one, which a
    walk over the dataclass fields finds without libcst's costly ordered ``.children``."""
    found = _paren_whitespaces(nodes, limit=2)
    if len(found) < 2:
        return found[0] if found else None
    return _first_paren_whitespace_in_order(nodes)


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def _paren_whitespaces(nodes: object, limit: int) -> list[cst.ParenthesizedWhitespace]:
    """Up to ``limit`` ParenthesizedWhitespace nodes under ``nodes`` (suites excluded), in no particular
    order."""
    found: list[cst.ParenthesizedWhitespace] = []
    stack: list[object] = [nodes]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not isinstance(node, cst.CSTNode) or isinstance(node, cst.BaseSuite):
            continue
        if type(node) is cst.ParenthesizedWhitespace:
            found.append(node)
            if len(found) >= limit:
                break
            continue
        for name in _field_names(type(node)):
            value = getattr(node, name)
            if isinstance(value, (cst.CSTNode, list, tuple)):
                stack.append(value)
    return found


def _first_paren_whitespace_in_order(nodes: object) -> cst.ParenthesizedWhitespace | None:
    stack: list[object] = list(reversed(nodes)) if isinstance(nodes, (list, tuple)) else [nodes]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.ParenthesizedWhitespace):
            return node
        if isinstance(node, (list, tuple)):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, cst.CSTNode) or isinstance(node, cst.BaseSuite):
            continue
        if type(node) in _ATOMS and not node.lpar and not node.rpar:  # type: ignore[attr-defined]
            continue  # an unparenthesised atom has no whitespace inside (and `.children` is costly)
        stack.extend(reversed(node.children))
    return None
