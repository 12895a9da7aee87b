"""User-facing errors.

Every error a user can cause (bad input, a file that is not what it claims, a lease held by another
process) is a `SimpleCkptError`. The CLI turns it into one line and a non-zero exit; anything else is a bug
and keeps its traceback under `--debug`.
"""

from __future__ import annotations


class SimpleCkptError(Exception):
    """An error caused by the input or the environment, reported to the user as one line."""

    exit_code: int = 1


class UsageError(SimpleCkptError):
    """The command line itself is wrong (exit 2, like click's own usage errors)."""

    exit_code = 2


class CheckpointError(SimpleCkptError):
    """A checkpoint file or run dir cannot be read or written as asked."""


class CheckpointNotFound(CheckpointError):
    """Nothing to load where one was asked for: no checkpoint in a run dir, none for that epoch, or none
    matched a selection (what the legacy ``PolicyMissingError`` was)."""


class LegacyCheckpointError(CheckpointError):
    """A legacy-format pickle sits where a new-format checkpoint was expected."""


class LeaseHeldError(CheckpointError):
    """Another live process holds the writer lease of this run dir."""


class AgentFactoryError(CheckpointError):
    """A weights-only checkpoint needs an ``agent_factory`` (missing, or it built an agent that does not fit).

    This is about the caller, not the file, so `load_agent` never falls back to an older checkpoint on it.
    """


class WeightsOnlyError(CheckpointError):
    """``weights_only=True`` was asked for, but the file pickles classes (a whole module)."""
