"""Legacy ``trainer_state.pt`` dicts (T0..T7, B3/N; spec §8) -> the simple_ckpt trainer state.

The new file holds ``optimizer_state``, ``epoch`` and ``agent_step`` (the names
``SimpleCheckpointManager.save_trainer_state`` writes) and keeps every other legacy key under its own
name, so nothing the trainer saved is lost. Non-tensor values are made plain (numpy scalars become Python
numbers) so the result opens with ``torch.load(weights_only=True)``. T4's extras nested under
``extra_args`` are flattened beside the other keys, as T5+ wrote them. A ``migration_source`` key records
the original file and what was renamed, flattened or left out.

`trainer_facts` extracts what the metadata repair needs: which checkpoint the state was saved with
(``policy_path`` / ``epoch``), its agent_step and the stopwatch totals.
"""

from __future__ import annotations

import os
from typing import Any

from migrate.metadata import TrainerFacts, Unplain, to_plain

OPTIMIZER_KEYS = ("optimizer_state", "optimizer_state_dict", "optimizer")
MIGRATION_SOURCE_KEY = "migration_source"


class TrainerStateError(ValueError):
    """The dict cannot be a trainer state (no optimizer state and no epoch)."""


def convert_trainer_state(
    state: dict[str, Any], *, source_path: str, sha256: str, generation: str
) -> tuple[dict[str, Any], list[str]]:
    """The new trainer-state dict and warnings. Tensors are kept as they are (the reader loads on CPU)."""
    if not isinstance(state, dict):
        raise TrainerStateError(f"a trainer state is a dict, found {type(state).__name__}")
    warnings: list[str] = []
    found = [k for k in OPTIMIZER_KEYS if k in state]
    if not found and "epoch" not in state:
        raise TrainerStateError("no optimizer state and no epoch: not a trainer state")
    provenance: dict[str, Any] = {"path": source_path, "sha256": sha256, "generation": generation}
    out: dict[str, Any] = {}
    renamed: dict[str, str] = {}
    if found:
        key = found[0]
        out["optimizer_state"] = state[key]
        if key != "optimizer_state":
            renamed[key] = "optimizer_state"
        for extra_key in found[1:]:
            warnings.append(
                f"several optimizer keys ({', '.join(found)}); {key} used, {extra_key} kept as is"
            )
    else:
        warnings.append("no optimizer state in the legacy trainer state")
    for name in ("epoch", "agent_step"):
        if name in state:
            out[name] = _plain_or_keep(state[name])
    if "epoch" not in out and "update" in state:  # T0 before 2024-09-05
        out["epoch"] = _plain_or_keep(state["update"])
        renamed["update"] = "epoch"
    unreadable: dict[str, str] = {}
    flattened: list[str] = []
    for key, value in state.items():
        if key in out or key in renamed or key in found:
            continue
        if key == "extra_args" and isinstance(value, dict):  # T4 nested its extras (spec §8, §11.2)
            for sub_key, sub_value in value.items():
                name = str(sub_key)
                if name in state or name in out:
                    warnings.append(f"extra_args.{name} collides with a top-level key; kept nested")
                    continue
                _put(out, name, sub_value, unreadable)
                flattened.append(name)
            if len(flattened) < len(value):
                _put(
                    out, "extra_args", {k: v for k, v in value.items() if str(k) not in flattened}, unreadable
                )
            continue
        _put(out, str(key), value, unreadable)
    if renamed:
        provenance["renamed"] = renamed
    if flattened:
        provenance["flattened_from_extra_args"] = flattened
    if unreadable:
        provenance["unreadable"] = unreadable
        warnings.extend(
            f"trainer state key {k!r} has no plain form and was left out: {v}" for k, v in unreadable.items()
        )
    out[MIGRATION_SOURCE_KEY] = provenance
    return out, warnings


def _put(out: dict[str, Any], key: str, value: Any, unreadable: dict[str, str]) -> None:
    if _holds_tensors(value):
        out[key] = value
        return
    try:
        out[key] = to_plain(value)
    except Unplain as exc:
        unreadable[key] = str(exc)


def _plain_or_keep(value: Any) -> Any:
    try:
        return to_plain(value)
    except Unplain:
        return value


def _holds_tensors(value: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if type(value).__module__.startswith("torch"):
        return True
    if isinstance(value, dict):
        return any(_holds_tensors(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_tensors(v, depth + 1) for v in value[:64])
    return False


def trainer_facts(state: dict[str, Any], source_path: str) -> TrainerFacts:
    """What a legacy trainer state says about the checkpoint it was saved with."""
    policy_file = None
    policy_path = state.get("policy_path") or state.get("model_path") or state.get("model_name")
    if isinstance(policy_path, str) and policy_path:
        policy_file = os.path.basename(policy_path.removeprefix("file://").rstrip("/")) or None
    total_time = total_train_time = None
    stopwatch = state.get("stopwatch_state")
    if isinstance(stopwatch, dict) and isinstance(stopwatch.get("timers"), dict):
        timers = stopwatch["timers"]
        total_time = _elapsed(timers.get("global"))
        rollout, train = _elapsed(timers.get("_rollout")), _elapsed(timers.get("_train"))
        if rollout is not None or train is not None:
            total_train_time = (rollout or 0.0) + (train or 0.0)
    return TrainerFacts(
        source=source_path,
        epoch=_int_or_none(state.get("epoch", state.get("update"))),
        agent_step=_int_or_none(state.get("agent_step")),
        policy_file=policy_file,
        total_time=total_time,
        total_train_time=total_train_time,
    )


def _elapsed(timer: Any) -> float | None:
    if isinstance(timer, dict):
        value = timer.get("total_elapsed")
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        plain = to_plain(value)
    except Unplain:
        return None
    if isinstance(plain, bool):
        return None
    if isinstance(plain, int):
        return plain
    if isinstance(plain, float) and plain.is_integer():
        return int(plain)
    return None
