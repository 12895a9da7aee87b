"""Refuse a pickle that names an obviously dangerous global, before ``torch.load(weights_only=False)``.

Why: a module checkpoint can only be loaded with the full unpickler (it imports the agent's classes), so
a file the manager did not write — handed to `load_agent_from`, or placed in a run dir together with a
forged YAML whose hash matches — could run ``os.system`` on load. The trust model (see
`simple_ckpt.manager`) still says: for files of unknown origin use ``weights_only=True``. This guard is
defence in depth for the other path: it walks every pickle of the file statically (`simple_ckpt.opcode_scan`, which
unpickles nothing) and refuses the file when a global is on the deny-list below, when a STACK_GLOBAL's
operands cannot be resolved statically, or when the pickle uses the copyreg extension registry. A
deny-list cannot be complete; it stops the payloads attackers actually ship (process spawning, eval/exec,
importers, nested unpicklers, file and environment writes) without refusing any agent class.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from simple_ckpt.errors import CheckpointError
from simple_ckpt.opcode_scan import PickleMalformed, scan_pickle

# Whole modules (and their submodules) no legitimate checkpoint pickle names.
_DENIED_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "posixpath",
        "ntpath",
        "subprocess",
        "pty",
        "shutil",
        "sys",
        "importlib",
        "imp",
        "runpy",
        "pkgutil",
        "zipimport",
        "site",
        "code",
        "codeop",
        "pickle",
        "_pickle",
        "cPickle",
        "marshal",
        "dill",
        "cloudpickle",
        "ctypes",
        "_ctypes",
        "socket",
        "webbrowser",
        "multiprocessing",
        "_posixsubprocess",
        "signal",
        "pdb",
        "bdb",
        "timeit",
        "trace",
        "profile",
        "cProfile",
        "tempfile",
        "io",
        "_io",
        "pathlib",
        "glob",
        "asyncio",
        "threading",
        "_thread",
        "operator",
        "commands",
        "popen2",
        "torch.hub",
        "torch.serialization",
        "torch.package",
        "torch.utils.cpp_extension",
        "torch._ops",
        "torch.ops",
        "torch.jit",
        "torch.classes",
        "torch.distributed",
        "torch.multiprocessing",
        "numpy.ctypeslib",
        "numpy.testing",
        "numpy.f2py",
        "numpy.distutils",
        "numpy.lib.npyio",
        "yaml",
    }
)
# builtins is needed for plain types; everything callable with effects is refused.
_BUILTIN_MODULES = frozenset({"builtins", "__builtin__", "__builtins__"})
# The plain builtin types a checkpoint pickle rebuilds containers and values from (migrate's restricted
# unpickler allows exactly these); nothing in it can run or import code.
PLAIN_BUILTINS = frozenset(
    {
        "set",
        "frozenset",
        "dict",
        "list",
        "tuple",
        "int",
        "float",
        "complex",
        "bool",
        "bytes",
        "bytearray",
        "str",
        "slice",
        "object",
    }
)
# The guard also lets through Python 2 spellings and constants that torch.load's own unpickler resolves.
_ALLOWED_BUILTINS = PLAIN_BUILTINS | {"range", "long", "unicode", "NotImplemented", "Ellipsis"}
_DENIED_NAMES = {
    "torch": frozenset({"load", "save", "hub", "jit", "package", "serialization", "ops"}),
    "types": frozenset({"FunctionType", "LambdaType", "CodeType", "MethodType", "ModuleType"}),
    "functools": frozenset({"partial", "reduce"}),
}
# Function names that load, import or execute whatever module they come from (numpy.load(f, None, True)
# unpickles a file, pandas.read_pickle too, *.load_library dlopens a shared object). Checkpoint pickles name
# classes and rebuild helpers, never these.
_DANGEROUS_NAMES = frozenset(
    {
        "load",
        "loads",
        "load_library",
        "read_pickle",
        "system",
        "popen",
        "spawn",
        "exec",
        "eval",
        "execfile",
        "compile",
        "run_path",
        "run_module",
        "import_module",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
    }
)
_MAX_PICKLE_BYTES = 1 << 30  # a pickle member larger than this is refused rather than read
_LEGACY_FORMAT_PICKLES = 5  # torch's non-zip format: magic, protocol, sys_info, object, storage keys


class UnsafePickleError(CheckpointError):
    """The file's pickle names a global that could run code; it was not unpickled."""

    def __init__(self, path: Path | str, global_name: str, reason: str) -> None:
        self.path = Path(path)
        self.global_name = global_name
        super().__init__(
            f"{path}: refused: global {global_name} ({reason}); nothing was loaded. "
            "Load files of unknown origin with weights_only=True (see the trust model in simple_ckpt.manager)"
        )


def denial_reason(module: str, name: str) -> str | None:
    """Why the global ``module.name`` is refused, or None if it may be named."""
    if "__" in name and "." in name:
        return "a dotted name reaching into dunder attributes"
    if module in _BUILTIN_MODULES:
        return None if name in _ALLOWED_BUILTINS else "a builtin that can run or import code"
    for denied in _DENIED_MODULES:
        if module == denied or module.startswith(denied + "."):
            return f"module {denied} can run code or touch files"
    if name.split(".", 1)[0] in _DENIED_NAMES.get(module, ()):
        return "a loader or code entry point"
    if name.rsplit(".", 1)[-1] in _DANGEROUS_NAMES:
        return "a loader or code entry point (refused in any module)"
    return None


def check_pickle(path: Path | str, data: bytes, member: str = "") -> bool:
    """Raise `UnsafePickleError` if the pickle at the start of ``data`` is refused.

    Returns False for a stream that is not a complete pickle (the loader then reports it as corrupt).
    """
    try:
        scan = scan_pickle(data, member)
    except PickleMalformed:
        return False
    for module, name in scan.globals:
        reason = denial_reason(module, name)
        if reason is not None:
            raise UnsafePickleError(path, f"{module}.{name}", reason)
    if scan.unresolved_stack_globals:
        raise UnsafePickleError(path, "?", "a STACK_GLOBAL whose operands are not resolvable statically")
    if scan.extension_codes:
        raise UnsafePickleError(
            path, f"extension code {scan.extension_codes[0]}", "the copyreg extension registry"
        )
    return True


def refuse_dangerous_globals(path: Path | str, data: bytes) -> None:
    """Check every pickle ``torch.load`` would run on ``data`` (a torch zip or the legacy raw format)."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if not info.filename.endswith(".pkl"):
                        continue
                    if info.file_size > _MAX_PICKLE_BYTES:
                        raise UnsafePickleError(
                            path, "?", f"pickle member {info.filename} is too large to check"
                        )
                    check_pickle(path, archive.read(info), info.filename)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            return  # not readable as a zip: torch.load will report it, without unpickling anything
        return
    # torch's legacy (non-zip) format: several pickles back to back, then raw tensor bytes. Each pickle is
    # delimited on a shared stream (no copy of the tensor bytes) and only its own bytes are scanned.
    stream = io.BytesIO(data)
    for _ in range(_LEGACY_FORMAT_PICKLES):
        start = stream.tell()
        if start >= len(data):
            return
        end = _pickle_end(stream)
        if end is None or not check_pickle(path, data[start:end], os.fspath(path)):
            return


def _pickle_end(stream: io.BytesIO) -> int | None:
    """Offset just past the STOP of the pickle starting at the stream's position (None if malformed)."""
    import pickletools

    try:
        for _opcode, _arg, _pos in pickletools.genops(stream):
            pass
    except (ValueError, EOFError, IndexError, KeyError, UnicodeDecodeError):
        return None
    return stream.tell()
