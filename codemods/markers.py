"""The marker a codemod leaves where a person must decide, and how `check` recognises it."""

from __future__ import annotations

import re

TODO_TAG = "TODO(simple-ckpt)"
TODO_PREFIX = f"# {TODO_TAG}: "
TODO_PATTERN = re.compile(r"#\s*TODO\(simple-ckpt\):")


def todo_comment(what_to_decide: str) -> str:
    """The comment text for a statement the codemod could not rewrite safely."""
    return f"{TODO_PREFIX}{what_to_decide}"
