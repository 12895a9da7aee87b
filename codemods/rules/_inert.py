"""The node types no codemod of this package looks at: whitespace, comments, punctuation, operators, numbers.

libcst's transformers rebuild every node they descend into, and about two thirds of a module's nodes are
of these types (whitespace alone is ~40%). No rule or helper handles one of them (a test checks that no
``visit_``/``leave_`` method names one) and none holds a node a rule handles, so the visitors of this
package neither descend into them nor dispatch their leave: that roughly halves the cost of a pass.
"""

from __future__ import annotations

import libcst as cst
import libcst._nodes.op as libcst_operators


def _inert_node_types() -> frozenset[type[cst.CSTNode]]:
    operators = (cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseUnaryOp, cst.BaseCompOp, cst.BaseAugOp)
    found: set[type[cst.CSTNode]] = {
        # whitespace and comments
        cst.SimpleWhitespace,
        cst.ParenthesizedWhitespace,
        cst.TrailingWhitespace,
        cst.EmptyLine,
        cst.Newline,
        cst.Comment,
        # punctuation
        cst.Comma,
        cst.Dot,
        cst.Colon,
        cst.Semicolon,
        cst.AssignEqual,
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
        cst.ImportStar,
        # number literals
        cst.Integer,
        cst.Float,
        cst.Imaginary,
    }
    for value in vars(libcst_operators).values():  # (dir(cst) would resolve libcst's lazy attributes)
        if isinstance(value, type) and issubclass(value, operators) and value not in operators:
            found.add(value)
    return frozenset(found)


INERT_NODE_TYPES = _inert_node_types()
