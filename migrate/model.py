"""What reading a legacy file produces: the contract between migrate's readers and its converter.

Readers (``migrate.read``) turn one file into a `LegacyPolicy` or a `LegacyTrainerState` without running
anything the file carries; the converter (``migrate.convert`` and friends) turns those into the
simple_ckpt layout. Neither side looks at the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Handling = Literal["allowed", "standin", "real", "stub", "refused"]


@dataclass(frozen=True)
class ReadOptions:
    """How to resolve the classes a legacy pickle names."""

    # Module prefixes whose real classes may be imported, in addition to the agent's own package.
    allow_modules: tuple[str, ...] = ()
    # False: never import a real agent class; every agent/helper class becomes an inert stub
    # (what --weights-only reading needs).
    import_real_classes: bool = True


@dataclass(frozen=True)
class GlobalUse:
    """One global a pickle references, found by a static opcode walk, and how it will be handled."""

    module: str
    name: str
    handling: Handling
    reason: str
    member: str = ""  # zip member (pickle) that references it, e.g. "model_0010.pt/data.pkl"

    @property
    def qualified_name(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class LegacyPolicy:
    """A legacy policy checkpoint, read."""

    path: Path
    sha256: str
    generation: str  # spec IDs: "L0".."L9", "B1", "B3", "N", ...
    container: str  # class path of the container object, or "torch.package" / "safetensors" / "raw-module"
    agent: Any | None  # the policy nn.Module (real class or stub); None when the source holds weights only
    agent_class: str | None  # pickle class path of the policy object
    agent_layout: str | None  # "A1" | "A2" | "puffer" | "pytorch" | None
    agent_classes_real: bool  # every class in the agent resolved to a real, importable class
    state_dict: dict[str, Any]  # every parameter and buffer of the source (torch.Tensor values)
    metadata: dict[str, Any]  # legacy metadata as plain Python values (numpy scalars kept as read)
    record: dict[str, Any] = field(default_factory=dict)  # other record attributes: name, run_name, uri, ...
    globals: list[GlobalUse] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # what reading removed (e.g. LSTM hidden-state caches)
    warnings: list[str] = field(default_factory=list)


@dataclass
class LegacyTrainerState:
    """A legacy ``trainer_state.pt`` (a plain dict), read."""

    path: Path
    sha256: str
    generation: str  # "T0".."T7" or "N"
    state: dict[str, Any]
    globals: list[GlobalUse] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


LegacyFile = LegacyPolicy | LegacyTrainerState
