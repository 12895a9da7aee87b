"""Static inventory of a pickle: every global it names, found by walking opcodes, nothing unpickled.

`scan_pickle` follows GLOBAL and INST operands directly and resolves STACK_GLOBAL operands by tracking
the two topmost stack values and the memo (PUT/MEMOIZE/GET), the way a pickler emits them. Whenever a
value could have been computed rather than pushed as a literal, it is "unknown": a STACK_GLOBAL with an
unknown operand is reported as unresolved (the file is then refused), never guessed. Extension-registry
opcodes (EXT1/2/4) are reported too. The unpickler's find_class remains the real gate.
"""

from __future__ import annotations

import pickletools
from collections import Counter
from dataclasses import dataclass, field

_STRING_OPS = frozenset(
    {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
)
_NO_STACK_EFFECT = frozenset({"PROTO", "FRAME", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "STOP"})
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_COUNTED = ("REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ", "PERSID", "BINPERSID")
UNRESOLVED = ("?", "STACK_GLOBAL with operands not resolvable statically")


@dataclass
class PickleScan:
    """What one pickle references."""

    member: str
    protocol: int = 0
    globals: list[tuple[str, str]] = field(default_factory=list)  # (module, name), first-seen order
    unresolved_stack_globals: int = 0
    extension_codes: list[int] = field(default_factory=list)
    opcodes: Counter[str] = field(default_factory=Counter)  # REDUCE/BUILD/NEWOBJ/... and persistent ids

    @property
    def persistent_ids(self) -> int:
        return self.opcodes["PERSID"] + self.opcodes["BINPERSID"]


class PickleMalformed(ValueError):
    """The opcode stream is not a complete pickle."""


def scan_pickle(data: bytes, member: str = "") -> PickleScan:
    """Walk `data` opcode by opcode; raises PickleMalformed for truncated or invalid streams."""
    scan = PickleScan(member)
    seen: set[tuple[str, str]] = set()
    stack: list[str | None] = []  # top values: a str when known to be that literal, else None
    memo: dict[int, str | None] = {}

    def add(module: str, name: str) -> None:
        key = (module, name)
        if key not in seen:
            seen.add(key)
            scan.globals.append(key)

    def top() -> str | None:
        return stack[-1] if stack else None

    try:
        for opcode, arg, _pos in pickletools.genops(data):
            op = opcode.name
            if op in _COUNTED:
                scan.opcodes[op] += 1
            if op == "PROTO":
                scan.protocol = int(arg)
            if op in ("GLOBAL", "INST"):
                module, _, name = str(arg).partition(" ")
                add(module, name)
                stack.append(None)
            elif op == "STACK_GLOBAL":
                name_value = stack.pop() if stack else None
                module_value = stack.pop() if stack else None
                if isinstance(module_value, str) and isinstance(name_value, str):
                    add(module_value, name_value)
                else:
                    scan.unresolved_stack_globals += 1
                stack.append(None)
            elif op in ("EXT1", "EXT2", "EXT4"):
                scan.extension_codes.append(int(arg))
                stack.append(None)
            elif op in _STRING_OPS:
                stack.append(arg if isinstance(arg, str) else None)
            elif op in _GET_OPS:
                stack.append(memo.get(int(arg)))
            elif op in _PUT_OPS:
                memo[int(arg)] = top()
            elif op == "MEMOIZE":
                memo[len(memo)] = top()
            elif op == "DUP":
                stack.append(top())
            elif op == "POP":
                if stack:
                    stack.pop()
                if stack:
                    stack[-1] = None
            elif op not in _NO_STACK_EFFECT:
                stack.append(None)
            if len(stack) > 64:
                del stack[:-2]
    except (ValueError, IndexError, KeyError) as exc:
        raise PickleMalformed(f"{member or 'pickle'}: {exc}") from exc
    return scan
