"""Keeping originals safe when migrating in place: ``<run>/legacy/<same relative path>``.

`archive` makes the legacy copy durable *before* anything touches the original's name: a hard link (the
same bytes, instantly, no extra space), or where links are impossible a copy written atomically and
checked against the original's sha256. Only then may the converted file replace the original name
(``os.replace``, atomic), and `retire` may unlink an original whose name is not reused (L0 files,
``<run>/trainer_state.pt``, URI-named files), after checking the legacy copy still holds its bytes.
The original's bytes are therefore always reachable under at least one name.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from migrate.discover import LEGACY_DIRNAME, Candidate
from migrate.plan import sha256_file


class ArchiveError(Exception):
    """The legacy copy cannot be made (or an unrelated file already sits where it would go)."""


def legacy_path(candidate: Candidate) -> Path:
    if candidate.run_dir is None:
        raise ArchiveError(f"{candidate.path}: not inside a run dir; --in-place needs one (use --out)")
    return candidate.run_dir / LEGACY_DIRNAME / candidate.original.relative_to(candidate.run_dir)


def archive(candidate: Candidate, sha256: str, fsync: bool = True) -> Path:
    """Make ``<run>/legacy/<rel>`` hold the original's bytes (idempotent); returns that path."""
    keep = legacy_path(candidate)
    if candidate.archived:  # the source already is the legacy copy
        return keep
    _keep(candidate.path, keep, sha256, fsync)
    return keep


def archive_companion(run_dir: Path, original: Path, fsync: bool = True) -> None:
    """Archive a file that travels with a source and whose name the output reuses (B1's ``.yaml``).

    Idempotent: once ``legacy/<rel>`` exists the original name may already hold the new sidecar.
    """
    keep = run_dir / LEGACY_DIRNAME / original.relative_to(run_dir)
    if keep.exists() or not original.exists():
        return
    _keep(original, keep, sha256_file(original), fsync)


def _keep(path: Path, keep: Path, sha256: str, fsync: bool) -> None:
    from simple_ckpt.atomic import stage_write

    _make_parents(keep.parent)
    if keep.exists():
        if not (os.path.samefile(keep, path) or sha256_file(keep) == sha256):
            raise ArchiveError(f"{keep}: exists with other content; not overwritten (move it away and rerun)")
        # A rerun after a kill between the link and its fsync: make the archive durable before the caller
        # replaces or unlinks the original.
        if fsync:
            _sync_dirs(keep.parent)
        return
    try:
        os.link(path, keep)
    except FileExistsError:
        _keep(path, keep, sha256, fsync)
        return
    except OSError:
        for stale in keep.parent.glob(f".{keep.name}.tmp-*"):  # a copy interrupted by a crash
            stale.unlink(missing_ok=True)
        with open(path, "rb") as src:
            staged = stage_write(
                keep, lambda f: shutil.copyfileobj(src, f, 8 << 20), hash_name="sha256", fsync=fsync
            )
        if staged.result.digest != sha256:  # checked before the copy takes the real name
            staged.discard()
            raise ArchiveError(f"{keep}: the copy does not match the original; nothing archived") from None
        staged.commit(fsync=False)
    if fsync:
        _sync_dirs(keep.parent)


def _make_parents(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)


def _sync_dirs(directory: Path) -> None:
    """fsync ``directory`` and its ancestors up to the run dir holding ``legacy/``, so every name on the
    archive's path is durable before the caller replaces or unlinks the original (also on a rerun, when
    an earlier run was killed before its fsyncs)."""
    from simple_ckpt.atomic import fsync_dir

    for path in (directory, *directory.parents):
        fsync_dir(path)
        if path.name == LEGACY_DIRNAME:
            fsync_dir(path.parent)
            return


def retire(candidate: Candidate, sha256: str, replaced_by: Path, fsync: bool = True) -> bool:
    """Unlink the original name when it is not the output's name and the legacy copy holds its bytes."""
    from simple_ckpt.atomic import fsync_dir

    original = candidate.original
    if original == replaced_by or not original.exists():
        return False
    keep = legacy_path(candidate)
    if not keep.exists():
        return False
    if not os.path.samefile(original, keep) and sha256_file(original) != sha256:
        return False  # something else now sits at the original name: leave it alone
    os.unlink(original)
    if fsync:
        fsync_dir(original.parent)
    return True
