"""Reader for B1 checkpoints: `model_NNNN.safetensors` (weights) + `model_NNNN.yaml` (metadata sidecar).

The safetensors format is parsed by hand (8-byte little-endian header length, JSON header, raw bytes);
every entry's offsets and byte count are checked against the file before any tensor is built. The
sidecar is read with a SafeLoader that maps the one custom tag writers used, `!MultiDiscrete`, to plain
data (`{"__tag__": "MultiDiscrete", ...}`); any other tag is an error.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import torch
import yaml

from migrate.errors import CorruptFile
from migrate.model import LegacyPolicy
from migrate.readers.common import check_expansion

MAX_HEADER = 100 * 1024 * 1024
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}

_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SidecarLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """yaml safe loading plus the `!MultiDiscrete` tag, as plain data."""


def _multi_discrete(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        value = {"nvec": loader.construct_sequence(node, deep=True)}
    else:
        value = {"value": loader.construct_scalar(node)}
    return {"__tag__": "MultiDiscrete", **value}


SidecarLoader.add_constructor("!MultiDiscrete", _multi_discrete)


def looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 0 < length <= min(size - 8, MAX_HEADER) and head[8:9] == b"{"


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CorruptFile(path, "safetensors file shorter than its 8-byte header length")
        (length,) = struct.unpack("<Q", head)
        if length > min(size - 8, MAX_HEADER):
            raise CorruptFile(path, f"safetensors header length {length} exceeds the file")
        try:
            header = json.loads(fh.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptFile(path, f"safetensors header is not JSON ({exc})") from exc
        except RecursionError as exc:
            raise CorruptFile(path, "safetensors header JSON is nested too deeply") from exc
        data_size = size - 8 - length
        tensors: dict[str, torch.Tensor] = {}
        if not isinstance(header, dict):
            raise CorruptFile(path, "safetensors header is not a JSON object")
        for key, entry in header.items():
            if key == "__metadata__":
                continue
            try:
                dtype = DTYPES[entry["dtype"]]
                shape = [int(d) for d in entry["shape"]]
                begin, end = (int(x) for x in entry["data_offsets"])
            except (KeyError, TypeError, ValueError) as exc:
                raise CorruptFile(path, f"safetensors entry {key}: bad dtype/shape/offsets ({exc})") from exc
            numel = 1
            for dim in shape:
                if dim < 0:
                    raise CorruptFile(path, f"safetensors entry {key}: negative dimension")
                numel *= dim
            needed = numel * torch._utils._element_size(dtype)
            if not (0 <= begin <= end <= data_size) or end - begin != needed:
                raise CorruptFile(
                    path, f"safetensors entry {key}: offsets {begin}..{end} do not hold {needed} bytes"
                )
            fh.seek(8 + length + begin)
            raw = bytearray(fh.read(needed))
            tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            tensors[key] = tensor.reshape(shape)
    return tensors


def read_sidecar(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SidecarLoader)  # noqa: S506 - safe loader subclass
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorruptFile(path, f"YAML sidecar cannot be read safely ({str(exc).splitlines()[0]})") from exc
    except RecursionError as exc:
        raise CorruptFile(path, "YAML sidecar is nested too deeply") from exc
    check_expansion(data, path, "the YAML sidecar")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CorruptFile(path, f"YAML sidecar is a {type(data).__name__}, not a mapping")
    if not isinstance(data.get("metadata", {}), (dict, type(None))):
        raise CorruptFile(
            path, f"YAML sidecar 'metadata' is a {type(data['metadata']).__name__}, not a mapping"
        )
    return data


def read_pair(path: Path, sha256: str) -> LegacyPolicy:
    tensors = read_safetensors(path)
    sidecar_path = path.with_suffix(".yaml")
    sidecar = read_sidecar(sidecar_path)
    warnings = []
    if sidecar is None:
        warnings.append(f"no YAML sidecar {sidecar_path.name}: weights only, no metadata")
        sidecar = {}
    metadata = sidecar.get("metadata") or {}
    keys = list(tensors)
    layout = (
        "A2"
        if keys and all(k.startswith("policy.") for k in keys)
        else "A1"
        if keys and all(k.startswith("components.") for k in keys)
        else None
    )
    record = {k: v for k, v in sidecar.items() if k != "metadata"}
    if sidecar:
        record["sidecar"] = str(sidecar_path)
    return LegacyPolicy(
        path=path,
        sha256=sha256,
        generation="B1",
        container="safetensors",
        agent=None,
        agent_class=None,
        agent_layout=layout,
        agent_classes_real=False,
        state_dict=tensors,
        metadata=dict(metadata) if isinstance(metadata, dict) else {"value": metadata},
        record=record,
        warnings=warnings,
    )
