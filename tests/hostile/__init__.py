"""A corpus of crafted checkpoint files that would run code, touch files or set the environment if loaded.

Why: "nothing from an untrusted file runs" must be proved against the spellings attackers use, not one
os.system. Every case is built byte by byte here (no pickler that could refuse to write it) and carries a
payload whose effect is observable: it would create `Sentinel.file`, delete `Sentinel.canary` or set the
environment variable `Sentinel.env_var`. `Sentinel.untouched()` says whether none of that happened.

    sentinel = Sentinel.create(tmp_path / "sentinel")
    for case in CASES:
        path = case.build(run_dir / "checkpoints" / case.filename, sentinel)
        ...  # load it every way the toolkit can; then
    assert sentinel.untouched()

`HostileCase.globals` is the set of globals a refusal may name (a chain names several; any one is a
correct refusal). `kind` is "pickle" (torch zip, raw pickle or torch.package archive) or "yaml" (a
safetensors pair whose YAML sidecar carries a ``!!python`` tag).
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from legacy_world.containers import hostile_pickle, write_safetensors, write_torch_zip

ENV_VAR = "SIMPLE_CKPT_HOSTILE_RAN"


@dataclass(frozen=True)
class Sentinel:
    """What a payload would change: a file it creates, a canary it deletes, an env var it sets."""

    file: Path
    canary: Path
    script: Path
    env_var: str = ENV_VAR

    @classmethod
    def create(cls, root: Path) -> Sentinel:
        root.mkdir(parents=True, exist_ok=True)
        sentinel = cls(root / "PWNED", root / "canary.txt", root / "payload.py")
        sentinel.canary.write_text("must survive\n")
        sentinel.script.write_text(f"open({str(sentinel.file)!r}, 'w').close()\n")
        (root / "hubconf.py").write_text(f"def payload():\n    open({str(sentinel.file)!r}, 'w').close()\n")
        os.environ.pop(ENV_VAR, None)
        return sentinel

    @property
    def command(self) -> str:
        return f"touch '{self.file}'"

    @property
    def python(self) -> str:
        return f"open({str(self.file)!r}, 'w').close()"

    def untouched(self) -> bool:
        return not self.file.exists() and self.canary.exists() and ENV_VAR not in os.environ


# ----------------------------------------------------------------------------------- opcode helpers


def s(text: str) -> bytes:
    """BINUNICODE: a str literal."""
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def short(text: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4)."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def glob(module: str, name: str) -> bytes:
    """GLOBAL: push module.name."""
    return b"c" + f"{module}\n{name}\n".encode()


def call(module: str, name: str, *args: bytes) -> bytes:
    """module.name(*args) via GLOBAL + MARK ... TUPLE + REDUCE (the value stays on the stack)."""
    return glob(module, name) + b"(" + b"".join(args) + b"tR"


def apply(func: bytes, *args: bytes) -> bytes:
    """func(*args) where func is already an expression."""
    return func + b"(" + b"".join(args) + b"tR"


P2 = b"\x80\x02"
P4 = b"\x80\x04"


# ---------------------------------------------------------------------------------------- payloads


def _os_system(sn: Sentinel) -> bytes:
    return P2 + call("os", "system", s(sn.command)) + b"."


def _posix_system(sn: Sentinel) -> bytes:
    return P2 + call("posix", "system", s(sn.command)) + b"."


def _popen(sn: Sentinel) -> bytes:
    argv = b"](" + s("touch") + s(str(sn.file)) + b"e"
    return P2 + call("subprocess", "Popen", argv) + b"."


def _eval(sn: Sentinel) -> bytes:
    return P2 + call("builtins", "eval", s(sn.python)) + b"."


def _exec(sn: Sentinel) -> bytes:
    return P2 + call("builtins", "exec", s(sn.python)) + b"."


def _getattr_import(sn: Sentinel) -> bytes:
    os_module = call("builtins", "__import__", s("os"))
    system = call("builtins", "getattr", os_module, s("system"))
    return P2 + apply(system, s(sn.command)) + b"."


def _compile(sn: Sentinel) -> bytes:
    code = call("builtins", "compile", s(sn.python), s("<ckpt>"), s("exec"))
    return P2 + call("builtins", "eval", code) + b"."


def _importlib(sn: Sentinel) -> bytes:
    os_module = call("importlib", "import_module", s("os"))
    system = call("builtins", "getattr", os_module, s("system"))
    return P2 + apply(system, s(sn.command)) + b"."


def _runpy(sn: Sentinel) -> bytes:
    return P2 + call("runpy", "run_path", s(str(sn.script))) + b"."


def _nested_loads(sn: Sentinel) -> bytes:
    inner = _os_system(sn)
    binbytes = b"B" + struct.pack("<I", len(inner)) + inner
    return b"\x80\x03" + call("pickle", "loads", binbytes) + b"."


def _open_write(sn: Sentinel) -> bytes:
    return P2 + call("builtins", "open", s(str(sn.file)), s("w")) + b"."


def _remove_canary(sn: Sentinel) -> bytes:
    return P2 + call("os", "remove", s(str(sn.canary))) + b"."


def _environ_dotted(sn: Sentinel) -> bytes:
    # protocol 4 resolves dotted names: os.environ.__setitem__(ENV_VAR, "1")
    setitem = short("os") + b"\x94" + short("environ.__setitem__") + b"\x94\x93"
    return P4 + setitem + short(ENV_VAR) + short("1") + b"\x86R."


def _record_metadata(sn: Sentinel) -> bytes:
    return hostile_pickle("builtins", "exec", sn.python, "nested")


def _agent_dict(sn: Sentinel) -> bytes:
    """A PolicyRecord whose cached MettaAgent's __dict__ hides os.system(cmd) among ordinary attributes."""
    agent = (
        glob("metta.agent.metta_agent", "MettaAgent")
        + b")\x81}("
        + s("training")
        + b"\x88"
        + s("_modules")
        + glob("collections", "OrderedDict")
        + b")R"
        + s("hidden_cfg")
        + call("os", "system", s(sn.command))
        + b"ub"
    )
    record = (
        glob("metta.agent.policy_record", "PolicyRecord")
        + b")\x81}("
        + s("run_name")
        + s("model_0001.pt")
        + s("_cached_policy")
        + agent
        + b"ub"
    )
    return P2 + record + b"."


def _inst(sn: Sentinel) -> bytes:
    argv = b"](" + s("touch") + s(str(sn.file)) + b"e"
    return b"(" + argv + b"i" + b"subprocess\ncall\n" + b"."


def _obj(sn: Sentinel) -> bytes:
    return b"\x80\x02(" + glob("os", "system") + s(sn.command) + b"o."


def _newobj_ex_setstate(sn: Sentinel) -> bytes:
    """NEWOBJ_EX builds a SimpleNamespace; BUILD plants __setstate__ = os.system; a 2nd BUILD calls it."""
    cls = short("types") + short("SimpleNamespace") + b"\x93"
    obj = cls + b")}\x92"  # cls, (), {} -> NEWOBJ_EX
    plant = b"N}" + short("__setstate__") + glob("os", "system") + b"s\x86b"  # BUILD (None, {...})
    return P4 + obj + plant + short(sn.command) + b"b."


def _newobj_build_allowed_class(sn: Sentinel) -> bytes:
    """The same trick on collections.OrderedDict (on every allow-list): only builtins.exec is foreign."""
    obj = glob("collections", "OrderedDict") + b")\x81"  # NEWOBJ
    plant = b"N}" + s("__setstate__") + glob("builtins", "exec") + b"s\x86b"
    return P2 + obj + plant + s(sn.python) + b"b."


def _persid_reduce(sn: Sentinel) -> bytes:
    pid = b"(" + s("storage") + call("os", "system", s(sn.command)) + s("0") + s("cpu") + b"K\x04t"
    return P2 + pid + b"Q."  # BINPERSID


def _persid_storage_type(sn: Sentinel) -> bytes:
    """The storage-type slot of a persistent id names a code-running callable instead of a storage class."""
    pid = b"(" + s("storage") + glob("builtins", "eval") + s(sn.python) + s("cpu") + b"K\x04t"
    return P2 + pid + b"Q."


def _memo_tricks(sn: Sentinel) -> bytes:
    """Decoy operands memoized first, then the memo slots overwritten and fetched with LONG_BINGET."""
    decoy = short("collections") + b"\x94" + short("OrderedDict") + b"\x94" + b"00"  # MEMOIZE x2, POP x2
    real = short("os") + b"q\x00" + short("system") + b"q\x01" + b"00"  # BINPUT 0, 1 overwrite decoys
    fetch = b"j\x00\x00\x00\x00" + b"j\x01\x00\x00\x00" + b"\x93"  # LONG_BINGET 0, 1; STACK_GLOBAL
    return P4 + decoy + real + fetch + short(sn.command) + b"\x85R."


def _numpy_runstring(sn: Sentinel) -> bytes:
    return P2 + call("numpy.testing._private.utils", "runstring", s(sn.python), b"}") + b"."


def _torch_hub(sn: Sentinel) -> bytes:
    # torch.hub imports <dir>/hubconf.py and calls its entry point `payload`
    return P2 + call("torch.hub", "_load_local", s(str(sn.script.parent)), s("payload")) + b"."


# --------------------------------------------------------------------------------------- containers


def _zip(payload: Callable[[Sentinel], bytes]) -> Callable[[Path, Sentinel], Path]:
    def build(path: Path, sn: Sentinel) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_torch_zip(path, payload(sn))
        return path

    return build


def _raw(payload: Callable[[Sentinel], bytes]) -> Callable[[Path, Sentinel], Path]:
    def build(path: Path, sn: Sentinel) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload(sn))
        return path

    return build


def _package_model(path: Path, sn: Sentinel) -> Path:
    """A torch.package archive whose record is harmless and whose policy/model.pkl carries the payload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = path.stem
    record = (
        b"\x80\x03"
        + glob("metta.agent.policy_record", "PolicyRecord")
        + b")\x81}("
        + s("name")
        + s(path.name)
        + s("metadata")
        + b"}"
        + b"ub."
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{prefix}/policy_record/data.pkl", record)
        zf.writestr(f"{prefix}/policy/model.pkl", b"\x80\x03" + call("posix", "system", s(sn.command)) + b".")
        zf.writestr(f"{prefix}/.data/extern_modules", "torch\n")
        zf.writestr(f"{prefix}/.data/version", "6\n")
    return path


def _yaml_sidecar(path: Path, sn: Sentinel) -> Path:
    """A safetensors pair (legacy B1) whose YAML sidecar asks for os.system through a python tag."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    st_path = path.with_suffix(".safetensors")
    write_safetensors(st_path, {"policy.weight": torch.ones(2, 2)})
    path.with_suffix(".yaml").write_text(
        "metadata:\n"
        "  epoch: 3\n"
        f"  note: !!python/object/apply:os.system [{sn.command!r}]\n"
        "model_type: MettaAgent\n"
    )
    return st_path


@dataclass(frozen=True)
class HostileCase:
    name: str
    stem: str  # the checkpoint-like file name it is written under, without suffix
    build_file: Callable[[Path, Sentinel], Path]
    globals: frozenset[str]
    kind: str = "pickle"  # "pickle" | "yaml"
    legacy_shaped: bool = False  # names a PolicyRecord / is a torch.package: simple_ckpt calls it legacy
    live: bool = True  # an unrestricted pickle.loads of it does trigger the sentinel (proved by a test)

    @property
    def filename(self) -> str:
        return f"{self.stem}.pt"

    def build(self, directory: Path, sentinel: Sentinel) -> Path:
        """Write the case into `directory`; returns the path a loader is pointed at."""
        return self.build_file(directory / self.filename, sentinel)


def _case(
    name: str, epoch: int, build: Callable[[Path, Sentinel], Path], *globals_: str, **kw: object
) -> HostileCase:
    return HostileCase(name, f"model_{epoch:04d}", build, frozenset(globals_), **kw)  # type: ignore[arg-type]


CASES: tuple[HostileCase, ...] = (
    _case("os.system via REDUCE", 101, _zip(_os_system), "os.system"),
    _case("posix.system via REDUCE", 102, _zip(_posix_system), "posix.system"),
    _case("subprocess.Popen, raw pickle", 103, _raw(_popen), "subprocess.Popen"),
    _case("builtins.eval", 104, _zip(_eval), "builtins.eval"),
    _case("builtins.exec", 105, _zip(_exec), "builtins.exec"),
    _case("getattr(__import__('os'))", 106, _zip(_getattr_import), "builtins.getattr", "builtins.__import__"),
    _case("eval(compile(...))", 107, _zip(_compile), "builtins.eval", "builtins.compile"),
    _case("importlib.import_module", 108, _zip(_importlib), "importlib.import_module", "builtins.getattr"),
    _case("runpy.run_path", 109, _zip(_runpy), "runpy.run_path"),
    _case("nested pickle.loads", 110, _zip(_nested_loads), "pickle.loads"),
    _case("builtins.open for writing", 111, _zip(_open_write), "builtins.open"),
    _case("os.remove of a canary", 112, _zip(_remove_canary), "os.remove"),
    _case("os.environ.__setitem__ dotted", 113, _zip(_environ_dotted), "os.environ.__setitem__"),
    _case("exec in PolicyRecord metadata", 114, _zip(_record_metadata), "builtins.exec", legacy_shaped=True),
    _case("os.system in agent __dict__", 115, _zip(_agent_dict), "os.system", legacy_shaped=True),
    _case("torch.package model.pkl", 116, _package_model, "posix.system", legacy_shaped=True),
    _case("INST subprocess.call", 117, _raw(_inst), "subprocess.call"),
    _case("OBJ os.system", 118, _zip(_obj), "os.system"),
    _case(
        "NEWOBJ_EX + BUILD __setstate__", 119, _zip(_newobj_ex_setstate), "os.system", "types.SimpleNamespace"
    ),
    _case("NEWOBJ + BUILD on an allowed class", 120, _zip(_newobj_build_allowed_class), "builtins.exec"),
    _case("persistent id hiding a REDUCE", 121, _zip(_persid_reduce), "os.system"),
    _case("persistent id storage type = eval", 122, _zip(_persid_storage_type), "builtins.eval", live=False),
    _case("STACK_GLOBAL with memo overwrite", 123, _zip(_memo_tricks), "os.system"),
    _case("numpy.testing runstring", 124, _zip(_numpy_runstring), "numpy.testing._private.utils.runstring"),
    _case("torch.hub._load_local", 125, _zip(_torch_hub), "torch.hub._load_local"),
    _case("YAML sidecar !!python/object/apply", 126, _yaml_sidecar, "os.system", kind="yaml"),
)
PICKLE_CASES = tuple(case for case in CASES if case.kind == "pickle")


# An unrestricted loader, run in a throwaway process to prove each payload is real: it unpickles every
# case's pickle with plain `pickle` (stand-in legacy classes importable) and turns the env-var payload into
# a sentinel file, so every live case leaves its sentinel behind.
UNRESTRICTED_LOADER = """
import json, os, pickle, sys, zipfile
sys.path.insert(0, sys.argv[1])
for path, marker in json.loads(sys.argv[2]):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(('/data.pkl', '/model.pkl'))]
            data = zf.read(sorted(names, key=lambda n: not n.endswith('model.pkl'))[0])
    else:
        data = open(path, 'rb').read()
    class U(pickle.Unpickler):
        def persistent_load(self, pid):
            return pid
    import io
    try:
        U(io.BytesIO(data)).load()
    except Exception as exc:
        print(path, type(exc).__name__, exc, file=sys.stderr)
    if os.environ.pop(ENV_VAR, None) is not None:
        open(marker, 'w').close()
""".replace("ENV_VAR", repr(ENV_VAR))
