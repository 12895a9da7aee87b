"""The file names of a run dir, and the one directory scan every listing is built on.

```
RUN_DIR/checkpoints/model_0010.pt      the agent (torch.save of the module, or a weights-only payload)
RUN_DIR/checkpoints/model_0010.yaml    its metadata, written after the model (the commit point)
RUN_DIR/checkpoints/trainer_state.pt   optimizer state, epoch, agent_step, extras
```

Epochs are zero-padded to four digits and keep working past 9999 (``model_12345.pt``); ordering is always
numeric. Names starting with a dot (temp files ``.<name>.tmp-<pid>-<rand>``, the lease, the listing
index) are never checkpoints.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

CHECKPOINTS_DIRNAME = "checkpoints"
TRAINER_STATE = "trainer_state.pt"

_MODEL_RE = re.compile(r"^model_(\d+)\.pt$")
_YAML_RE = re.compile(r"^model_(\d+)\.yaml$")
_TEMP_RE = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+$")


def checkpoints_dir(run_dir: str | os.PathLike[str]) -> Path:
    """``RUN_DIR/checkpoints``."""
    return Path(run_dir) / CHECKPOINTS_DIRNAME


def model_filename(epoch: int) -> str:
    """``model_0010.pt`` for epoch 10 (``model_12345.pt`` past 9999)."""
    _check_epoch(epoch)
    return f"model_{epoch:04d}.pt"


def yaml_filename(epoch: int) -> str:
    """``model_0010.yaml`` for epoch 10."""
    _check_epoch(epoch)
    return f"model_{epoch:04d}.yaml"


def model_path(ckpt_dir: str | os.PathLike[str], epoch: int) -> Path:
    return Path(ckpt_dir) / model_filename(epoch)


def yaml_path(ckpt_dir: str | os.PathLike[str], epoch: int) -> Path:
    return Path(ckpt_dir) / yaml_filename(epoch)


def trainer_state_path(ckpt_dir: str | os.PathLike[str]) -> Path:
    return Path(ckpt_dir) / TRAINER_STATE


def yaml_path_for_model(model: str | os.PathLike[str]) -> Path:
    """The sidecar of a model file: same stem, ``.yaml``."""
    return Path(model).with_suffix(".yaml")


def parse_model_name(name: str) -> int | None:
    """The epoch of a ``model_NNNN.pt`` file name, else None."""
    match = _MODEL_RE.match(name)
    return int(match.group(1)) if match else None


def parse_yaml_name(name: str) -> int | None:
    """The epoch of a ``model_NNNN.yaml`` file name, else None."""
    match = _YAML_RE.match(name)
    return int(match.group(1)) if match else None


def is_temp_file(name: str) -> bool:
    """True for the temporary names `simple_ckpt.atomic` writes before renaming."""
    return bool(_TEMP_RE.match(name))


def temp_file_pid(name: str) -> int | None:
    """The pid of the process that created a temp file (from its name), or None for other names."""
    match = _TEMP_RE.match(name)
    return int(match.group(1)) if match else None


def _check_epoch(epoch: int) -> None:
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")


@dataclass(frozen=True)
class YamlStat:
    """A sidecar's identity for caching: a rewrite (os.replace) changes the inode, an edit size/mtime."""

    size: int
    mtime_ns: int
    inode: int

    def key(self) -> list[int]:
        return [self.size, self.mtime_ns, self.inode]


@dataclass(frozen=True)
class DirScan:
    """What one scan of a checkpoints dir found, by epoch (canonical names only)."""

    models: dict[int, str]  # epoch -> model file name
    yamls: dict[int, tuple[str, YamlStat]]  # epoch -> (yaml file name, stat)

    def epochs(self) -> list[int]:
        """Every epoch that has a model file or a sidecar, ascending."""
        return sorted(set(self.models) | set(self.yamls))


def scan_checkpoints(ckpt_dir: str | os.PathLike[str]) -> DirScan:
    """Scan ``ckpt_dir`` once: model files and sidecars with their stats; temp and dot files ignored.

    Non-canonical spellings (``model_010.pt`` for epoch 10 when ``model_0010.pt`` is the name) are not
    checkpoints of this layout and are ignored. A missing dir scans as empty.
    """
    models: dict[int, str] = {}
    yamls: dict[int, tuple[str, YamlStat]] = {}
    try:
        entries = os.scandir(ckpt_dir)
    except FileNotFoundError:
        return DirScan(models, yamls)
    with entries:
        for entry in entries:
            name = entry.name
            if not name.startswith("model_"):  # also skips dot files: temp files, lease, index
                continue
            # String ops rather than the regexes: this loop runs for every file of a 10,000-checkpoint run.
            if name.endswith(".pt"):
                digits = name[6:-3]
                if digits.isascii() and digits.isdigit():
                    epoch = int(digits)
                    if name == model_filename(epoch):
                        models[epoch] = name
            elif name.endswith(".yaml"):
                digits = name[6:-5]
                if digits.isascii() and digits.isdigit():
                    epoch = int(digits)
                    if name != yaml_filename(epoch):
                        continue
                    try:
                        st = entry.stat()
                    except FileNotFoundError:  # removed while scanning
                        continue
                    yamls[epoch] = (name, YamlStat(st.st_size, st.st_mtime_ns, st.st_ino))
    return DirScan(models, yamls)


def file_size(path: str | os.PathLike[str]) -> int | None:
    """Size in bytes, or None when the file does not exist."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None
