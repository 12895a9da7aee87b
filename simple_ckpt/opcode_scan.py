"""Static inventory of a pickle: every global it names, found by walking opcodes, nothing unpickled.

`scan_pickle` follows GLOBAL and INST operands directly and resolves STACK_GLOBAL operands by tracking
the two topmost stack values and the memo (PUT/MEMOIZE/GET), the way a pickler emits them. Whenever a
value could have been computed rather than pushed as a literal, it is "unknown": a STACK_GLOBAL with an
unknown operand is reported as unresolved (the file is then refused), never guessed. Extension-registry
opcodes (EXT1/2/4) are reported too. The unpickler's find_class remains the real gate.

The walk accepts exactly the opcode streams `pickletools.genops` accepts (unknown opcodes, truncated
arguments, negative lengths, undecodable text and a missing STOP are all malformed), but it is a lean
loop over the bytes: fixed-width and length-prefixed arguments are skipped by slicing, and only the
operands the inventory needs (strings, memo indices, protocol, extension codes) are decoded. The rare
newline-terminated protocol-0 arguments are read with pickletools' own readers. It is the hot spot of
reading a checkpoint (thousands of opcodes per file), which is why it is not written with genops.
"""

from __future__ import annotations

import io
import pickletools
import struct
import sys
from collections import Counter
from collections.abc import Callable
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


# What the walker does with an opcode (after reading its argument).
_PUSH, _NOTHING, _GLOBAL, _STACK_GLOBAL, _EXT, _STRING, _GET, _PUT, _MEMOIZE, _DUP, _POP, _PROTO = range(12)
# How its argument is laid out in the stream.
_NO_ARG, _FIXED, _LEN1, _LEN4_SIGNED, _LEN4, _LEN8, _LINE = range(7)


@dataclass(frozen=True)
class _Op:
    name: str
    action: int
    form: int
    width: int  # _FIXED: argument bytes
    signed: bool  # _FIXED: a signed little-endian integer (int4)
    text: str | None  # length-prefixed strings: the codec their operand is decoded with
    reader: object  # _LINE: pickletools' reader for the argument
    counted: bool


def _action(name: str) -> int:
    if name in ("GLOBAL", "INST"):
        return _GLOBAL
    if name == "STACK_GLOBAL":
        return _STACK_GLOBAL
    if name in ("EXT1", "EXT2", "EXT4"):
        return _EXT
    if name in _STRING_OPS:
        return _STRING
    if name in _GET_OPS:
        return _GET
    if name in _PUT_OPS:
        return _PUT
    if name == "MEMOIZE":
        return _MEMOIZE
    if name == "DUP":
        return _DUP
    if name == "POP":
        return _POP
    if name == "PROTO":
        return _PROTO
    return _NOTHING if name in _NO_STACK_EFFECT else _PUSH


def _op_table() -> list[_Op | None]:
    table: list[_Op | None] = [None] * 256
    forms = {
        pickletools.UP_TO_NEWLINE: _LINE,
        pickletools.TAKEN_FROM_ARGUMENT1: _LEN1,
        pickletools.TAKEN_FROM_ARGUMENT4: _LEN4_SIGNED,
        pickletools.TAKEN_FROM_ARGUMENT4U: _LEN4,
        pickletools.TAKEN_FROM_ARGUMENT8U: _LEN8,
    }
    for op in pickletools.opcodes:
        arg = op.arg
        if arg is None:
            form, width, signed, text, reader = _NO_ARG, 0, False, None, None
        else:
            form = _FIXED if arg.n >= 0 else forms[arg.n]
            width = max(arg.n, 0)
            signed = arg.name == "int4"
            text = None
            if arg.name.startswith("unicodestring") and form != _LINE:
                text = "utf-8"
            elif arg.name in ("string1", "string4"):
                text = "latin-1"
            reader = arg.reader
        table[ord(op.code)] = _Op(
            op.name, _action(op.name), form, width, signed, text, reader, op.name in _COUNTED
        )
    return table


_TABLE = _op_table()
_STOP = ord(".")

# Fast paths for the opcodes that make up nearly all of a torch pickle, by opcode byte.
_K_GENERIC, _K_PUSH, _K_PUSH_COUNTED, _K_GET1, _K_GET4, _K_PUT1, _K_PUT4, _K_SKIP_PUSH, _K_STR1, _K_STR4 = (
    range(10)
)


def _kinds() -> list[int]:
    kinds = [_K_GENERIC] * 256
    for code, op in enumerate(_TABLE):
        if op is None:
            continue
        if op.form == _NO_ARG and op.action == _PUSH:
            kinds[code] = _K_PUSH_COUNTED if op.counted else _K_PUSH
        elif op.form == _FIXED and op.action == _PUSH and not op.counted:
            kinds[code] = _K_SKIP_PUSH
    kinds[ord("h")], kinds[ord("j")] = _K_GET1, _K_GET4  # BINGET, LONG_BINGET
    kinds[ord("q")], kinds[ord("r")] = _K_PUT1, _K_PUT4  # BINPUT, LONG_BINPUT
    kinds[0x8C], kinds[ord("X")] = _K_STR1, _K_STR4  # SHORT_BINUNICODE, BINUNICODE
    return kinds


_KINDS = _kinds()
_UINT4 = struct.Struct("<I")


def scan_pickle(data: bytes | bytearray | memoryview, member: str = "") -> PickleScan:
    """Walk `data` opcode by opcode; raises PickleMalformed for truncated or invalid streams."""
    scan = PickleScan(member)
    try:
        _walk(bytes(data) if not isinstance(data, bytes) else data, scan)
    except (ValueError, IndexError, KeyError, struct.error) as exc:
        raise PickleMalformed(f"{member or 'pickle'}: {exc}") from exc
    return scan


def _walk(data: bytes, scan: PickleScan) -> None:  # noqa: C901 - one flat loop is the point
    seen: set[tuple[str, str]] = set()
    stack: list[str | None] = []  # top values: a str when known to be that literal, else None
    memo: dict[int, str | None] = {}
    counts: Counter[str] = scan.opcodes
    table, kinds, uint4 = _TABLE, _KINDS, _UINT4.unpack_from
    end = len(data)
    pos = 0
    stream: io.BytesIO | None = None  # for the rare newline-terminated arguments

    def add(module: str, name: str) -> None:
        key = (module, name)
        if key not in seen:
            seen.add(key)
            scan.globals.append(key)

    while True:
        if pos >= end:
            raise ValueError("pickle exhausted before seeing STOP")
        code = data[pos]
        pos += 1
        kind = kinds[code]
        # Fast paths: data[i] raises IndexError and unpack_from struct.error past the end (malformed).
        if kind == _K_PUSH:
            stack.append(None)
        elif kind == _K_GET1:
            stack.append(memo.get(data[pos]))
            pos += 1
        elif kind == _K_PUT4:
            memo[uint4(data, pos)[0]] = stack[-1] if stack else None
            pos += 4
            continue
        elif kind == _K_PUSH_COUNTED:
            counts[table[code].name] += 1  # type: ignore[union-attr]
            stack.append(None)
        elif kind == _K_SKIP_PUSH:
            pos += table[code].width  # type: ignore[union-attr]
            if pos > end:
                raise ValueError(f"not enough data in stream to read {table[code].name}'s argument")  # type: ignore[union-attr]
            stack.append(None)
        elif kind == _K_PUT1:
            memo[data[pos]] = stack[-1] if stack else None
            pos += 1
            continue
        elif kind == _K_GET4:
            stack.append(memo.get(uint4(data, pos)[0]))
            pos += 4
        elif kind == _K_STR4 or kind == _K_STR1:
            if kind == _K_STR4:
                size = uint4(data, pos)[0]
                pos += 4
            else:
                size = data[pos]
                pos += 1
            stop = pos + size
            if stop > end:
                raise ValueError(f"expected {size} bytes in a string, but only {end - pos} remain")
            stack.append(str(data[pos:stop], "utf-8", "surrogatepass"))
            pos = stop
        else:
            op = table[code]
            if op is None:
                raise ValueError(f"at position {pos - 1}, opcode {bytes([code])!r} unknown")
            pos, stream = _generic(op, data, pos, end, stream, scan, stack, memo, add)
            if code == _STOP:
                return
        if len(stack) > 64:
            del stack[:-2]


def _generic(
    op: _Op,
    data: bytes,
    pos: int,
    end: int,
    stream: io.BytesIO | None,
    scan: PickleScan,
    stack: list[str | None],
    memo: dict[int, str | None],
    add: Callable[[str, str], None],
) -> tuple[int, io.BytesIO | None]:
    """Any opcode: read its argument by its layout, then apply its effect. Returns (position, stream)."""
    form = op.form
    arg: object = None
    if form == _NO_ARG:
        pass
    elif form == _FIXED:
        stop = pos + op.width
        if stop > end:
            raise ValueError(f"not enough data in stream to read {op.name}'s argument")
        if op.action in (_GET, _PUT, _EXT, _PROTO):
            arg = int.from_bytes(data[pos:stop], "little", signed=op.signed)
        pos = stop
    elif form == _LINE:
        if stream is None:
            stream = io.BytesIO(data)
        stream.seek(pos)
        arg = op.reader(stream)  # type: ignore[operator]
        pos = stream.tell()
    else:
        if form == _LEN1:
            if pos >= end:
                raise ValueError(f"not enough data in stream to read {op.name}'s length")
            size, pos = data[pos], pos + 1
        else:
            width = 8 if form == _LEN8 else 4
            if pos + width > end:
                raise ValueError(f"not enough data in stream to read {op.name}'s length")
            size = int.from_bytes(data[pos : pos + width], "little", signed=form == _LEN4_SIGNED)
            pos += width
            if size < 0:
                raise ValueError(f"{op.name} byte count < 0: {size}")
            if size > sys.maxsize:
                raise ValueError(f"{op.name} byte count > sys.maxsize: {size}")
        stop = pos + size
        if stop > end:
            raise ValueError(f"expected {size} bytes in a {op.name}, but only {end - pos} remain")
        if op.text is not None:
            arg = str(data[pos:stop], op.text, "surrogatepass")
        pos = stop

    if op.counted:
        scan.opcodes[op.name] += 1
    action = op.action
    if action == _PUSH:
        stack.append(None)
    elif action == _PUT:
        memo[int(arg)] = stack[-1] if stack else None  # type: ignore[call-overload]
    elif action == _STRING:
        stack.append(arg if isinstance(arg, str) else None)
    elif action == _GET:
        stack.append(memo.get(int(arg)))  # type: ignore[call-overload]
    elif action == _MEMOIZE:
        memo[len(memo)] = stack[-1] if stack else None
    elif action == _GLOBAL:
        module, _, name = str(arg).partition(" ")
        add(module, name)
        stack.append(None)
    elif action == _STACK_GLOBAL:
        name_value = stack.pop() if stack else None
        module_value = stack.pop() if stack else None
        if isinstance(module_value, str) and isinstance(name_value, str):
            add(module_value, name_value)
        else:
            scan.unresolved_stack_globals += 1
        stack.append(None)
    elif action == _EXT:
        scan.extension_codes.append(int(arg))  # type: ignore[call-overload]
        stack.append(None)
    elif action == _DUP:
        stack.append(stack[-1] if stack else None)
    elif action == _POP:
        if stack:
            stack.pop()
        if stack:
            stack[-1] = None
    elif action == _PROTO:
        scan.protocol = int(arg)  # type: ignore[call-overload]
    return pos, stream
