"""Find the legacy checkpoint files under the PATHs given to ``simple-ckpt migrate``.

A PATH may be a single file, a run dir, a ``checkpoints/`` dir, a ``train_dir`` of many runs or a wandb
artifact cache (``<data_dir>/artifacts/<name>:vN/model.pt``). Every file is classified on its own by its
name and place (spec §2, §14, §16), because one train_dir mixes generations:

* ``<run>/checkpoints/model_NNNN.pt`` (L1..L9) and ``<run>/model_NNNNNN.pt`` (L0, in the run folder);
* ``<run>/checkpoints/model_NNNN.safetensors`` (B1, paired with its ``.yaml`` by the reader);
* URI-named ``<run>__e<E>__s<S>__t<T>__sc<SC>.pt`` (B3/N; also N's doubled ``<run>/<run>/checkpoints``);
* ``<run>/trainer_state.pt`` and ``<run>/checkpoints/trainer_state.pt``;
* ``.../artifacts/<name>:vN/model.pt`` (the output epoch comes from the file's metadata).

A run dir that was migrated in place keeps its originals under ``<run>/legacy/<same relative path>``:
such a copy *is* the source of that relative path (whatever now sits at the original place is the
migrated output), which is what makes an interrupted in-place migration resumable. A ``model_NNNN.pt``
with a simple_ckpt sidecar (YAML holding the ``simple_ckpt`` integrity block) is already in the new
layout and is not a source. Names and dot files that are not checkpoints are skipped with a reason;
symlink loops and unreadable dirs are reported, never fatal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from migrate.names import parse_uri_name

LEGACY_DIRNAME = "legacy"
STAGING_DIRNAME = ".simple_ckpt-migrate"

_MODEL_RE = re.compile(r"^model_(\d+)\.pt$")
_SAFETENSORS_RE = re.compile(r"^model_(\d+)\.safetensors$")
_AGENT_EPOCH_RE = re.compile(r"^agent_epoch_(\d+)\.pt$")
_ARTIFACT_DIR_RE = re.compile(r"^(?P<name>.+):v(?P<version>\d+)$")

Kind = Literal["policy", "trainer_state"]


@dataclass(frozen=True)
class Candidate:
    """One legacy file to convert."""

    path: Path  # where the original bytes are read from (the original, or its copy under legacy/)
    rel: str  # path relative to the input root, for the report and the YAML `source.path`
    kind: Kind
    run: str  # output run name
    run_dir: Path | None  # the run dir the file belongs to (in-place target); None for caches/loose files
    original: Path  # where the original lived (== path unless it was archived under legacy/)
    epoch: int | None  # from the file name; None when it must come from the metadata
    layout: str  # "checkpoints" | "run-folder" | "uri-name" | "wandb-cache" | "safetensors" | "loose"
    size: int
    name_fields: dict[str, Any] = field(default_factory=dict)  # agent_step/total_time/score of URI names
    # Original paths of files that travel with the source and whose names the output reuses (B1's .yaml).
    companions: tuple[Path, ...] = ()

    @property
    def archived(self) -> bool:
        return self.path != self.original


@dataclass(frozen=True)
class Skipped:
    path: Path
    rel: str
    reason: str


@dataclass
class Discovery:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # symlink loops, unreadable dirs
    new_layout_files: int = 0  # model files already in the simple_ckpt layout (not sources)

    def runs(self) -> dict[str, list[Candidate]]:
        grouped: dict[str, list[Candidate]] = {}
        for candidate in self.candidates:
            grouped.setdefault(candidate.run, []).append(candidate)
        return grouped


def uri_name_fields(name: str) -> dict[str, Any] | None:
    """``run``, ``epoch``, ``agent_step``, ``total_time``, ``score`` of a B3/N URI-style file name."""
    parsed = parse_uri_name(name)
    return None if parsed is None else dict(vars(parsed))


def discover(paths: Iterable[Path]) -> Discovery:
    """Classify every file under ``paths`` (each path is its own input root)."""
    found = Discovery()
    by_original: dict[Path, Candidate] = {}
    for root_arg in paths:
        root_arg = Path(os.path.abspath(root_arg))  # "." and ".." must still have a name (the run's)
        if root_arg.is_dir():
            root = root_arg
            files = _walk(root_arg, found)
        else:
            root = root_arg.parent
            files = [root_arg]
        for file in files:
            _classify(file, root, found, by_original)
    # Run dirs before download caches (a cache copy of a run's own checkpoint then finds it converted).
    found.candidates = sorted(
        by_original.values(), key=lambda c: (c.layout == "wandb-cache", c.run, c.kind, c.epoch or 0, c.rel)
    )
    return found


def _walk(top: Path, found: Discovery) -> list[Path]:
    files: list[Path] = []
    seen: set[tuple[int, int]] = set()

    def onerror(exc: OSError) -> None:
        found.problems.append(f"{exc.filename}: cannot list: {exc.strerror or exc}")

    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
        here = Path(dirpath)
        try:
            st = os.stat(here)
        except OSError as exc:
            found.problems.append(f"{here}: cannot stat: {exc.strerror or exc}")
            dirnames[:] = []
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen:
            found.problems.append(
                f"{here}: symlink loop (or a second link to a folder already visited); not followed"
            )
            dirnames[:] = []
            continue
        seen.add(ident)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            files.append(here / name)
    return files


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _classify(file: Path, root: Path, found: Discovery, by_original: dict[Path, Candidate]) -> None:
    name = file.name
    rel = _rel(file, root)
    if not name.endswith((".pt", ".safetensors")):
        if name.endswith(".pt.tmp") or ".pt.tmp" in name:
            found.skipped.append(Skipped(file, rel, "temporary file of an interrupted legacy save"))
        return
    try:
        st = os.stat(file)
    except OSError as exc:
        found.skipped.append(Skipped(file, rel, f"cannot stat: {exc.strerror or exc}"))
        return
    if not os.path.isfile(file):
        found.skipped.append(Skipped(file, rel, "not a regular file (a FIFO, socket or device); not read"))
        return
    parent = file.parent
    # An original archived by an in-place migration: <run>/legacy/<relative path>.
    archived_run = _archived_run_dir(file, root)
    original = file
    if archived_run is not None:
        original = archived_run / file.relative_to(archived_run / LEGACY_DIRNAME)
        parent = original.parent
        rel = _rel(original, root)  # reports and YAMLs name the original place, stable across reruns

    candidate: Candidate | None = None
    epoch: int | None
    if name == "trainer_state.pt":
        if archived_run is None and parent.name == "checkpoints" and _is_new_trainer_state(file):
            found.new_layout_files += 1
            return
        run_dir = parent.parent if parent.name == "checkpoints" else parent
        run_dir = _undouble(run_dir)
        candidate = Candidate(
            file, rel, "trainer_state", run_dir.name, run_dir, original, None, "trainer-state", st.st_size
        )
    elif (match := _MODEL_RE.match(name)) is not None:
        epoch = int(match.group(1))
        if parent.name == "checkpoints":
            run_dir = parent.parent
            layout = "checkpoints"
            if archived_run is None and _has_simple_ckpt_sidecar(file):
                found.new_layout_files += 1
                return
        else:
            run_dir = parent
            layout = "run-folder"  # L0 wrote model_{epoch:06d}.pt straight into the run folder
        candidate = Candidate(file, rel, "policy", run_dir.name, run_dir, original, epoch, layout, st.st_size)
    elif (match := _SAFETENSORS_RE.match(name)) is not None:
        epoch = int(match.group(1))
        if file.with_suffix(".pt").exists():  # pt_also_emit_safetensors wrote both (spec §14)
            found.skipped.append(
                Skipped(
                    file,
                    rel,
                    f"the same checkpoint is also saved as {file.with_suffix('.pt').name}, which is converted",
                )
            )
            return
        run_dir = parent.parent if parent.name == "checkpoints" else parent
        candidate = Candidate(
            file,
            rel,
            "policy",
            run_dir.name,
            run_dir,
            original,
            epoch,
            "safetensors",
            st.st_size,
            companions=(original.with_suffix(".yaml"),),
        )
    elif name.endswith(".safetensors"):
        found.skipped.append(
            Skipped(file, rel, "a .safetensors file whose name is not model_NNNN.safetensors")
        )
        return
    elif (fields := uri_name_fields(name)) is not None:
        run = str(fields["run"])
        run_dir = parent.parent if parent.name == "checkpoints" else parent
        run_dir = _undouble(run_dir, run)
        name_fields = {k: fields[k] for k in ("agent_step", "total_time", "score") if k in fields}
        candidate = Candidate(
            file,
            rel,
            "policy",
            run,
            run_dir,
            original,
            int(fields["epoch"]),
            "uri-name",
            st.st_size,
            name_fields,
        )
    elif (
        name == "model.pt"
        and (art := _ARTIFACT_DIR_RE.match(parent.name))
        and parent.parent.name == "artifacts"
    ):
        candidate = Candidate(
            file, rel, "policy", art["name"], None, original, None, "wandb-cache", st.st_size
        )
    elif (match := _AGENT_EPOCH_RE.match(name)) is not None:
        run_dir = parent.parent if parent.name == "checkpoints" else parent
        run_dir = _undouble(run_dir)
        candidate = Candidate(
            file, rel, "policy", run_dir.name, run_dir, original, int(match.group(1)), "uri-name", st.st_size
        )
    else:
        found.skipped.append(Skipped(file, rel, _why_not(name)))
        return

    previous = by_original.get(candidate.original)
    if previous is None or (candidate.archived and not previous.archived):
        by_original[candidate.original] = candidate


def _why_not(name: str) -> str:
    if name in ("initial_policy.pt",):
        return "initial_policy.pt is a copy of the starting policy, not a checkpoint of the run (spec §2)"
    if name.startswith(("trainer_epoch_",)) or name.endswith(("__trainer.pt", ".trainer.pt")):
        return "a pre-release per-epoch trainer file (B3); only trainer_state.pt is migrated"
    return "the file name is not a checkpoint name of any known generation"


def _archived_run_dir(file: Path, root: Path) -> Path | None:
    """The run dir when ``file`` is an original kept by --in-place under ``<run>/legacy/``.

    Only the places --in-place archives to count (``legacy/<file>``, ``legacy/checkpoints/<file>``,
    ``legacy/<run>/checkpoints/<file>``), and only below the input root: a folder that merely happens to
    be called ``legacy`` higher up is not an archive.
    """
    parent = file.parent
    options = [parent]
    if parent.name == "checkpoints":
        options += [parent.parent, parent.parent.parent]
    for legacy in options:
        if legacy.name == LEGACY_DIRNAME and legacy != root and root in legacy.parents:
            return legacy.parent
    return None


def _undouble(run_dir: Path, run: str | None = None) -> Path:
    """N wrote ``<data_dir>/<run>/<run>/checkpoints`` (spec §2): the run dir is the outer one."""
    name = run or run_dir.name
    if run_dir.name == name and run_dir.parent.name == name:
        return run_dir.parent
    return run_dir


def _has_simple_ckpt_sidecar(model: Path) -> bool:
    sidecar = model.with_suffix(".yaml")
    try:
        with open(sidecar, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    # The manager writes the integrity block as a top-level `simple_ckpt:` key.
    return re.search(rb"(?m)^simple_ckpt:", head) is not None or _yaml_has_integrity(sidecar)


def _yaml_has_integrity(sidecar: Path) -> bool:
    try:
        from simple_ckpt.metadata import load_yaml_text

        document = load_yaml_text(sidecar.read_bytes(), str(sidecar))
    except Exception:
        return False
    return isinstance(document.get("simple_ckpt"), dict)


def _is_new_trainer_state(path: Path) -> bool:
    """A ``trainer_state.pt`` simple_ckpt wrote (``optimizer_state``), not a legacy one.

    Legacy trainer states name their optimizer ``optimizer_state_dict`` (T0..T7) or ``optimizer``
    (B3/N); the pickle's key strings tell them apart without unpickling anything.
    """
    from simple_ckpt.pickle_scan import data_pickle_bytes

    try:
        data = data_pickle_bytes(path)
    except Exception:
        return False
    if not data:
        return False
    return b"migration_source" in data or (b"optimizer_state" in data and b"optimizer_state_dict" not in data)
