"""Small local classes that take the place of deleted or unimportable legacy classes while unpickling.

Legacy files name classes that no longer exist (PolicyRecord, PolicyMetadata, PolicyStore) or that we will
not import (agent code, omegaconf, gymnasium, pydantic). Each becomes an inert object here that keeps the
state the pickle gives it and runs no legacy logic:

- named stand-ins for the deleted containers (`PolicyRecord`, `PolicyMetadata`, `PolicyStore`) and the
  concrete `ComponentPolicy` (the real one became abstract, so unpickling it fails);
- generated stubs: `module_stub` (an `nn.Module`, so `state_dict()` works on the agent tree) and
  `object_stub` (stores its state), both remembering the legacy class path they replace.

`plain_value` turns OmegaConf-shaped stubs (`_content` / `_val`) into plain Python values.
"""

from __future__ import annotations

from typing import Any

from torch import nn

LEGACY_PATH_ATTR = "__legacy_class__"


def _merge_state(obj: Any, state: Any) -> None:
    """Apply a BUILD state: a dict, or (dict, slots-dict) for classes with __slots__."""
    if isinstance(state, tuple) and len(state) == 2 and (state[1] is None or isinstance(state[1], dict)):
        state, slots = state
        if slots:
            obj.__dict__.update(slots)
    if state is None:
        return
    if isinstance(state, dict):
        obj.__dict__.update(state)
    else:
        obj.__dict__["_stub_state"] = state


class StandIn:
    """Base of every inert stand-in: accepts any constructor arguments and any pickled state."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__new__(cls)
        if args or kwargs:
            obj.__dict__["_stub_args"] = (args, kwargs)
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        _merge_state(self, state)

    # Containers pickled with SETITEMS / APPENDS land here instead of failing.
    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("_stub_items", {})[key] = value

    def append(self, value: Any) -> None:
        self.__dict__.setdefault("_stub_list", []).append(value)

    def extend(self, values: Any) -> None:
        self.__dict__.setdefault("_stub_list", []).extend(values)

    def __repr__(self) -> str:
        return f"<stand-in {getattr(type(self), LEGACY_PATH_ATTR, type(self).__qualname__)}>"


class PolicyRecord(StandIn):
    """Any legacy PolicyRecord (v1 `agent.`/`metta.agent.policy_store`, v2 `metta.agent.policy_record`)."""


class PolicyStore(StandIn):
    """The L1 PolicyStore pickled inside records (holds a config and other records; never used)."""


class PolicyMetadata(dict):
    """`metta.agent.policy_metadata.PolicyMetadata`: a dict subclass filled by SETITEMS."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


class ModuleStandIn(nn.Module):
    """An nn.Module stand-in: restores `_parameters/_buffers/_modules` so nn.Module machinery works."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__new__(cls)
        nn.Module.__init__(obj)
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "_parameters" not in self.__dict__:
            nn.Module.__init__(self)

    def __setstate__(self, state: Any) -> None:
        _merge_state(self, state)
        # States written by older torch versions can miss newer bookkeeping dicts: fill them in.
        fresh = nn.Module()
        for key, value in fresh.__dict__.items():
            self.__dict__.setdefault(key, value)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self!r} is an inert stand-in for a legacy class; it cannot run")

    def __repr__(self) -> str:  # nn.Module's repr walks children; keep it short and safe
        return f"<stand-in module {getattr(type(self), LEGACY_PATH_ATTR, type(self).__qualname__)}>"


class ComponentPolicy(ModuleStandIn):
    """Concrete stand-in for `metta.agent.component_policy.ComponentPolicy` (abstract after 2025-08-19)."""


NAMED_STANDINS: dict[str, type] = {
    "PolicyRecord": PolicyRecord,
    "PolicyStore": PolicyStore,
    "PolicyMetadata": PolicyMetadata,
    "ComponentPolicy": ComponentPolicy,
}

_STUB_CACHE: dict[tuple[str, str, str], type] = {}


def _stub(base: type, module: str, name: str) -> type:
    key = (base.__name__, module, name)
    cls = _STUB_CACHE.get(key)
    if cls is None:
        qualname = name.rsplit(".", 1)[-1]
        cls = type(
            qualname, (base,), {"__module__": f"migrate.stub:{module}", LEGACY_PATH_ATTR: f"{module}.{name}"}
        )
        _STUB_CACHE[key] = cls
    return cls


def module_stub(module: str, name: str) -> type:
    """An nn.Module stub class for the legacy class `module.name` (one class per legacy path)."""
    return _stub(ModuleStandIn, module, name)


def object_stub(module: str, name: str) -> type:
    """A plain stub class for the legacy class `module.name` that stores its pickled state."""
    return _stub(StandIn, module, name)


def named_standin(name: str, module: str, qualname: str) -> type:
    """The stand-in called `name` in legacy.yaml, tagged with the legacy path it replaces."""
    base = NAMED_STANDINS[name]
    key = (base.__name__, module, qualname)
    cls = _STUB_CACHE.get(key)
    if cls is None:
        cls = type(base.__name__, (base,), {"__module__": __name__, LEGACY_PATH_ATTR: f"{module}.{qualname}"})
        _STUB_CACHE[key] = cls
    return cls


def legacy_class_path(obj: Any) -> str:
    """The class path a legacy pickle recorded for `obj` (stand-ins report what they replace)."""
    cls = type(obj)
    path = getattr(cls, LEGACY_PATH_ATTR, None)
    return path if isinstance(path, str) else f"{cls.__module__}.{cls.__qualname__}"


def is_standin(obj: Any) -> bool:
    return isinstance(getattr(type(obj), LEGACY_PATH_ATTR, None), str)


def plain_value(value: Any, _depth: int = 0) -> Any:
    """Plain Python data from OmegaConf-shaped stubs (`_content`, `_val`), dicts, lists and tuples."""
    if _depth > 100:
        return value
    state = getattr(value, "__dict__", None) if is_standin(value) else None
    if state is not None and "_content" in state:
        return plain_value(state["_content"], _depth + 1)
    if state is not None and "_val" in state:
        return plain_value(state["_val"], _depth + 1)
    if isinstance(value, dict):
        return {key: plain_value(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_value(item, _depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(plain_value(item, _depth + 1) for item in value)
    return value
