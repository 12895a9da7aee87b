"""The weights-only payload: a checkpoint that holds tensors and plain values, no pickled classes.

``migrate`` writes it when a legacy agent's classes cannot be imported (and ``--weights-only`` asks for
it). It loads with ``torch.load(weights_only=True)``, so opening it runs no code from the file. To turn it
back into an agent the caller provides an ``agent_factory``: a zero-argument callable returning a freshly
built ``nn.Module`` of the right architecture; its ``load_state_dict(strict=True)`` then receives the
saved weights. (Zero arguments because the caller is the one who knows how to build their agent, e.g.
``lambda: MettaAgent(env, cfg)``; the recorded ``agent_class`` is available via `payload_agent_class`.)

Format::

    {"format": "simple_ckpt.weights_only", "format_version": 1,
     "agent_class": "pkg.module.ClassName", "state_dict": {name: tensor, ...}, **extra}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

PAYLOAD_FORMAT = "simple_ckpt.weights_only"
PAYLOAD_FORMAT_VERSION = 1
_RESERVED = ("format", "format_version", "agent_class", "state_dict")

AgentFactory = Callable[[], Any]


def make_weights_only_payload(
    state_dict: Mapping[str, Any], agent_class: str | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Build the payload dict. ``extra`` keys (plain values only) are stored beside the reserved ones."""
    payload: dict[str, Any] = {
        "format": PAYLOAD_FORMAT,
        "format_version": PAYLOAD_FORMAT_VERSION,
        "agent_class": agent_class,
        "state_dict": dict(state_dict),
    }
    for key, value in (extra or {}).items():
        if key in _RESERVED:
            raise ValueError(f"extra key {key!r} is reserved by the weights-only payload format")
        payload[key] = value
    return payload


def is_weights_only_payload(obj: object) -> bool:
    """True if ``obj`` is a payload built by `make_weights_only_payload`."""
    return isinstance(obj, dict) and obj.get("format") == PAYLOAD_FORMAT and "state_dict" in obj


def payload_agent_class(payload: Mapping[str, Any]) -> str | None:
    """The class path recorded when the payload was written (informational)."""
    value = payload.get("agent_class")
    return value if isinstance(value, str) else None


def build_agent_from_payload(
    payload: Mapping[str, Any], agent_factory: AgentFactory | None, source: str
) -> Any:
    """``agent_factory()`` with the payload's weights loaded strictly; a clear error without a factory."""
    from simple_ckpt.errors import AgentFactoryError, CheckpointError

    version = payload.get("format_version")
    if version != PAYLOAD_FORMAT_VERSION:
        raise CheckpointError(f"{source}: weights-only payload format_version {version!r} is not supported")
    agent_class = payload_agent_class(payload) or "unknown class"
    if agent_factory is None:
        raise AgentFactoryError(
            f"{source}: holds weights only (agent class {agent_class}); pass agent_factory=<a zero-argument "
            "callable building the agent> to load it"
        )
    agent = agent_factory()
    load = getattr(agent, "load_state_dict", None)
    if load is None:
        raise AgentFactoryError(f"{source}: agent_factory returned {type(agent).__name__}, not an nn.Module")
    try:
        load(payload["state_dict"], strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise AgentFactoryError(
            f"{source}: the weights do not fit the agent built by agent_factory ({agent_class}): {detail}"
        ) from exc
    return agent
