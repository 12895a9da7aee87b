"""Turn an unpickled top-level object into a `LegacyPolicy` / `LegacyTrainerState` (spec §17 step 3-4).

Records are recognised by their stand-in class, agents by layout (A1 `components`, A2 `policy`, puffer and
pytorch wrappers), trainer states by their key set (§8). Anything else raises NotLegacyCheckpoint with
the reason: a bare state_dict has nothing to date it, and is never guessed at.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from migrate.errors import CorruptFile, LegacyReadError, NotLegacyCheckpoint
from migrate.model import GlobalUse, LegacyPolicy, LegacyTrainerState
from migrate.names import parse_uri_name
from migrate.readers.common import check_expansion
from migrate.standins import PolicyRecord, legacy_class_path, plain_value
from migrate.unpickler import GlobalPolicy

_DEFAULT_KEYS = {"agent_step", "epoch", "generation", "train_time"}
_PUFFER_PREFIXES = ("rl.", "rl_framework.", "metta.rl.pufferlib.", "pufferlib.")
_PYTORCH_PREFIXES = (
    "metta.rl.policy.",
    "metta.rl.puffer_policy.",
    "metta.agent.pytorch.",
    "metta.agent.external.",
)


def agent_layout(agent: Any) -> str | None:
    if not isinstance(agent, nn.Module):
        return None
    cls = legacy_class_path(agent)
    modules = agent.__dict__.get("_modules", {})
    if cls.endswith(".MettaAgent"):
        if "components" in modules:
            return "A1"
        if "policy" in modules:
            return "A2"
        return None
    if cls.startswith(_PUFFER_PREFIXES):
        return "puffer"
    if cls.startswith(_PYTORCH_PREFIXES):
        return "pytorch"
    return None


def _file_epoch(path: Path) -> int | None:
    name = path.name
    if name.startswith("model_") and name.endswith(".pt") and name[6:-3].isdigit():
        return int(name[6:-3])
    parsed = parse_uri_name(name)
    return parsed.epoch if parsed else None


def _only_defaults(metadata: dict[str, Any]) -> bool:
    return set(metadata) == _DEFAULT_KEYS and not any(metadata.values())


def _record_generation(
    container: str, state: dict[str, Any], layout: str | None, md: dict[str, Any], path: Path
) -> tuple[str, list[str]]:
    warnings: list[str] = []
    if container.endswith("policy_store.PolicyRecord") and container.startswith("agent."):
        if state.get("_policy_store") is not None:
            return "L1", warnings
        return ("L2" if layout == "puffer" else "L3"), warnings
    if container == "metta.agent.policy_store.PolicyRecord":
        return "L4", warnings
    # PolicyRecord v2 (L6-L9); L5 records come from torch.package archives and are dated by their reader.
    if layout == "A2":
        epoch = _file_epoch(path)
        if _only_defaults(md) and epoch:
            return "L9", warnings
        if _only_defaults(md):
            warnings.append("creation-time metadata: L8 and L9 look the same here")
        return "L8", warnings
    if {"evals", "total_train_time", "initial_pr", "total_time"} & set(md):
        return "L7", warnings
    if _only_defaults(md):
        warnings.append("creation-time metadata: L6 and L7 look the same here")
    return "L6", warnings


def drop_caches(agent: Any, policy: GlobalPolicy) -> list[str]:
    """Remove training-time caches listed in legacy.yaml `drop_attributes`; returns what was dropped."""
    dropped: list[str] = []
    if not isinstance(agent, nn.Module):
        return dropped
    for name, module in agent.named_modules(remove_duplicate=True):
        attrs = policy.drop_attributes.get(legacy_class_path(module), ())
        for attr in attrs:
            if attr in module.__dict__:
                del module.__dict__[attr]
                dropped.append(f"{name}.{attr}" if name else attr)
    return dropped


def _state_dict(agent: Any) -> dict[str, torch.Tensor]:
    if not isinstance(agent, nn.Module):
        return {}
    return dict(agent.state_dict())


def _metadata_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    plain = plain_value(dict(value) if isinstance(value, dict) else value)
    return plain if isinstance(plain, dict) else {"value": plain}


def tensor_counts(obj: Any) -> tuple[int, int]:
    """Tensors reachable from `obj`: (distinct objects, distinct contents by dtype/shape/bytes)."""
    seen: set[int] = set()
    tensors: dict[int, torch.Tensor] = {}
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            tensors[id(item)] = item
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            stack.extend(vars(item).values())
    contents = set()
    for tensor in tensors.values():
        data = tensor.detach().contiguous().view(-1).view(torch.uint8) if tensor.numel() else tensor
        contents.add(
            (str(tensor.dtype), tuple(tensor.shape), hashlib.sha256(data.numpy().tobytes()).hexdigest())
        )
    return len(tensors), len(contents)


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def trainer_generation(state: dict[str, Any]) -> tuple[str, list[str]]:
    """T0..T7 or N from the key set of a trainer_state dict (spec §8)."""
    keys = set(state)
    if "optimizer_state_dict" not in keys and ({"optimizer", "optimizer_state"} & keys):
        return "N", []
    if {"global_step", "model_name", "update", "exp_id"} & keys:
        return "T0", []
    if "model_path" in keys:
        return "T1", []
    if "extra_args" in keys:
        return "T4", []
    if "total_agent_step" in keys:
        return ("T6" if "stopwatch_state" in keys else "T5"), []
    if "stopwatch_state" in keys:
        return "T7", []
    if "average_reward" in keys:
        return "T3", []
    return "T2", ["key set of T2 (also T3 written without average_reward)"]


def interpret(
    path: Path,
    top: Any,
    sha256: str,
    uses: list[GlobalUse],
    policy: GlobalPolicy,
    container_override: str | None = None,
    generation_override: str | None = None,
    count_tensors: bool = False,
) -> LegacyPolicy | LegacyTrainerState:
    """Classify the top-level object of a legacy pickle and build the reader result.

    count_tensors: also attach `_tensor_counts` (all, distinct) taken before caches are dropped (inspect).
    """
    try:
        check_expansion(top, path, "the unpickled object")
        counts = tensor_counts(top) if count_tensors else None
        result = _interpret(path, top, sha256, uses, policy, container_override, generation_override)
    except LegacyReadError:
        raise
    except RecursionError as exc:
        raise CorruptFile(path, "object graph nested too deeply") from exc
    except (RuntimeError, TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
        reason = (
            f"unpickled objects are not shaped like a checkpoint ({type(exc).__name__}: {str(exc)[:200]})"
        )
        raise CorruptFile(path, reason) from exc
    if counts is not None:
        result._tensor_counts = counts  # type: ignore[union-attr]
    return result


def _interpret(
    path: Path,
    top: Any,
    sha256: str,
    uses: list[GlobalUse],
    policy: GlobalPolicy,
    container_override: str | None,
    generation_override: str | None,
) -> LegacyPolicy | LegacyTrainerState:
    stubbed = any(use.handling == "stub" for use in uses)
    if isinstance(top, PolicyRecord):
        container = legacy_class_path(top)
        state = dict(top.__dict__)
        agent = state.pop("_cached_policy", None)
        if agent is None:
            agent = state.pop("_policy", None)
        if agent is not None and not isinstance(agent, nn.Module):
            raise CorruptFile(path, f"the record's policy {legacy_class_path(agent)} is not an nn.Module")
        raw_md = state.pop("_metadata", None) if "_metadata" in state else state.pop("metadata", None)
        md = _metadata_dict(raw_md)
        layout = agent_layout(agent)
        if generation_override:
            generation, warnings = generation_override, []
        else:
            generation, warnings = _record_generation(container, state, layout, md, path)
        store = state.pop("_policy_store", None)
        record = {k: plain_value(v) for k, v in state.items() if not k.startswith("_stub")}
        record["policy_store"] = None if store is None else legacy_class_path(store)
        dropped = drop_caches(agent, policy)
        if agent is None:
            warnings.append("the record holds no policy object")
        return LegacyPolicy(
            path=path,
            sha256=sha256,
            generation=generation,
            container=container_override or container,
            agent=agent,
            agent_class=None if agent is None else legacy_class_path(agent),
            agent_layout=layout,
            agent_classes_real=agent is not None and not stubbed,
            state_dict=_state_dict(agent),
            metadata=md,
            record=record,
            globals=uses,
            dropped=dropped,
            warnings=warnings,
        )
    if isinstance(top, nn.Module):
        cls = legacy_class_path(top)
        layout = agent_layout(top)
        if not policy.is_stub_prefix(cls.rsplit(".", 1)[0]) or layout is None:
            raise NotLegacyCheckpoint(path, f"a plain {cls} module, not a legacy agent; nothing to date it")
        warnings: list[str] = []
        if layout == "puffer":
            generation = "L0"
        elif parse_uri_name(path.name) is not None:
            generation = "N"
        else:
            generation = "B3"
            warnings.append("raw agent without a post-refactor file name: pre-release (B3) naming assumed")
        extra = plain_value({k: top.__dict__[k] for k in ("uri", "name", "metadata") if k in top.__dict__})
        dropped = drop_caches(top, policy)
        return LegacyPolicy(
            path=path,
            sha256=sha256,
            generation=generation_override or generation,
            container=container_override or "raw-module",
            agent=top,
            agent_class=cls,
            agent_layout=layout,
            agent_classes_real=not stubbed,
            state_dict=_state_dict(top),
            metadata=_metadata_dict(extra.get("metadata")),
            record={k: v for k, v in extra.items() if k != "metadata"},
            globals=uses,
            dropped=dropped,
            warnings=warnings,
        )
    if isinstance(top, dict) and ({"optimizer_state_dict", "optimizer", "optimizer_state"} & set(top)):
        generation, warnings = trainer_generation(top)
        return LegacyTrainerState(path, sha256, generation, dict(top), uses, warnings)
    if _is_tensor_dict(top):
        raise NotLegacyCheckpoint(
            path, f"a bare state_dict of {len(top)} tensors ({type(top).__name__}) with nothing to date it"
        )
    if isinstance(top, dict):
        keys = ", ".join(sorted(map(str, top))[:6])
        raise NotLegacyCheckpoint(
            path, f"a plain dict (keys: {keys}) that is neither a policy record nor a trainer state"
        )
    raise NotLegacyCheckpoint(
        path, f"top-level object is a {type(top).__name__}, not a policy record or agent"
    )
