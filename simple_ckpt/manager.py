"""SimpleCheckpointManager: save and load a run's agents, metadata and trainer state, crash-safely.

Layout under ``RUN_DIR/checkpoints/`` (see docs/format.md)::

    model_0010.pt       torch.save of the agent module (DDP/DataParallel unwrapped), or a weights-only payload
    model_0010.yaml     metadata: the user's keys + ``epoch`` + ``run`` + the ``simple_ckpt`` integrity block
    trainer_state.pt    {"optimizer_state", "epoch", "agent_step", **extras}

A checkpoint is committed when its YAML exists: the model is written first (temp file, fsync, rename),
then the YAML, which records the model's size and content hash (computed while the bytes were written).
`load_agent` trusts a model only if its YAML exists and size and hash match; newer untrusted checkpoints
are skipped with a warning naming each (``strict=True`` raises instead).

Trust model
-----------
A model file is a pickle of a whole ``nn.Module``: loading it imports the agent's classes and runs
whatever the pickle says, exactly like ``torch.load(weights_only=False)``. That is fine for run dirs your
own training wrote (the hash check guards against truncation and corruption, not against someone who can
write your run dir). For files of unknown origin pass ``weights_only=True``: the load then goes through
``torch.load(weights_only=True)``, which refuses pickled classes, and only weights-only payloads (see
`simple_ckpt.payload`; ``simple-ckpt migrate --weights-only`` writes them) load, rebuilt by your
``agent_factory``. YAML is always read with the safe loader, and legacy pickles are recognised statically,
without unpickling. Listing, ``best`` and ``ls`` read only YAML and never unpickle anything. Before any
full unpickle, `simple_ckpt.pickle_guard` scans the file's pickles statically and refuses obvious
payloads (os/subprocess/eval/exec/importers/nested loaders): defence in depth, not a sandbox.

Writers hold the run dir's lease (`simple_ckpt.lease.RunLease`) from their first write until `close`;
a second process trying to write fails fast naming the holder. Readers never take the lease.

Asynchronous commit
-------------------
``async_commit=True`` makes ``save_agent``/``save_trainer_state`` return once the bytes are written to a
temp file: hashing, fsync, the renames and the YAML run on a background writer thread, in FIFO order (a
trainer state never commits before the model saved before it). Nothing is renamed before it is durable,
so a crash (even ``kill -9``) leaves exactly what the synchronous path would: the previous checkpoint
intact, at worst an uncommitted model or a temp file. A save that has not been committed yet when the
process dies is lost (like a save interrupted midway). `wait`/`close` flush, and so does an atexit hook;
every listing and load of the same manager waits first; a failed background commit is raised by the next
`wait` (or save), and saves queued behind it are discarded. The default is synchronous: what
``save_agent`` returns is committed when it returns, which other processes may rely on.

Run dirs may live in object storage: ``SimpleCheckpointManager("s3://bucket/runs/x")`` (any fsspec URL,
see `simple_ckpt.storage`: temp key + copy commit, YAML last, a best-effort remote lease).
"""

from __future__ import annotations

import atexit
import datetime as _dt
import io
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

from simple_ckpt import layout
from simple_ckpt.atomic import DEFAULT_HASH, new_hasher
from simple_ckpt.errors import (
    AgentFactoryError,
    CheckpointError,
    CheckpointNotFound,
    LegacyCheckpointError,
    WeightsOnlyError,
)
from simple_ckpt.metadata import (
    FORMAT_VERSION,
    INTEGRITY_KEY,
    dump_yaml,
    metric_value,
    plain_metadata,
)
from simple_ckpt.payload import AgentFactory, build_agent_from_payload, is_weights_only_payload
from simple_ckpt.pickle_scan import legacy_reason, migrate_hint
from simple_ckpt.sidecars import Sidecar, parse_sidecar, read_sidecars
from simple_ckpt.storage import AnyPath, RemotePath, storage_for, to_path

__all__ = ["SimpleCheckpointManager", "CheckpointInfo", "load_agent_from", "read_metadata"]

PAYLOAD_MODULE = "module"
PAYLOAD_WEIGHTS_ONLY = "weights_only"
PAYLOAD_OBJECT = "object"


class CheckpointInfo(Mapping[str, Any]):
    """One checkpoint as listed: also a read-only dict with keys model_path, yaml_path, epoch, metadata.

    ``yaml_path`` is None when the checkpoint has no sidecar (its metadata is then just ``{"epoch": N}``,
    what the file name tells). ``integrity`` summarises the sidecar's ``simple_ckpt`` block
    (``format_version``, ``payload``, ``size``; None without a readable sidecar; `read_integrity` gives the
    whole block) and ``problem`` says why the sidecar could not be read, if it could not. Paths are built
    on first access, which keeps listing 10,000 checkpoints cheap.
    """

    __slots__ = ("epoch", "metadata", "integrity", "problem", "_dir", "_model_name", "_yaml_name", "_paths")
    _KEYS = ("model_path", "yaml_path", "epoch", "metadata")

    def __init__(
        self,
        model_path: AnyPath | str,
        yaml_path: AnyPath | str | None,
        epoch: int,
        metadata: dict[str, Any],
        integrity: dict[str, Any] | None = None,
        problem: str | None = None,
    ) -> None:
        self.epoch = epoch
        self.metadata = metadata
        self.integrity = integrity
        self.problem = problem
        self._dir: AnyPath | None = None
        self._model_name = ""
        self._yaml_name: str | None = None
        self._paths: tuple[AnyPath, AnyPath | None] | None = (
            to_path(model_path),
            to_path(yaml_path) if yaml_path else None,
        )

    @classmethod
    def _listed(
        cls,
        directory: AnyPath,
        model_name: str,
        yaml_name: str | None,
        epoch: int,
        metadata: dict[str, Any],
        integrity: dict[str, Any] | None,
        problem: str | None = None,
    ) -> CheckpointInfo:
        info = cls.__new__(cls)
        info.epoch, info.metadata, info.integrity, info.problem = epoch, metadata, integrity, problem
        info._dir, info._model_name, info._yaml_name, info._paths = directory, model_name, yaml_name, None
        return info

    def _resolve(self) -> tuple[AnyPath, AnyPath | None]:
        if self._paths is None:
            assert self._dir is not None
            yaml_file = self._dir / self._yaml_name if self._yaml_name is not None else None
            self._paths = (self._dir / self._model_name, yaml_file)
        return self._paths

    @property
    def model_path(self) -> AnyPath:
        return self._resolve()[0]

    @property
    def yaml_path(self) -> AnyPath | None:
        return self._resolve()[1]

    def __getitem__(self, key: str) -> Any:
        if key not in self._KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CheckpointInfo):
            return (self.model_path, self.yaml_path, self.epoch, self.metadata) == (
                other.model_path,
                other.yaml_path,
                other.epoch,
                other.metadata,
            )
        return Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"CheckpointInfo(model_path={self.model_path!r}, yaml_path={self.yaml_path!r}, epoch={self.epoch}, "
            f"metadata={self.metadata!r})"
        )

    @property
    def committed(self) -> bool:
        """The sidecar exists and carries an integrity block (the save completed)."""
        return self.integrity is not None

    @property
    def size(self) -> int | None:
        """The model's size as recorded in the sidecar (None without one)."""
        size = (self.integrity or {}).get("size")
        return size if isinstance(size, int) else None


class SimpleCheckpointManager:
    """Checkpoints of one run: ``RUN_DIR/checkpoints/model_NNNN.{pt,yaml}`` and ``trainer_state.pt``.

    ``run_dir`` is a local path or a storage URL (``s3://bucket/runs/x``). ``hash_name`` names the
    integrity hash recorded in new sidecars (sidecars name theirs, so files written with another
    algorithm still verify). ``async_commit=True`` commits in the background (see the module docstring:
    `wait`/`close` flush). ``fsync=False`` is for benchmarks and tests only.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        run_name: str | None = None,
        *,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        hash_name: str = DEFAULT_HASH,
        fsync: bool = True,
        async_commit: bool = False,
    ) -> None:
        self.run_dir: AnyPath = to_path(run_dir)
        self.run_name = run_name if run_name is not None else self.run_dir.name
        self.checkpoint_dir: AnyPath = (
            to_path(checkpoint_dir)
            if checkpoint_dir is not None
            else self.run_dir / layout.CHECKPOINTS_DIRNAME
        )
        self._storage = storage_for(self.checkpoint_dir)
        try:
            new_hasher(hash_name)
        except ValueError as exc:
            raise CheckpointError(str(exc)) from None
        self.hash_name = hash_name
        self.fsync = fsync
        self.async_commit = async_commit
        self._commits: _CommitQueue | None = None
        self._lease: Any = None  # a RunLease, or a RemoteLease for object storage
        self._written: dict[str, tuple[Any, ...]] = {}  # model name -> identity right after our write

    def __repr__(self) -> str:
        return f"SimpleCheckpointManager(run_dir={str(self.run_dir)!r}, run_name={self.run_name!r})"

    # ------------------------------------------------------------------ writing

    def save_agent(self, agent: Any, epoch: int, metadata: Mapping[str, Any] | None = None) -> AnyPath:
        """Save ``agent`` (unwrapped from DDP/DataParallel) as ``model_{epoch:04d}.pt`` + its YAML."""
        return self.write_checkpoint(unwrap_agent(agent), epoch, metadata)

    def write_checkpoint(self, obj: Any, epoch: int, metadata: Mapping[str, Any] | None = None) -> AnyPath:
        """Write any torch-saveable ``obj`` as the checkpoint of ``epoch``; returns the model path.

        The metadata is validated and converted before anything is written. The model is written
        atomically with its hash computed on the fly, then the YAML (the commit point). Re-saving an
        epoch first removes its YAML, so a crash in between leaves that epoch uncommitted (skipped by
        `load_agent`), never a YAML describing other bytes. A legacy file under the name is refused.
        """
        import torch

        name = layout.model_filename(epoch)
        user = plain_metadata(metadata)
        if INTEGRITY_KEY in user:
            raise CheckpointError(f"metadata key {INTEGRITY_KEY!r} is reserved for the integrity block")
        document: dict[str, Any] = {"epoch": epoch, "run": self.run_name}
        document.update((k, v) for k, v in user.items() if k not in ("epoch", "run"))
        payload_kind = _payload_kind(obj)

        self._acquire_lease()
        storage = self._storage
        storage.mkdir(self.checkpoint_dir)
        model = self.checkpoint_dir / name
        sidecar = self.checkpoint_dir / layout.yaml_filename(epoch)
        if storage.exists(model) and not storage.exists(sidecar):
            reason = _legacy_reason(model)
            if reason is not None:
                raise LegacyCheckpointError(
                    f"{model}: refusing to overwrite {reason}; {_migrate_hint(model)} first"
                )

        def uncommit_previous() -> None:
            # Re-saving an epoch: its old YAML goes before the model is replaced, never describing new bytes.
            if storage.remove(sidecar) and self.fsync:
                storage.sync_dir(self.checkpoint_dir)

        # The model's final fsync runs in the background while the YAML is staged (and fsynced), so the two
        # data fsyncs overlap; the renames then happen in order, model first, each made durable before the
        # next (a crash can leave a model without YAML, never a YAML without its model).
        self._before_write()
        # Synchronous: hashed while written, and the model's fsync runs on a helper thread while the YAML
        # is staged. Asynchronous (local): the caller only writes; hash, fsync and commit run in the
        # background writer (`_CommitQueue`). Remote writes are always hashed on their way out.
        deferred = self.async_commit and not storage.remote
        staged_model = storage.stage_write(
            model,
            lambda f: torch.save(obj, f),
            hash_name=None if deferred else self.hash_name,
            fsync=self.fsync,
            fsync_in_background=not deferred,
            defer_fsync=deferred,
        )
        saved_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

        def commit() -> None:
            try:
                result = staged_model.hash_contents(self.hash_name) if deferred else staged_model.result
                document[INTEGRITY_KEY] = {
                    "format_version": FORMAT_VERSION,
                    "model_file": name,
                    "payload": payload_kind,
                    "size": result.size,
                    "hash_algorithm": result.hash_name,
                    "hash": result.digest,
                    "saved_at": saved_at,
                }
                text = dump_yaml(document).encode("utf-8")
                staged_yaml = storage.stage_write(sidecar, lambda f: f.write(text), fsync=self.fsync)
            except BaseException:
                staged_model.discard()
                raise
            try:
                staged_model.commit(uncommit_previous, fsync=self.fsync)
            except BaseException:
                staged_yaml.discard()
                raise
            staged_yaml.commit(fsync=self.fsync)
            identity = storage.identity(model)
            if identity is not None:
                self._written[name] = identity

        if self.async_commit:
            self._enqueue(commit, model, staged_model.discard)
        else:
            commit()
        return model

    def save_trainer_state(self, optimizer: Any, epoch: int, agent_step: int, **extra: Any) -> AnyPath:
        """Write ``trainer_state.pt``: {"optimizer_state", "epoch", "agent_step", **extra}, atomically.

        ``optimizer`` may be a torch optimizer (its ``state_dict()`` is saved), a state dict, or None.
        """
        import torch

        reserved = {"optimizer_state", "epoch", "agent_step"} & set(extra)
        if reserved:
            raise CheckpointError(f"save_trainer_state: extra keys {sorted(reserved)} are reserved")
        state_fn = getattr(optimizer, "state_dict", None)
        optimizer_state = state_fn() if callable(state_fn) else optimizer
        state = {
            "optimizer_state": optimizer_state,
            "epoch": int(epoch),
            "agent_step": int(agent_step),
            **extra,
        }
        self._acquire_lease()
        self._storage.mkdir(self.checkpoint_dir)
        path = self.checkpoint_dir / layout.TRAINER_STATE
        self._before_write()
        if not self.async_commit:
            self._storage.atomic_write(path, lambda f: torch.save(state, f), fsync=self.fsync)
            return path
        staged = self._storage.stage_write(
            path, lambda f: torch.save(state, f), fsync=self.fsync, defer_fsync=True
        )
        self._enqueue(lambda: staged.commit(fsync=self.fsync), path, staged.discard)
        return path

    def cleanup_old_checkpoints(
        self,
        keep_last_n: int,
        keep_best_k: int = 0,
        metric: str = "score",
        keep_every_n_epochs: int = 0,
        *,
        mode: str = "max",
        dry_run: bool = False,
    ) -> list[AnyPath]:
        """Delete committed checkpoints no retention policy keeps; returns the model paths (to be) deleted.

        Kept: the union of the last ``keep_last_n``, the best ``keep_best_k`` by ``metric``, every epoch
        divisible by ``keep_every_n_epochs``, plus always the newest committed checkpoint and the best one.
        Nothing is deleted while the newest checkpoint is uncommitted (a save in progress or interrupted).
        Files without a simple_ckpt sidecar (legacy pickles, interrupted saves) are never touched. Each
        checkpoint goes YAML first, then model, so no YAML ever describes a missing model.
        """
        for label, value in (
            ("keep_last_n", keep_last_n),
            ("keep_best_k", keep_best_k),
            ("keep_every_n_epochs", keep_every_n_epochs),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CheckpointError(
                    f"cleanup_old_checkpoints: {label} must be a non-negative int, got {value!r}"
                )
        _check_mode(mode)
        if not dry_run:
            self._acquire_lease()  # before looking: no other writer may change the dir under our decision
        infos = self.list_all_checkpoints()
        if not infos:
            return []
        if not self._size_matches(infos[-1]):
            warnings.warn(
                f"{infos[-1].model_path}: newest checkpoint is not committed; cleanup deletes nothing",
                stacklevel=2,
            )
            return []
        committed = [i for i in infos if self._size_matches(i)]
        newest_verified = next((i for i in reversed(committed) if self._verifies(i)), None)
        keep = {i.epoch for i in committed[-keep_last_n:]} if keep_last_n else set()
        if newest_verified is not None:
            keep.add(newest_verified.epoch)
        keep.add(committed[-1].epoch)
        # The best k that verify are kept; one ranked above them that does not verify (bytes changed under
        # a same-size file) is kept as well: it cannot be judged, so it is not deleted either.
        verified_best, wanted = 0, max(keep_best_k, 1)
        for info in _rank_by_metric(committed, metric, mode):
            if verified_best >= wanted:
                break
            keep.add(info.epoch)
            verified_best += self._verifies(info)
        if keep_every_n_epochs:
            keep.update(i.epoch for i in committed if i.epoch % keep_every_n_epochs == 0)
        doomed = [i for i in committed if i.epoch not in keep]
        if dry_run or not doomed:
            return [i.model_path for i in doomed]
        for info in doomed:
            if info.yaml_path is not None:
                self._storage.remove(info.yaml_path)
            self._storage.remove(info.model_path)
        if self.fsync:
            self._storage.sync_dir(self.checkpoint_dir)
        return [i.model_path for i in doomed]

    def wait(self) -> None:
        """Block until every save handed to the background writer is committed (``async_commit``).

        Raises a `CheckpointError` naming the file if a background commit failed (that checkpoint was
        not committed; the previous ones are intact). A no-op for synchronous managers.
        """
        if self._commits is not None:
            self._commits.wait()

    def close(self) -> None:
        """Commit pending saves (see `wait`), then release the writer lease (taken on the first write)."""
        try:
            self.wait()
        finally:
            if self._commits is not None:
                self._commits.stop()
            self._release_lease()

    def _release_lease(self) -> None:
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def __enter__(self) -> SimpleCheckpointManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _before_write(self) -> None:
        """Surface a failed background commit; keep at most two commits in flight (a model + a state)."""
        if self._commits is not None:
            self._commits.throttle(keep=1)

    def _enqueue(self, commit: Callable[[], None], path: AnyPath, discard: Callable[[], None]) -> None:
        if self._commits is None:
            self._commits = _CommitQueue(f"simple_ckpt-commit-{self.run_name}")
        self._commits.submit(commit, path, discard)

    def _acquire_lease(self) -> None:
        if self._lease is None:
            self._lease = self._storage.lease(self.run_dir, self.checkpoint_dir).acquire()
            self._sweep_stale_temp_files()
        else:
            renew = getattr(self._lease, "renew", None)
            if renew is not None:
                renew()

    def _sweep_stale_temp_files(self) -> None:
        """Remove temp files that writers killed mid-save left behind (their pid is gone).

        Only the lease holder writes here, so a temp file of a dead process can never be renamed into
        place any more; without this, every crash during a 200 MB save would leave 200 MB behind. In a
        remote run dir pids of other hosts mean nothing: there, temp keys of other processes are removed
        once the lease is ours (their writer no longer holds it).
        """
        remote = self._storage.remote
        for name in self._storage.iter_names(self.checkpoint_dir):
            if not layout.is_temp_file(name):
                continue
            pid = layout.temp_file_pid(name)
            if pid is not None and pid != os.getpid() and (remote or not _pid_alive(pid)):
                self._storage.remove(self.checkpoint_dir / name)

    # ------------------------------------------------------------------ reading

    def list_all_checkpoints(self) -> list[CheckpointInfo]:
        """Every checkpoint in epoch order. Reads only the YAML sidecars (cached), never a model.

        A model without sidecar is listed with ``{"epoch": N}``; an unreadable sidecar gives a warning
        naming the file and the checkpoint is still listed; a sidecar without model is skipped with a
        warning.
        """
        self.wait()  # our own pending saves first: a listing never misses what this process saved
        scan = self._storage.scan(self.checkpoint_dir)
        sidecars = read_sidecars(self.checkpoint_dir, scan, self._storage) if scan.yamls else {}
        infos: list[CheckpointInfo] = []
        for epoch in scan.epochs():
            model_name = scan.models.get(epoch)
            sidecar = sidecars.get(epoch)
            if model_name is None:
                warnings.warn(
                    f"{self.checkpoint_dir / layout.yaml_filename(epoch)}: YAML sidecar without its model "
                    f"{layout.model_filename(epoch)}; ignored",
                    stacklevel=2,
                )
                continue
            infos.append(self._info(epoch, model_name, sidecar))
        return infos

    def _orphan_sidecars(self) -> list[str]:
        """YAML sidecars whose model file is missing (listed by nothing else: they are not checkpoints)."""
        scan = self._storage.scan(self.checkpoint_dir)
        return [layout.yaml_filename(epoch) for epoch in scan.epochs() if epoch not in scan.models]

    def _info(self, epoch: int, model_name: str, sidecar: Sidecar | None) -> CheckpointInfo:
        directory = self.checkpoint_dir
        if sidecar is None:
            return CheckpointInfo._listed(directory, model_name, None, epoch, {"epoch": epoch}, None)
        yaml_name = layout.yaml_filename(epoch)
        if sidecar.error is not None:
            warnings.warn(f"{sidecar.error}; checkpoint listed without metadata", stacklevel=3)
            return CheckpointInfo._listed(
                directory, model_name, yaml_name, epoch, {"epoch": epoch}, None, sidecar.error
            )
        return CheckpointInfo._listed(
            directory, model_name, yaml_name, epoch, sidecar.metadata, sidecar.integrity
        )

    def find_best_checkpoint(self, metric: str = "score", mode: str = "max") -> AnyPath | None:
        """The model path with the best ``metric`` (a dotted path into nested metadata), or None.

        Checkpoints without the metric, or with NaN, are skipped; ties go to the newest epoch.
        """
        _check_mode(mode)
        ranked = _rank_by_metric(self.list_all_checkpoints(), metric, mode)
        return ranked[0].model_path if ranked else None

    def find_checkpoints_by_score(self, min_score: float, metric: str = "score") -> list[AnyPath]:
        """Model paths whose ``metric`` is >= ``min_score``, in epoch order."""
        return [
            info.model_path
            for info in self.list_all_checkpoints()
            if (value := metric_value(info.metadata, metric)) is not None and value >= min_score
        ]

    def load_agent(
        self,
        epoch: int | None = None,
        map_location: Any = None,
        strict: bool = False,
        *,
        weights_only: bool = False,
        agent_factory: AgentFactory | None = None,
    ) -> Any:
        """The agent of the newest verified checkpoint (or of ``epoch``); None if the run has none at all.

        Newer checkpoints that fail verification (no YAML, size or hash mismatch, unreadable) are skipped
        with a warning naming each; ``strict=True`` raises instead. If checkpoints exist but none loads,
        raises a `CheckpointError` naming every file and cause (a `LegacyCheckpointError` pointing to
        ``simple-ckpt migrate`` when legacy pickles are among them). See the module docstring for
        ``weights_only`` and ``agent_factory``.
        """
        infos = self.list_all_checkpoints()
        if epoch is not None:
            match = [i for i in infos if i.epoch == epoch]
            if not match:
                raise CheckpointNotFound(f"{self.checkpoint_dir}: no checkpoint for epoch {epoch}")
            return _load_checkpoint(match[0], map_location, weights_only, agent_factory)
        if not infos:
            orphans = self._orphan_sidecars()
            if orphans:  # checkpoints were written here: starting from scratch beside them is never silent
                raise CheckpointError(
                    f"{self.checkpoint_dir}: {len(orphans)} checkpoint(s) found but none loads: "
                    + "; ".join(f"{name}: its model file is missing" for name in orphans)
                )
            return None
        skipped: list[tuple[CheckpointInfo, CheckpointError]] = []
        for info in reversed(infos):
            try:
                agent = _load_checkpoint(info, map_location, weights_only, agent_factory)
            except (AgentFactoryError, WeightsOnlyError):
                raise  # about the caller's request, not the file: an older checkpoint would fail the same way
            except CheckpointError as exc:
                if strict:
                    raise CheckpointError(
                        f"{exc} (strict=True: not falling back to an older checkpoint)"
                    ) from exc
                skipped.append((info, exc))
                continue
            for skipped_info, cause in skipped:
                warnings.warn(
                    f"skipped newer checkpoint {skipped_info.model_path.name} (epoch {skipped_info.epoch}): "
                    f"{cause}; loaded epoch {info.epoch}",
                    stacklevel=2,
                )
            return agent
        causes = "; ".join(str(exc) for _, exc in skipped)
        error_type = (
            LegacyCheckpointError
            if any(isinstance(exc, LegacyCheckpointError) for _, exc in skipped)
            else CheckpointError
        )
        raise error_type(
            f"{self.checkpoint_dir}: {len(skipped)} checkpoint(s) found but none loads: {causes}"
        )

    def load_trainer_state(
        self, map_location: Any = None, *, weights_only: bool = True
    ) -> dict[str, Any] | None:
        """The dict saved by `save_trainer_state`, or None if there is none.

        Loaded with ``torch.load(weights_only=True)`` by default (optimizer state is tensors and plain
        values); pass ``weights_only=False`` if your extras pickle classes of your own.
        """
        self.wait()
        path = self.checkpoint_dir / layout.TRAINER_STATE
        if not self._storage.exists(path):
            return None
        state = _torch_load(path, self._storage.read_bytes(path), map_location, weights_only)
        if not isinstance(state, dict) or "epoch" not in state:
            raise CheckpointError(f"{path}: not a simple_ckpt trainer state (expected a dict with 'epoch')")
        return state

    def _size_matches(self, info: CheckpointInfo) -> bool:
        return info.size is not None and self._storage.size(info.model_path) == info.size

    def _verifies(self, info: CheckpointInfo) -> bool:
        """Full hash check, skipped for a file this manager wrote and nobody replaced since."""
        identity = self._storage.identity(info.model_path)
        if identity is not None and self._written.get(info.model_path.name) == identity:
            return True
        try:
            verify_checkpoint(info)
        except CheckpointError:
            return False
        return True


class _CommitQueue:
    """The background writer of an ``async_commit`` manager: one thread, commits in FIFO order.

    A save writes and hashes its bytes into a temp file in the caller, then hands the commit (fsync,
    rename, directory fsync, YAML) to this queue; the commits run one after the other in submission
    order, so a trainer state saved after a model is never committed before it. Nothing is renamed
    before its bytes are durable, so a crash at any point leaves what the synchronous path would. The
    first failure is kept and raised by the next `wait` (or save); the jobs queued behind a failed one
    are discarded, never committed. Pending commits are flushed at interpreter exit.
    """

    def __init__(self, name: str) -> None:
        from simple_ckpt.atomic import IdleExitWorker

        self._executor = IdleExitWorker(name[:40])  # its thread exits when idle
        self._pending: list[tuple[Any, AnyPath]] = []
        self._errors: list[CheckpointError] = []  # failed or discarded commits not yet reported
        # Jobs are numbered. When commit number F fails, the jobs queued behind it before the caller has
        # been told (numbers F+1 .. the last submitted when the failure is raised) are discarded, each
        # recording an error of its own; jobs submitted after the caller was told commit normally.
        self._submitted = 0
        self._failed_at: int | None = None
        self._discard_upto: int | None = None  # None: until the failure is reported
        self._lock = threading.Lock()
        _LIVE_QUEUES.add(self)

    def _discarding(self, number: int) -> bool:
        if self._failed_at is None or number <= self._failed_at:
            return False
        return self._discard_upto is None or number <= self._discard_upto

    def submit(self, commit: Callable[[], None], path: AnyPath, discard: Callable[[], None]) -> None:
        def job() -> None:
            with self._lock:
                discarding = self._discarding(number)
                if discarding:
                    self._errors.append(CheckpointError(f"{path}: not committed, an earlier save failed"))
            if discarding:  # queued behind a failed commit: never commit what came after it
                discard()
                raise CheckpointError(f"{path}: not committed, an earlier save failed")
            try:
                commit()
            except BaseException as exc:
                with self._lock:
                    if self._failed_at is None:
                        self._failed_at, self._discard_upto = number, None
                    error = CheckpointError(f"{path}: background commit failed: {_one_line(exc)}")
                    error.__cause__ = exc
                    self._errors.append(error)
                raise

        with self._lock:
            self._submitted += 1
            number = self._submitted
            self._pending.append((self._executor.submit(job), path))

    def throttle(self, keep: int) -> None:
        """Wait until at most ``keep`` commits are pending; raise a stored failure."""
        while True:
            with self._lock:
                if len(self._pending) <= keep:
                    break
                future, _ = self._pending[0]
            _quiet_result(future)
            with self._lock:
                if self._pending and self._pending[0][0] is future:
                    self._pending.pop(0)
        self._raise_failure()

    def wait(self) -> None:
        self.throttle(keep=0)

    def stop(self) -> None:
        """End the writer thread (after `wait`): a closed manager leaves no thread behind."""
        self._executor.stop()

    def drain(self) -> None:
        """Wait for every pending commit without raising (a failure stays recorded for `wait`)."""
        with self._lock:
            futures = [future for future, _ in self._pending]
        for future in futures:
            _quiet_result(future)

    def _raise_failure(self) -> None:
        with self._lock:
            errors, self._errors = self._errors, []
            error = _combined(errors)
            if error is not None and self._failed_at is not None and self._discard_upto is None:
                self._discard_upto = self._submitted  # the caller knows now: later saves commit again
            if not self._pending and self._discard_upto is not None:
                self._failed_at = self._discard_upto = None
        if error is not None:
            raise error


def _combined(errors: list[CheckpointError]) -> CheckpointError | None:
    """One error naming every failed or discarded commit (the first one's cause kept)."""
    if not errors:
        return None
    if len(errors) == 1:
        return errors[0]
    combined = CheckpointError("; ".join(str(error) for error in errors))
    combined.__cause__ = errors[0].__cause__
    return combined


def _quiet_result(future: Any) -> None:
    try:
        future.result()
    except BaseException:  # noqa: BLE001 - recorded by the job, raised by _raise_failure
        pass


_LIVE_QUEUES: weakref.WeakSet[_CommitQueue] = weakref.WeakSet()


@atexit.register
def _flush_pending_commits() -> None:
    for queue in list(_LIVE_QUEUES):
        try:
            queue.wait()
        except CheckpointError as exc:
            warnings.warn(f"simple_ckpt: at exit: {exc}", stacklevel=1)


def _wait_for_this_process() -> None:
    """Before a module-level read: commit every pending save of this process's managers.

    A failure stays recorded for its manager (raised by its next wait or save), not raised here.
    """
    for queue in list(_LIVE_QUEUES):
        queue.drain()


# ---------------------------------------------------------------------- module-level helpers


def unwrap_agent(agent: Any) -> Any:
    """The module inside (possibly nested) DistributedDataParallel / DataParallel wrappers."""
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    while isinstance(agent, (DataParallel, DistributedDataParallel)):
        agent = agent.module
    return agent


def load_agent_from(
    path_or_uri: str | os.PathLike[str],
    map_location: Any = None,
    *,
    weights_only: bool = False,
    agent_factory: AgentFactory | None = None,
    strict: bool = False,
) -> Any:
    """Load an agent from a model file, a ``file://`` URI, a run dir or a ``checkpoints/`` dir (latest).

    Remote URLs (``s3://bucket/runs/x``, ``gs://...``: any fsspec URL, see `simple_ckpt.storage`) work
    the same way. A model file with a simple_ckpt sidecar is verified against it; one without is loaded
    as it is (you named it), unless it is a legacy pickle, which raises `LegacyCheckpointError`. A
    directory loads its newest verified checkpoint, and raises if it has none.
    """
    _wait_for_this_process()
    path = path_from_uri(path_or_uri)
    storage = storage_for(path)
    if storage.is_dir(path):
        manager = manager_for_dir(path)
        agent = manager.load_agent(
            map_location=map_location, strict=strict, weights_only=weights_only, agent_factory=agent_factory
        )
        if agent is None:
            raise CheckpointNotFound(f"{path}: no checkpoints found (looked in {manager.checkpoint_dir})")
        return agent
    if not storage.exists(path):
        raise CheckpointError(f"{path}: no such file or directory")
    sidecar_path = path.with_suffix(".yaml")
    sidecar = (
        parse_sidecar(sidecar_path, storage=storage)
        if sidecar_path != path and storage.exists(sidecar_path)
        else None
    )
    epoch = layout.parse_model_name(path.name)
    info = CheckpointInfo(
        model_path=path,
        yaml_path=sidecar_path if sidecar is not None else None,
        epoch=epoch if epoch is not None else -1,
        metadata=sidecar.metadata if sidecar is not None else {},
        integrity=sidecar.integrity if sidecar is not None else None,
        problem=sidecar.error if sidecar is not None else None,
    )
    if info.integrity is None:
        if info.problem is not None:
            raise CheckpointError(info.problem)
        return _load_unverified(path, map_location, weights_only, agent_factory)
    return _load_checkpoint(info, map_location, weights_only, agent_factory)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata of a checkpoint (model file, its YAML, or a ``file://`` URI), without the integrity block.

    Raises `CheckpointError` when the sidecar is missing or unreadable.
    """
    _wait_for_this_process()
    target = path_from_uri(path)
    storage = storage_for(target)
    sidecar_path = target if target.suffix == ".yaml" else target.with_suffix(".yaml")
    if not storage.exists(sidecar_path):
        raise CheckpointError(f"{target}: no metadata sidecar {sidecar_path.name}")
    sidecar = parse_sidecar(sidecar_path, storage=storage)
    if sidecar.error is not None:
        raise CheckpointError(sidecar.error)
    return sidecar.metadata


def read_integrity(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``simple_ckpt`` integrity block of a checkpoint's sidecar, or None if it has none."""
    target = path_from_uri(path)
    storage = storage_for(target)
    sidecar_path = target if target.suffix == ".yaml" else target.with_suffix(".yaml")
    if not storage.exists(sidecar_path):
        return None
    return parse_sidecar(sidecar_path, summary=False, storage=storage).integrity


def verify_checkpoint(info: CheckpointInfo) -> bytes:
    """The model's bytes, after checking them against its sidecar; a CheckpointError saying why not.

    The sidecar is read afresh (not taken from a listing's cache): the file on disk is the truth.
    """
    model = info.model_path
    storage = storage_for(model)
    integrity = info.integrity
    if info.yaml_path is not None and info.problem is None:
        if not storage.exists(info.yaml_path):
            raise CheckpointError(f"{model}: its YAML sidecar {info.yaml_path.name} disappeared")
        fresh = parse_sidecar(info.yaml_path, summary=False, storage=storage)
        if fresh.error is not None:
            raise CheckpointError(fresh.error)
        integrity = fresh.integrity
    if integrity is None:
        if info.problem is not None:
            raise CheckpointError(info.problem)
        reason = _legacy_reason(model) if storage.exists(model) else None
        if reason is not None:
            raise LegacyCheckpointError(
                f"{model}: {reason}, not a simple_ckpt checkpoint; {_migrate_hint(model)}"
            )
        raise CheckpointError(
            f"{model}: no simple_ckpt YAML sidecar (an interrupted save, or not written by simple_ckpt); not trusted"
        )
    version = integrity.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{info.yaml_path}: integrity format_version {version!r} is not supported by this version"
        )
    expected_size = integrity.get("size")
    actual_size = storage.size(model)
    if actual_size is None:
        raise CheckpointError(f"{model}: missing (its YAML {info.yaml_path} exists)")
    if actual_size != expected_size:
        raise CheckpointError(
            f"{model}: size {actual_size} bytes does not match {expected_size} recorded in its YAML"
        )
    hash_name = integrity.get("hash_algorithm")
    expected_hash = integrity.get("hash")
    if not isinstance(hash_name, str) or not isinstance(expected_hash, str):
        raise CheckpointError(f"{info.yaml_path}: integrity block has no hash")
    try:
        hasher = new_hasher(hash_name)
    except ValueError as exc:
        raise CheckpointError(f"{info.yaml_path}: {exc}") from None
    try:
        data = storage.read_bytes(model)
    except FileNotFoundError:
        raise CheckpointError(f"{model}: missing (its YAML {info.yaml_path} exists)") from None
    hasher.update(data)
    digest = hasher.hexdigest()
    if digest != expected_hash:
        raise CheckpointError(f"{model}: content {hash_name} does not match its YAML (corrupted or replaced)")
    return data


def _load_checkpoint(
    info: CheckpointInfo, map_location: Any, weights_only: bool, agent_factory: AgentFactory | None
) -> Any:
    data = verify_checkpoint(info)
    payload = (info.integrity or {}).get("payload")
    obj = _torch_load(info.model_path, data, map_location, weights_only or payload == PAYLOAD_WEIGHTS_ONLY)
    return _finish(obj, info.model_path, agent_factory)


def _load_unverified(
    path: AnyPath, map_location: Any, weights_only: bool, agent_factory: AgentFactory | None
) -> Any:
    reason = _legacy_reason(path)
    if reason is not None:
        raise LegacyCheckpointError(f"{path}: {reason}, not a simple_ckpt checkpoint; {_migrate_hint(path)}")
    data = storage_for(path).read_bytes(path)
    try:
        obj = _torch_load(path, data, map_location, True)
    except WeightsOnlyError:
        if weights_only:
            raise
        obj = _torch_load(path, data, map_location, False)
    return _finish(obj, path, agent_factory)


def _finish(obj: Any, path: AnyPath, agent_factory: AgentFactory | None) -> Any:
    if is_weights_only_payload(obj):
        return build_agent_from_payload(obj, agent_factory, str(path))
    return obj


def _torch_load(path: AnyPath, data: bytes, map_location: Any, weights_only: bool) -> Any:
    import pickle

    import torch

    if not weights_only:  # the full unpickler runs what the file says: refuse obvious payloads first
        from simple_ckpt.pickle_guard import refuse_dangerous_globals

        refuse_dangerous_globals(path, data)
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=weights_only)
    except pickle.UnpicklingError as exc:
        if weights_only:
            raise WeightsOnlyError(
                f"{path}: holds pickled classes, which weights_only=True refuses to load; load it with "
                "weights_only=False only if you trust the file (see the trust model in simple_ckpt.manager)"
            ) from exc
        raise CheckpointError(f"{path}: cannot unpickle: {_one_line(exc)}") from exc
    except (ModuleNotFoundError, AttributeError, ImportError) as exc:
        raise CheckpointError(f"{path}: the agent's classes cannot be imported: {_one_line(exc)}") from exc
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise CheckpointError(f"{path}: cannot load: {_one_line(exc)}") from exc


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: exists, owned by someone else
        return True
    return True


def _migrate_hint(model: AnyPath) -> str:
    if isinstance(model, RemotePath):
        ckpt_dir = model.parent
        run_dir = ckpt_dir.parent if ckpt_dir.name == layout.CHECKPOINTS_DIRNAME else ckpt_dir
        return f"convert it with `simple-ckpt migrate {run_dir}`"
    return migrate_hint(model)


def _legacy_reason(model: AnyPath) -> str | None:
    """`legacy_reason` of a local or remote file (a remote one is downloaded to a temp file first)."""
    if isinstance(model, RemotePath):
        with storage_for(model).local_copy(model) as local:
            return legacy_reason(local)
    return legacy_reason(model)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "") if text else type(exc).__name__


def _payload_kind(obj: Any) -> str:
    if is_weights_only_payload(obj):
        return PAYLOAD_WEIGHTS_ONLY
    import torch

    return PAYLOAD_MODULE if isinstance(obj, torch.nn.Module) else PAYLOAD_OBJECT


def _check_mode(mode: str) -> None:
    if mode not in ("max", "min"):
        raise CheckpointError(f"mode must be 'max' or 'min', got {mode!r}")


def _rank_by_metric(infos: list[CheckpointInfo], metric: str, mode: str) -> list[CheckpointInfo]:
    """Checkpoints having ``metric`` (not NaN), best first; among equals the newest first."""
    scored = [(value, info) for info in infos if (value := metric_value(info.metadata, metric)) is not None]
    sign = 1.0 if mode == "max" else -1.0
    scored.sort(key=lambda pair: (sign * pair[0], pair[1].epoch), reverse=True)
    return [info for _, info in scored]


def path_from_uri(path_or_uri: str | os.PathLike[str]) -> AnyPath:
    """A local path (plain paths, ``file://`` URIs) or a `RemotePath` (``s3://``, ``gs://``...)."""
    return to_path(path_or_uri)


def manager_for_dir(path: AnyPath) -> SimpleCheckpointManager:
    if storage_for(path).is_dir(path / layout.CHECKPOINTS_DIRNAME):
        return SimpleCheckpointManager(path)
    return SimpleCheckpointManager(path.parent, checkpoint_dir=path)
