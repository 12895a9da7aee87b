"""Legacy policy metadata -> the plain YAML metadata of a migrated checkpoint.

Three steps, each a function:

* `to_plain` turns whatever the reader restored (numpy scalars, OmegaConf-shaped stand-ins, tuples,
  tensors) into values ``yaml.safe_dump`` writes and ``yaml.safe_load`` reads back. NaN stays NaN. A value
  that has no plain form is *not* replaced by a guess: `to_plain` reports it and the caller records it
  under ``source.unreadable``.
* `classify` names the metadata key set (M1..M9 of the formats spec, §5) from the keys present.
* `repair` fills ``epoch``, ``agent_step``, ``score``, ``avg_reward``, ``total_time`` and ``run`` from
  the most reliable place that has them (spec §11): the legacy value itself, then the file name, the
  run's trainer state when it describes this very checkpoint, the run directory. Known-wrong legacy
  values (the empty-metadata bug of L9, the M7/M8 ``train_time = 0.0``) are replaced and the original
  value kept in the record; nothing is replaced silently. Every recovered field says where it came from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

# The four keys PolicyMetadata always carried (its constructor defaults).
REQUIRED_DEFAULTS: dict[str, Any] = {"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}

# Fields every migrated YAML tries to have (spec: "filled in").
FILLED_FIELDS = ("epoch", "agent_step", "score", "avg_reward", "total_time", "run")


class Unplain(Exception):
    """A value with no plain YAML form."""


def to_plain(value: Any, *, _depth: int = 0) -> Any:
    """A YAML-safe copy of ``value``; raises `Unplain` naming the offending type."""
    if _depth > 64:
        raise Unplain("nested too deeply (a reference cycle?)")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unplain("bytes that are not UTF-8") from exc
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        return _numpy_to_plain(value, _depth)
    if module.startswith("torch") and hasattr(value, "tolist") and hasattr(value, "dtype"):
        if value.numel() > 4096:
            raise Unplain(f"tensor of {value.numel()} elements")
        return to_plain(value.detach().cpu().tolist(), _depth=_depth + 1)
    if isinstance(value, dict):
        return {_plain_key(k): to_plain(v, _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, _depth=_depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [to_plain(v, _depth=_depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    # OmegaConf-shaped stand-ins (spec §6.5): containers keep `_content`, leaf nodes `_val`.
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict):
        if "_content" in state:
            return to_plain(state["_content"], _depth=_depth + 1)
        if "_val" in state:
            return to_plain(state["_val"], _depth=_depth + 1)
    raise Unplain(f"{module}.{type(value).__qualname__}")


def _plain_key(key: Any) -> Any:
    if isinstance(key, (str, int, bool)) or key is None:
        return key
    module = type(key).__module__ or ""
    if module.startswith("numpy") and hasattr(key, "item"):
        return key.item()
    if isinstance(key, float):
        return key
    return str(key)


def _numpy_to_plain(value: Any, depth: int) -> Any:
    if hasattr(value, "ndim") and hasattr(value, "tolist"):  # ndarray and numpy scalars alike
        if getattr(value, "size", 1) > 4096:
            raise Unplain(f"numpy array of {value.size} elements")
        return to_plain(value.tolist(), _depth=depth + 1)
    if hasattr(value, "item"):
        return to_plain(value.item(), _depth=depth + 1)
    if type(value).__name__.startswith("dtype"):
        return str(value)
    raise Unplain(f"{type(value).__module__}.{type(value).__qualname__}")


def plain_mapping(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every key of ``raw`` in plain form, and ``{key: why}`` for those that have none (left out)."""
    plain: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    for key, value in raw.items():
        name = str(_plain_key(key))
        try:
            plain[name] = to_plain(value)
        except Unplain as exc:
            unreadable[name] = f"{exc}: {_short_repr(value)}"
    return plain, unreadable


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a stand-in's repr may itself fail
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= 200 else text[:197] + "..."


def is_empty_defaults(metadata: dict[str, Any]) -> bool:
    """Only the four PolicyMetadata defaults, all zero (the M9 bug, or a creation record)."""
    if set(metadata) != set(REQUIRED_DEFAULTS):
        return False
    return all(_is_number(v) and float(v) == 0.0 for v in metadata.values())


def classify(metadata: dict[str, Any], file_epoch: int | None = None) -> str:
    """The metadata key set (spec §5) a legacy record's keys belong to.

    ``M9`` is the empty-metadata bug: four zero defaults in a file that is not the epoch-0 creation
    record; the creation record itself is ``M0-init``.
    """
    keys = set(metadata)
    if not keys:
        return "none"
    if is_empty_defaults(metadata):
        return "M0-init" if not file_epoch else "M9"
    if {"agent_step", "epoch", "initial"} <= keys or {"stats", "final"} <= keys:
        return "library-api"
    if "total_train_time" in keys or "total_time" in keys or "initial_pr" in keys:
        # M7 always wrote evals/avg_reward/score; M8 only when a local evaluation produced them.
        return "M7" if {"evals", "avg_reward", "score"} <= keys else "M8"
    if "eval_scores" in keys:
        scores = metadata.get("eval_scores")
        names = list(scores) if isinstance(scores, dict) else []
        if names and all(str(n).endswith("_score") for n in names):
            expected_m4 = {"navigation_score", "object_use_score", "against_npc_score", "memory_score"}
            return "M4" if expected_m4 & set(names) and len(names) <= 5 else "M5"
        return "M6"
    if "original_feature_mapping" in keys:
        return "M6"
    if "score" in keys:
        return "M3"
    if "train_time" in keys and "action_names" in keys:
        return "M2"
    if "action_names" in keys or "initial_uri" in keys:
        return "M1"
    return "unknown"


@dataclass(frozen=True)
class TrainerFacts:
    """What a run's legacy trainer state says about the one checkpoint it describes (spec §8)."""

    source: str  # relative path of the trainer state, for provenance
    epoch: int | None
    agent_step: int | None
    policy_file: str | None  # basename of policy_path, if any
    total_time: float | None  # stopwatch 'global'
    total_train_time: float | None  # stopwatch '_rollout' + '_train'

    def describes(self, file_name: str, epoch: int | None) -> bool:
        """True when this trainer state was written together with that checkpoint file."""
        if self.policy_file is not None:
            return self.policy_file == file_name
        return epoch is not None and self.epoch == epoch


@dataclass
class Repaired:
    """Metadata ready for the YAML, and the provenance of what was changed."""

    metadata: dict[str, Any]
    metadata_set: str
    recovered: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {value, from, was?}
    unrecovered: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FileFacts:
    """What the file's own name and location say."""

    file_name: str
    epoch_from_name: int | None
    run_from_dir: str
    # Fields parsed from a URI-style name (B3/N): agent_step, total_time, score.
    name_fields: dict[str, Any] = field(default_factory=dict)


def repair(
    metadata: dict[str, Any],
    facts: FileFacts,
    trainer: TrainerFacts | None,
    record: dict[str, Any] | None = None,
) -> Repaired:
    """Fill and correct ``metadata`` (already plain); see the module docstring for the rules."""
    md = dict(metadata)
    file_epoch = facts.epoch_from_name
    epoch_origin = "file name"
    if file_epoch is None and (_as_int(md.get("epoch")) is None or is_empty_defaults(md)):
        from_record = _epoch_from_record(record or {})
        if from_record is not None:
            file_epoch, epoch_origin = from_record
    result = Repaired(metadata=md, metadata_set=classify(metadata, file_epoch))

    def recover(name: str, value: Any, origin: str) -> None:
        entry: dict[str, Any] = {"value": value, "from": origin}
        if name in md:
            entry["was"] = md[name]
        md[name] = value
        result.recovered[name] = entry

    empty_bug = result.metadata_set == "M9"
    if empty_bug:
        result.warnings.append(
            "metadata holds only the four zero defaults (empty-metadata bug, spec §11.1); recovering"
        )

    # epoch: the file name is authoritative for the layout; a record epoch that disagrees is kept as 'was'.
    epoch = _as_int(md.get("epoch"))
    if file_epoch is not None and epoch != file_epoch:
        if "epoch" in md and not empty_bug and epoch is not None:
            result.warnings.append(f"metadata epoch {epoch} differs from the {epoch_origin}'s {file_epoch}")
        recover("epoch", file_epoch, epoch_origin)
    elif file_epoch is None and epoch is None:
        result.unrecovered.append("epoch")

    epoch = _as_int(md.get("epoch"))
    trainer_matches = trainer is not None and trainer.describes(facts.file_name, epoch)

    # agent_step
    if "agent_step" in facts.name_fields and _as_int(md.get("agent_step")) in (None, 0):
        recover("agent_step", facts.name_fields["agent_step"], "file name")
    elif (empty_bug or "agent_step" not in md) and trainer_matches and trainer.agent_step is not None:
        recover("agent_step", trainer.agent_step, f"trainer state {trainer.source}")
    elif empty_bug or "agent_step" not in md:
        result.unrecovered.append("agent_step")
        if empty_bug:
            result.warnings.append(
                "agent_step unknown (no trainer state for this epoch): the legacy 0 is kept"
            )

    # times
    if empty_bug or "total_time" not in md:
        if "total_time" in facts.name_fields:
            recover("total_time", facts.name_fields["total_time"], "file name")
        elif trainer_matches and trainer.total_time is not None:
            recover("total_time", trainer.total_time, f"trainer state {trainer.source} stopwatch 'global'")
        else:
            result.unrecovered.append("total_time")
    if (empty_bug or "total_train_time" in md) and "total_train_time" not in md:
        if trainer_matches and trainer.total_train_time is not None:
            recover(
                "total_train_time",
                trainer.total_train_time,
                f"trainer state {trainer.source} stopwatch '_rollout' + '_train'",
            )
    if empty_bug and "total_train_time" not in md and not trainer_matches:
        result.unrecovered.append("total_train_time")

    # M7/M8 wrote PolicyMetadata's default train_time = 0.0; the real value is total_train_time (§11.2).
    if (
        _is_number(md.get("train_time"))
        and float(md["train_time"]) == 0.0
        and _is_number(md.get("total_train_time"))
        and float(md["total_train_time"]) != 0.0
    ):
        recover(
            "train_time",
            md["total_train_time"],
            "total_train_time (PolicyMetadata's default 0.0, spec §11.2)",
        )

    # score / avg_reward
    evals = md.get("evals") if isinstance(md.get("evals"), dict) else None
    if "score" not in md:
        if "score" in facts.name_fields:
            recover("score", facts.name_fields["score"], "file name")
        elif evals is not None and _is_number(evals.get("avg_simulation_score")):
            recover("score", evals["avg_simulation_score"], "evals.avg_simulation_score")
        else:
            result.unrecovered.append("score")
    if "avg_reward" not in md:
        if evals is not None and _is_number(evals.get("avg_category_score")):
            recover("avg_reward", evals["avg_category_score"], "evals.avg_category_score")
        else:
            result.unrecovered.append("avg_reward")

    # run: the legacy value is the real run name; otherwise the directory the file came from.
    if not isinstance(md.get("run"), str) or not md.get("run"):
        recover("run", facts.run_from_dir, "run directory name")
    elif md["run"] != facts.run_from_dir:
        result.warnings.append(
            f"metadata run {md['run']!r} differs from the run directory {facts.run_from_dir!r}; kept as source.metadata_run"
        )

    if empty_bug and "generation" in md:
        result.recovered.setdefault(
            "generation",
            {"value": md["generation"], "from": "kept: constant 0 since 2025-08-05 (spec §11.1)"},
        )
    return result


def _epoch_from_record(record: dict[str, Any]) -> tuple[int, str] | None:
    """The epoch named by a record's ``run_name``/``name``/``uri`` (all end in ``model_NNNN.pt``)."""
    pattern = re.compile(r"model_(\d+)\.pt$")
    for attr in ("run_name", "name", "uri", "_local_path"):
        value = record.get(attr)
        if isinstance(value, str):
            match = pattern.search(value)
            if match:
                return int(match.group(1)), f"record {attr}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None
