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


try:  # a declared dependency (simple_ckpt hashes with it too); sha256 keeps this working without it
    from blake3 import blake3 as _new_hash

    DIGEST_NAME = "blake3"
except ImportError:  # pragma: no cover
    _new_hash = hashlib.sha256
    DIGEST_NAME = "sha256"


@dataclass(frozen=True)
class TensorDigest:
    """What bit-identity is checked against: dtype, shape and a cryptographic digest of the raw bytes.

    The digest is blake3 (several times faster than sha256 here; it never leaves the process, so the
    algorithm is an implementation detail), sha256 without the blake3 package.
    """

    dtype: str
    shape: tuple[int, ...]
    digest: str


def tensor_digest(t: torch.Tensor) -> TensorDigest:
    raw = _as_bytes(t)
    digest = _new_hash(memoryview(raw.numpy())).hexdigest() if raw.numel() else _new_hash().hexdigest()
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


def _view_key(t: torch.Tensor) -> tuple[Any, ...]:
    """Identical for two tensors that are the same view of the same memory (so hold the same bytes)."""
    return (t.device.type, t.data_ptr(), t.dtype, tuple(t.shape), t.stride(), t.is_quantized)


def digest_tensors(tensors: Mapping[str, torch.Tensor]) -> dict[str, TensorDigest]:
    """Digests of the tensors; a tensor that is the very same view as another one is hashed once."""
    by_view: dict[tuple[Any, ...], TensorDigest] = {}
    digests: dict[str, TensorDigest] = {}
    for key, tensor in tensors.items():
        view = _view_key(tensor)
        digest = by_view.get(view)
        if digest is None:
            digest = by_view[view] = tensor_digest(tensor)
        digests[key] = digest
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
        elif got.digest != want.digest:
            problems.append(f"{key!r}: values differ from the source")
    del written, present
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise VerificationError(f"{path}: " + "; ".join(problems[:3]) + more)
    return len(expected)
