"""Reload what a migration wrote and prove every source tensor survived, bit for bit.

A conversion only counts once this passes. The written model is read back the way a user will read it:
a weights-only payload with ``torch.load(weights_only=True)``; a module checkpoint with
``torch.load(weights_only=False)`` (the file was just written by this process from classes that import
in this environment). Every parameter and buffer of the source state_dict must then appear under its
(possibly renamed, A1 -> A2) key with the same dtype, shape and bytes. Bytes are compared as raw
storage, so NaN payloads and negative zeros count too. Extra tensors in the output are allowed (a
restructured agent may share a tensor under two names); missing or different ones are errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


class VerificationError(Exception):
    """What was written does not hold the source's tensors."""


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same dtype, shape and bytes (NaN-safe, sign-of-zero-safe)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.numel() == 0:
        return True
    import numpy as np

    return bool(np.array_equal(_as_bytes(a).numpy(), _as_bytes(b).numpy()))


def _as_bytes(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.is_quantized:
        t = t.int_repr()
    return t.contiguous().reshape(-1).view(torch.uint8)


def compare_state_dicts(
    source: Mapping[str, Any], written: Mapping[str, Any], key_map: Callable[[str], str] | None = None
) -> list[str]:
    """Problems found (empty when every source tensor is in ``written`` bit-identical)."""
    problems: list[str] = []
    for key, tensor in source.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        target = key_map(key) if key_map else key
        other = written.get(target)
        if other is None:
            problems.append(
                f"tensor {key!r} is missing from the output" + (f" (as {target!r})" if target != key else "")
            )
            continue
        if not isinstance(other, torch.Tensor):
            problems.append(f"{target!r} is a {type(other).__name__} in the output, not a tensor")
            continue
        if other.dtype != tensor.dtype:
            problems.append(f"{target!r}: dtype {other.dtype} in the output, {tensor.dtype} in the source")
        elif other.shape != tensor.shape:
            problems.append(
                f"{target!r}: shape {tuple(other.shape)} in the output, {tuple(tensor.shape)} in the source"
            )
        elif not same_bits(tensor, other):
            problems.append(f"{target!r}: values differ from the source")
    return problems


def load_written_state_dict(path: Path, mode: str) -> dict[str, Any]:
    """The state_dict of a written model file, loaded as a user would load it."""
    from simple_ckpt.payload import is_weights_only_payload

    if mode == "weights-only":
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        if not is_weights_only_payload(payload):
            raise VerificationError(f"{path}: not a weights-only payload")
        return dict(payload["state_dict"])
    agent = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    state_dict = getattr(agent, "state_dict", None)
    if state_dict is None:
        raise VerificationError(f"{path}: loads as {type(agent).__name__}, not an nn.Module")
    return dict(state_dict(keep_vars=False))


@dataclass(frozen=True)
class TensorDigest:
    """What bit-identity is checked against: dtype, shape and the sha256 of the raw bytes."""

    dtype: str
    shape: tuple[int, ...]
    sha256: str


def tensor_digest(t: torch.Tensor) -> TensorDigest:
    raw = _as_bytes(t)
    digest = (
        hashlib.sha256(memoryview(raw.numpy())).hexdigest() if raw.numel() else hashlib.sha256().hexdigest()
    )
    return TensorDigest(str(t.dtype), tuple(t.shape), digest)


def digest_state_dict(
    source: Mapping[str, Any], key_map: Callable[[str], str] | None = None
) -> dict[str, TensorDigest]:
    """Digests of every source tensor, keyed by where it must reappear in the output.

    Taking digests lets the caller drop the source tensors before the written file is reloaded, so a
    migration never holds two full copies of a checkpoint in memory.
    """
    tensors = {(key_map(k) if key_map else k): v for k, v in source.items() if isinstance(v, torch.Tensor)}
    return digest_tensors(tensors)


# hashlib releases the GIL on large buffers: above this many bytes two threads hash side by side.
_THREADED_DIGEST_BYTES = 8 << 20


def digest_tensors(tensors: Mapping[str, torch.Tensor]) -> dict[str, TensorDigest]:
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    if total < _THREADED_DIGEST_BYTES or len(tensors) < 2:
        return {k: tensor_digest(t) for k, t in tensors.items()}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="migrate-digest") as pool:
        digests = dict(zip(tensors, pool.map(tensor_digest, tensors.values()), strict=True))
    return digests


def verify_digests(path: Path, mode: str, expected: Mapping[str, TensorDigest]) -> int:
    """Raise `VerificationError` unless every expected tensor is in ``path``, bit-identical."""
    try:
        written = load_written_state_dict(path, mode)
    except VerificationError:
        raise
    except Exception as exc:  # any failure to reload what we wrote is a failed verification
        raise VerificationError(f"{path}: cannot be reloaded: {type(exc).__name__}: {exc}") from exc
    problems: list[str] = []
    present = {k: v for k, v in written.items() if k in expected and isinstance(v, torch.Tensor)}
    digests = digest_tensors(present)
    for key, want in expected.items():
        got = digests.get(key)
        if got is None:
            problems.append(f"tensor {key!r} is missing from the output")
            continue
        if got.dtype != want.dtype or got.shape != want.shape:
            problems.append(
                f"{key!r}: {got.dtype}{list(got.shape)} in the output, {want.dtype}{list(want.shape)} in the source"
            )
        elif got.sha256 != want.sha256:
            problems.append(f"{key!r}: values differ from the source")
    del written, present
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise VerificationError(f"{path}: " + "; ".join(problems[:3]) + more)
    return len(expected)
