"""The restricted unpickler: one decision function for every global a legacy pickle names.

`GlobalPolicy.decide(module, name)` says how a global is handled — `allowed` (an explicit allow-list of
torch/numpy/stdlib reconstruction helpers), `standin` (a deleted legacy class -> migrate.standins),
`real` (an agent/helper class importable under an allowed module prefix), `stub` (an inert stand-in
that keeps its state) or `refused`. The static scan (`simple_ckpt.opcode_scan`) applies it before anything is
unpickled, and `RestrictedUnpickler.find_class` applies it again while unpickling (STACK_GLOBAL operands
can be assembled in ways a static walk cannot see, so find_class is the real gate).

Importing a "real" class never imports a module outside the allowed prefixes: the top-level package
is checked with `importlib.util.find_spec` and the prefix list before `import_module` runs.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import importlib.util
import io
import pickle
import types
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from codemods.legacy_table import load_table
from migrate import standins
from migrate.model import Handling, ReadOptions
from simple_ckpt.pickle_guard import PLAIN_BUILTINS

# Reconstruction helpers a tensor/array/container pickle needs, and nothing else.
_ALLOWED: dict[str, frozenset[str]] = {
    "builtins": PLAIN_BUILTINS,
    "collections": frozenset({"OrderedDict", "defaultdict", "deque"}),
    "_codecs": frozenset({"encode"}),
    "copyreg": frozenset({"_reconstructor"}),
    "torch._utils": frozenset(
        {
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_tensor_v3",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
        }
    ),
    "torch._tensor": frozenset({"_rebuild_from_type_v2", "Tensor"}),
    "torch.nn.parameter": frozenset({"Parameter"}),
    "torch.storage": frozenset({"UntypedStorage"}),
    "torch": frozenset(
        {
            "device",
            "Size",
            "Tensor",
            "UntypedStorage",
            *(
                f"{kind}Storage"
                for kind in (
                    "Float",
                    "Double",
                    "Half",
                    "BFloat16",
                    "Long",
                    "Int",
                    "Short",
                    "Char",
                    "Byte",
                    "Bool",
                    "ComplexFloat",
                    "ComplexDouble",
                )
            ),
        }
    ),
    "numpy": frozenset({"ndarray", "dtype"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.random._pickle": frozenset({"__randomstate_ctor", "__bit_generator_ctor", "__generator_ctor"}),
}
# numpy 1 writers spelled `numpy.core.*`; numpy 2 spells `numpy._core.*` (and warns on the old name).
_MODULE_ALIASES = {"numpy.core.multiarray": "numpy._core.multiarray"}
# Helper-library prefixes: never the agent's own package, even when they come first in a pickle.
HELPER_PREFIXES = ("omegaconf.", "gymnasium.", "gym.", "pydantic.", "pydantic_core.", "typing.")
# Stubs for classes under these prefixes are nn.Modules (agent code); others are plain state holders.
_MODULE_STUB_PREFIXES = ("metta.", "agent.", "rl.", "rl_framework.", "pufferlib.", "sample_factory.")


DEFAULT_OPTIONS = ReadOptions()


# Allocation guards: callables a pickle could ask for a huge buffer with (`bytes(10**12)`, an ndarray of a
# giant shape) are replaced by checked versions; storage classes become inert dtype tags (they only ever
# appear inside persistent ids, never need to be called).
MAX_ALLOCATION = 1 << 34


class AllocationRefused(pickle.UnpicklingError):
    """A pickle asked for an allocation larger than any legacy checkpoint needs."""


def _sized(kind: type) -> Any:
    def build(*args: Any) -> Any:
        if args and isinstance(args[0], int) and args[0] > MAX_ALLOCATION:
            raise AllocationRefused(f"{kind.__name__}({args[0]}) asks for more memory than allowed")
        return kind(*args)

    build.__name__ = kind.__name__
    return build


def _guarded_reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    import numpy as np

    dims = shape if isinstance(shape, tuple) else (shape,)
    count = 1
    for dim in dims:
        count *= int(dim)
    if count * max(np.dtype(dtype).itemsize, 1) > MAX_ALLOCATION:
        raise AllocationRefused(f"ndarray of shape {shape} asks for more memory than allowed")
    return np._core.multiarray._reconstruct(subtype, shape, dtype)


@dataclass(frozen=True)
class StorageTag:
    """What a `torch.<X>Storage` global resolves to: just its dtype (read by persistent_load)."""

    name: str
    dtype: torch.dtype


def _storage_tag(name: str) -> StorageTag:
    if name == "UntypedStorage":
        return StorageTag(name, torch.uint8)
    return StorageTag(name, getattr(torch, name).dtype)


_GUARDED: dict[tuple[str, str], Any] = {
    ("builtins", "bytes"): _sized(bytes),
    ("builtins", "bytearray"): _sized(bytearray),
    ("numpy._core.multiarray", "_reconstruct"): _guarded_reconstruct,
}


@dataclass(frozen=True)
class Decision:
    handling: Handling
    reason: str


def normalize(module: str, name: str) -> tuple[str, str]:
    """Python 2 spellings (`__builtin__.long`, `copy_reg`) mapped as pickle's fix_imports does."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return _MODULE_ALIASES.get(module, module), name


def _torch_special(name: str) -> bool:
    """dtype / layout / memory-format constants such as `torch.float32`."""
    value = vars(torch).get(name)  # no getattr: torch's module __getattr__ may import submodules lazily
    return isinstance(value, torch.dtype | torch.layout | torch.memory_format)


@lru_cache(maxsize=1024)
def _nn_module_class(module: str, name: str) -> type | None:
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) and issubclass(obj, nn.Module) else None


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(
        module == p.rstrip(".") or module.startswith(p if p.endswith(".") else p + ".") for p in prefixes
    )


class GlobalPolicy:
    """Decides and resolves the globals of one file (`agent_package` = the file's own agent package)."""

    def __init__(self, options: ReadOptions = DEFAULT_OPTIONS, agent_package: str | None = None) -> None:
        remap = load_table().pickle
        self.options = options
        self.standins = remap.standins
        self.concrete_for = remap.concrete_for
        self.stub_prefixes = remap.stub_prefixes
        self.drop_attributes = remap.drop_attributes
        self.agent_package = agent_package
        self._real_cache: dict[tuple[str, str], Any] = {}
        self._decisions: dict[tuple[str, str], Decision] = {}

    @property
    def allowed_prefixes(self) -> tuple[str, ...]:
        own = (self.agent_package,) if self.agent_package else ()
        return own + tuple(self.options.allow_modules)

    def is_stub_prefix(self, module: str) -> bool:
        return _under(module, self.stub_prefixes)

    def decide(self, module: str, name: str) -> Decision:
        """How a global is handled. A file names the same few globals hundreds of times (the static scan,
        then find_class), so each decision is made once per policy (one policy reads one file)."""
        key = (module, name)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = self._decide(module, name)
        return decision

    def _decide(self, module: str, name: str) -> Decision:
        raw = f"{module}.{name}"
        if raw in self.concrete_for:
            return Decision(
                "standin", f"abstract in current code; concrete stand-in {self.concrete_for[raw]}"
            )
        if raw in self.standins:
            return Decision("standin", f"deleted legacy class; stand-in {self.standins[raw]}")
        if not all(part.isidentifier() for part in (*module.split("."), *name.split("."))):
            return Decision("refused", "not a valid module/class name")
        if "." in name and any(part.startswith("_") for part in name.split(".")):
            return Decision("refused", "attribute path through private attributes")
        module, name = normalize(module, name)
        if name in _ALLOWED.get(module, ()):
            return Decision("allowed", "reconstruction helper on the allow-list")
        if module == "torch" and _torch_special(name):
            return Decision("allowed", "torch dtype/layout constant")
        if module == "numpy.dtypes" and name.endswith("DType"):
            return Decision("allowed", "numpy dtype class")
        if module.startswith("torch.nn.modules.") and _nn_module_class(module, name) is not None:
            return Decision("allowed", "torch.nn module class")
        if self.is_stub_prefix(module):
            if self._real(module, name) is not None:
                return Decision("real", f"importable under allowed prefix {self._prefix_of(module)}")
            why = "real classes disabled" if not self.options.import_real_classes else "not importable here"
            return Decision("stub", f"legacy/helper class, inert stub ({why})")
        return Decision("refused", "not on the allow-list")

    def _prefix_of(self, module: str) -> str:
        return next(p for p in self.allowed_prefixes if _under(module, (p,)))

    def _real(self, module: str, name: str) -> Any:
        """The real class, only if importable under an allowed prefix (no other module is imported)."""
        if not self.options.import_real_classes or not _under(module, self.allowed_prefixes):
            return None
        key = (module, name)
        if key not in self._real_cache:
            self._real_cache[key] = _import_class(module, name)
        return self._real_cache[key]

    def resolve(self, module: str, name: str) -> Any:
        """The object find_class returns for an already-decided, non-refused global."""
        decision = self.decide(module, name)
        raw = f"{module}.{name}"
        if decision.handling == "standin":
            standin = self.concrete_for.get(raw) or self.standins[raw]
            return standins.named_standin(standin, module, name)
        if decision.handling == "real":
            return self._real(module, name)
        if decision.handling == "stub":
            if _under(module, _MODULE_STUB_PREFIXES):
                return standins.module_stub(module, name)
            return standins.object_stub(module, name)
        if decision.handling == "allowed":
            module, name = normalize(module, name)
            if (module, name) in _GUARDED:
                return _GUARDED[(module, name)]
            if module in ("torch", "torch.storage") and name.endswith("Storage"):
                return _storage_tag(name)
            return getattr(importlib.import_module(module), name)
        raise pickle.UnpicklingError(f"global {raw} refused: {decision.reason}")


def _import_class(module: str, name: str) -> Any:
    top = module.split(".")[0]
    try:
        if importlib.util.find_spec(top) is None:
            return None
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return obj if isinstance(obj, type) else None


class GlobalRefused(pickle.UnpicklingError):
    def __init__(self, module: str, name: str, reason: str) -> None:
        self.global_name = f"{module}.{name}"
        self.reason = reason
        super().__init__(f"global {self.global_name} refused: {reason}")


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler whose find_class applies `GlobalPolicy.decide` to every global."""

    policy: GlobalPolicy = GlobalPolicy()

    def __init__(self, file: Any, *, policy: GlobalPolicy | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("encoding", "latin1")
        super().__init__(file, **kwargs)
        if policy is not None:
            self.policy = policy
        self.resolved: dict[str, Handling] = {}

    def find_class(self, module: str, name: str) -> Any:
        decision = self.policy.decide(module, name)
        if decision.handling == "refused":
            raise GlobalRefused(module, name, decision.reason)
        self.resolved[f"{module}.{name}"] = decision.handling
        return self.policy.resolve(module, name)


def pickle_module(policy: GlobalPolicy | None = None) -> types.ModuleType:
    """A module-like object for `torch.load(pickle_module=...)` whose Unpickler is the restricted one."""
    chosen = policy or GlobalPolicy()

    class Unpickler(RestrictedUnpickler):
        pass

    Unpickler.policy = chosen
    module = types.ModuleType("migrate_restricted_pickle")
    module.Unpickler = Unpickler  # type: ignore[attr-defined]
    module.UnpicklingError = pickle.UnpicklingError  # type: ignore[attr-defined]
    module.Pickler = pickle.Pickler  # type: ignore[attr-defined]
    module.__version__ = pickle.format_version  # type: ignore[attr-defined]

    def load(file: Any, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    def loads(data: bytes, **kwargs: Any) -> Any:
        return Unpickler(io.BytesIO(data), **kwargs).load()

    module.load = load  # type: ignore[attr-defined]
    module.loads = loads  # type: ignore[attr-defined]
    return module


__all__ = [
    "Decision",
    "GlobalPolicy",
    "GlobalRefused",
    "HELPER_PREFIXES",
    "RestrictedUnpickler",
    "normalize",
    "pickle_module",
]
