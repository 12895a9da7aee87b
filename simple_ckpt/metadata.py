"""Checkpoint metadata as plain YAML: conversion on the way in, safe parsing on the way out.

Metadata comes from training code full of numpy scalars, 0-d tensors and tuples. Before anything is
written it is converted to plain YAML types (str, int, float, bool, None, list, dict, date/datetime) so
that ``yaml.safe_load`` reads every sidecar back; a value that has no faithful plain form (an object, a
multi-element tensor, a set) is a `CheckpointError` naming its key path, raised before any file is
touched.

A sidecar has the user's metadata at the top level plus one reserved key, ``simple_ckpt``, the integrity
block the manager writes (format version, model file, size, hash). `split_integrity` separates the two.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping
from typing import Any

import yaml

from simple_ckpt.errors import CheckpointError

INTEGRITY_KEY = "simple_ckpt"
FORMAT_VERSION = 1

try:
    _SafeLoader: type = yaml.CSafeLoader
    _SafeDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _SafeLoader = yaml.SafeLoader
    _SafeDumper = yaml.SafeDumper


def to_plain(value: Any, where: str = "metadata") -> Any:
    """``value`` converted to plain YAML types, or a CheckpointError naming ``where``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)  # IntEnum and friends become plain ints
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            plain_key = to_plain(key, f"{where} key {key!r}")
            if isinstance(plain_key, (list, dict)):
                raise CheckpointError(f"{where}: key {key!r} is not a scalar and cannot be a YAML key")
            out[plain_key] = to_plain(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    converted = _array_scalar(value)
    if converted is not _NOT_SCALAR:
        return to_plain(converted, where)
    raise CheckpointError(
        f"{where}: a value of type {type(value).__module__}.{type(value).__qualname__} cannot be stored in "
        "YAML metadata (use str, int, float, bool, None, lists, dicts, numpy scalars or 0-d tensors)"
    )


_NOT_SCALAR = object()


def _array_scalar(value: Any) -> Any:
    """numpy scalars / 0-d arrays / 0-d (or 1-element) tensors -> Python scalar; else _NOT_SCALAR."""
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            if value.ndim == 0:
                return value.item()
            raise CheckpointError(
                f"numpy array of shape {value.shape} is not a scalar; store it in the model"
            )
    if module.startswith("torch"):
        import torch

        if isinstance(value, torch.Tensor):
            if value.dim() == 0:
                return value.item()
            raise CheckpointError(
                f"tensor of shape {tuple(value.shape)} is not a scalar; store it in the model"
            )
    return _NOT_SCALAR


def plain_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Convert user metadata; errors name the key path (e.g. ``metadata.evals.score``)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise CheckpointError(f"metadata must be a mapping, got {type(metadata).__name__}")
    try:
        return to_plain(metadata)
    except CheckpointError as exc:
        raise CheckpointError(f"invalid checkpoint metadata: {exc}") from None


def dump_yaml(document: Mapping[str, Any]) -> str:
    """Block-style YAML, keys in insertion order, readable by yaml.safe_load."""
    return yaml.dump(
        dict(document), Dumper=_SafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def load_yaml_text(text: str | bytes, source: str) -> dict[str, Any]:
    """Parse a sidecar with the safe loader; a CheckpointError naming ``source`` unless it is a mapping."""
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - the safe (C) loader
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise CheckpointError(f"{source}: not valid YAML: {detail}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{source}: YAML is a {type(data).__name__}, expected a mapping")
    return data


def split_integrity(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(user metadata, integrity block or None) of a parsed sidecar."""
    user = {k: v for k, v in document.items() if k != INTEGRITY_KEY}
    block = document.get(INTEGRITY_KEY)
    return user, block if isinstance(block, dict) else None


def get_dotted(metadata: Mapping[str, Any], dotted: str) -> Any:
    """``metadata["evals"]["score"]`` for ``"evals.score"`` (a key containing dots wins); None if absent."""
    if dotted in metadata:
        return metadata[dotted]
    node: Any = metadata
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def metric_value(metadata: Mapping[str, Any], dotted: str) -> float | None:
    """A metric as a finite-or-infinite float; None when absent, not a number, or NaN."""
    value = get_dotted(metadata, dotted)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return None if math.isnan(number) else number
