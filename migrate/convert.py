"""A read `LegacyPolicy` -> the object a migrated ``model_NNNN.pt`` holds.

Two modes:

* **module** (default when every class of the agent imports in this environment,
  ``LegacyPolicy.agent_classes_real``): the agent itself, for ``torch.save``. An A1 ``MettaAgent``
  (owning ``components`` directly) is restructured to A2 (owning a ``policy`` submodule that owns
  ``components``), which is what the current agent class expects and what the deleted
  ``MettaAgent.__setstate__`` did on every load (spec §12): the policy is a
  ``<pkg>.component_policies.fast.Fast`` built with ``__new__`` + ``nn.Module.__init__`` (never its
  ``__init__``), receiving the components and the policy-level attributes; state-dict keys move from
  ``components.*`` to ``policy.components.*``.
* **weights-only** (``--weights-only``, and the fallback when the classes do not import, or the source
  holds weights only): the simple_ckpt payload (``simple_ckpt.payload``) with the full state_dict, the
  agent class path and provenance extras. A1 MettaAgent keys are renamed the same way, so the payload
  loads into the current agent class built by ``agent_factory``.

`Conversion.key_map` tells verification where each source tensor must reappear.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from migrate.model import LegacyPolicy

A1_PREFIX = "components."
A2_PREFIX = "policy.components."

# What the removed MettaAgent.__setstate__ handed to the new policy object (spec §12).
POLICY_ATTRIBUTES = (
    "components_with_memory",
    "clip_range",
    "agent_attributes",
    "cum_action_max_params",
    "action_index_tensor",
    "cfg",
)


@dataclass
class Conversion:
    mode: str  # "module" | "weights-only"
    obj: Any  # what torch.save writes
    agent_class: str | None
    layout: str | None  # "A1->A2", "A1", "A2", "puffer", ...
    key_map: Callable[[str], str] | None = None
    fallback_reason: str | None = None  # why weights-only was forced
    warnings: list[str] = field(default_factory=list)


def a1_to_a2_key(key: str) -> str:
    return A2_PREFIX + key[len(A1_PREFIX) :] if key.startswith(A1_PREFIX) else key


def is_metta_agent_a1(policy: LegacyPolicy) -> bool:
    return policy.agent_layout == "A1" and (policy.agent_class or "").endswith("metta_agent.MettaAgent")


def weights_only_reason(policy: LegacyPolicy) -> str | None:
    """Why module mode is impossible for this file (None when it is possible)."""
    if policy.agent is None:
        return "the source holds weights only"
    if not policy.agent_classes_real:
        return f"the agent classes ({policy.agent_class or 'unknown'}) do not import in this environment"
    return None


def convert_policy(
    policy: LegacyPolicy, *, weights_only: bool, extra: dict[str, Any] | None = None
) -> Conversion:
    """Decide the mode and build the object to save (the source objects are not modified)."""
    reason = None if weights_only else weights_only_reason(policy)
    if weights_only or reason is not None:
        return _weights_only(policy, reason, extra or {})
    return _module(policy)


def _weights_only(policy: LegacyPolicy, reason: str | None, extra: dict[str, Any]) -> Conversion:
    from simple_ckpt.payload import make_weights_only_payload

    key_map = a1_to_a2_key if is_metta_agent_a1(policy) else None
    state_dict = {key_map(k) if key_map else k: v for k, v in policy.state_dict.items()}
    payload_extra = dict(extra)
    if key_map is not None:
        payload_extra["key_map"] = f"{A1_PREFIX}* -> {A2_PREFIX}* (A1 MettaAgent restructured to A2)"
    payload = make_weights_only_payload(state_dict, policy.agent_class, payload_extra)
    layout = "A1->A2" if key_map else policy.agent_layout
    conversion = Conversion("weights-only", payload, policy.agent_class, layout, key_map, reason)
    if reason is not None:
        conversion.warnings.append(f"WEIGHTS-ONLY fallback: {reason}; load it with agent_factory=...")
    return conversion


def _module(policy: LegacyPolicy) -> Conversion:
    agent = policy.agent
    policy_cls, why = _component_policy_class(type(agent).__module__)
    if is_metta_agent_a1(policy):
        if policy_cls is None:
            conversion = Conversion("module", agent, policy.agent_class, "A1")
            conversion.warnings.append(f"A1 agent kept as A1: {why}")
        else:
            new = restructure_a1_to_a2(agent, policy_cls)
            conversion = Conversion("module", new, policy.agent_class, "A1->A2", a1_to_a2_key)
    else:
        conversion = Conversion("module", agent, policy.agent_class, policy.agent_layout)
    conversion.obj = _concrete_policy(conversion.obj, policy_cls)
    leftovers = sorted({_legacy_path(m) for m in conversion.obj.modules() if _is_standin(m)})
    if leftovers:  # a module file must hold only the user's own classes
        reason = f"the agent holds legacy classes with no current equivalent here ({', '.join(leftovers)})"
        return _weights_only(policy, reason, {})
    return conversion


def _legacy_path(obj: Any) -> str:
    from migrate.standins import LEGACY_PATH_ATTR

    return str(getattr(type(obj), LEGACY_PATH_ATTR, f"{type(obj).__module__}.{type(obj).__qualname__}"))


def _is_standin(module: nn.Module) -> bool:
    return type(module).__module__.split(".")[0] == "migrate"


def _concrete_policy(agent: nn.Module, policy_cls: type[nn.Module] | None) -> nn.Module:
    """The reader's stand-in for the ComponentPolicy of 2025-08-13..19 (abstract in current code) becomes
    the concrete class the current code has for it, as spec §12 prescribes; ``agent`` is not modified."""
    inner = agent._modules.get("policy")
    if inner is None or policy_cls is None or not _is_standin(inner):
        return agent
    if not _legacy_path(inner).endswith("component_policy.ComponentPolicy"):
        return agent
    concrete = policy_cls.__new__(policy_cls)
    concrete.__dict__.update(inner.__dict__)
    new = type(agent).__new__(type(agent))
    new.__dict__.update(agent.__dict__)
    new.__dict__["_modules"] = OrderedDict(agent._modules)
    new._modules["policy"] = concrete
    return new


def _component_policy_class(agent_module: str) -> tuple[type[nn.Module] | None, str]:
    """``<pkg>.component_policies.fast.Fast`` beside ``<pkg>.metta_agent`` (the class the old hook used)."""
    package = agent_module.rpartition(".")[0]
    target = f"{package}.component_policies.fast"
    try:
        cls = importlib.import_module(target).Fast
    except (ImportError, AttributeError) as exc:
        return None, f"{target}.Fast does not import ({exc})"
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        return None, f"{target}.Fast is not an nn.Module"
    return cls, ""


def restructure_a1_to_a2(agent: nn.Module, policy_cls: type[nn.Module]) -> nn.Module:
    """A new A2 agent sharing the A1 agent's tensors and submodules; ``agent`` is left as it was."""
    cls = type(agent)
    state = dict(agent.__dict__)
    modules: OrderedDict[str, nn.Module | None] = OrderedDict(state["_modules"])
    components = modules.pop("components")

    policy = policy_cls.__new__(policy_cls)
    nn.Module.__init__(policy)
    policy.add_module("components", components)
    for name in POLICY_ATTRIBUTES:
        if name in state and name not in ("_modules", "_parameters", "_buffers"):
            object.__setattr__(policy, name, state[name])
    policy.train(agent.training)

    new = cls.__new__(cls)
    state["_modules"] = OrderedDict([("policy", policy), *modules.items()])
    state["_parameters"] = OrderedDict(state["_parameters"])
    state["_buffers"] = OrderedDict(state["_buffers"])
    new.__dict__.update(state)
    return new
