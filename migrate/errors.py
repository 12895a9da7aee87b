"""Why a legacy file could not be read: three distinct outcomes the caller handles differently.

`RefusedFile`: the file names a global that is not allowed (it could run code) — nothing was unpickled.
`NotLegacyCheckpoint`: readable, but not a legacy policy checkpoint (e.g. a bare state_dict); skip it.
`CorruptFile`: damaged or impossible content (truncated, bad CRC, sizes that do not add up).
All are `CheckpointError`s, so the CLI prints them as one line naming the file.
"""

from __future__ import annotations

from pathlib import Path

from simple_ckpt.errors import CheckpointError


class LegacyReadError(CheckpointError):
    """A legacy file could not be read; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class RefusedFile(LegacyReadError):
    """The file references a global outside the allow-list; it was not unpickled."""

    def __init__(self, path: Path | str, global_name: str, reason: str = "not on the allow-list") -> None:
        self.global_name = global_name
        super().__init__(path, f"refused: global {global_name} ({reason}); nothing was loaded")


class NotLegacyCheckpoint(LegacyReadError):
    """The file is readable but is not a legacy policy checkpoint or trainer state."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(path, f"not a legacy checkpoint: {reason}")


class CorruptFile(LegacyReadError):
    """The file is damaged or declares impossible sizes."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(path, f"corrupt: {reason}")
