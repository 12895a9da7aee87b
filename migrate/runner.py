"""Run a migration: discover, read, convert, write through simple_ckpt, verify, commit, report.

Order of operations for one policy file (trainer states follow the same steps)::

    1. output YAML already records this source's sha256      -> already-converted (finish step 7, stop)
       output YAML exists and records anything else          -> failed: conflict, nothing touched
    2. read the legacy file (restricted reader), repair metadata, convert (module or weights-only)
    3. --in-place: make <run>/legacy/<rel> hold the original (hard link or verified copy, fsynced)
    4. SimpleCheckpointManager.write_checkpoint into this process's private staging dir
       <ckpt_dir>/.simple_ckpt-migrate/<host>-<pid>/ (model, then YAML)
    5. verify the staged model: reload it, every source tensor bit-identical (by digest, taken from
       the source before it was dropped, so two copies of a checkpoint are never in memory)
    6. commit: fsync the staged model and YAML, os.replace(staged model -> final model), then
       os.replace(staged YAML -> final YAML), fsync the dir
    7. --in-place: unlink the original name when it is not the output name (L0, URI names,
       <run>/trainer_state.pt), after checking the legacy copy holds its bytes
    8. end of batch: remove the staging dirs of every output checkpoints dir the batch concerns

Steps 6-7 of a policy run on a commit thread (`migrate.committer`) while the next file is read: they
are I/O bound (fsync). Their order is unchanged; a file aimed at an output name still in flight waits
for it, trainer states wait for every policy, and a run's lease is released only when all is final.

Invariants (each holds after a kill -9 at any instant, which is why a rerun finishes the job and ends
equal to an uninterrupted run):

* I1 Originals are never modified. In place, an original's name is only replaced or unlinked after
  step 3 made ``legacy/<rel>`` durable; discovery treats ``legacy/<rel>`` as *the* source of ``<rel>``
  whenever it exists, so a rerun reads the original bytes whatever state the run dir was left in.
* I2 A final YAML exists only for a verified model: it is renamed into place after the verified model
  (step 6), and it records the source's sha256, which is how a rerun recognises finished work.
* I3 A final model without a final YAML is an uncommitted leftover (the manager skips it); a rerun
  replaces it (it is never a legacy pickle: see I4). Staging dirs hold nothing a rerun needs; step 8
  of the rerun removes what a killed run left there, so leftovers never outlive the next run.
* I4 Nothing that records another source, or that is a legacy pickle, is ever overwritten (conflict ->
  failed, other files go on). The YAML holds no timestamps of its own, so reruns write the same bytes
  (except the manager's ``saved_at``).

Concurrency: two migrations writing the same output dir at once are not supported (step 8 of one may
remove the other's staging files: that file then fails, nothing is corrupted). --in-place holds each
run dir's RunLease, so a live trainer (or another --in-place) on a run makes that run fail, not others.

One bad file never stops the batch: every per-file error becomes a ``failed`` result. ``--jobs N`` runs
files (``--in-place``: whole runs, each under its RunLease) in this process and up to N-1 worker
processes (forked on Linux; see `_execute`, `worker_context`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
import traceback
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.committer import Committer
from migrate.discover import STAGING_DIRNAME, Candidate, Discovery, discover
from migrate.metadata import FileFacts, TrainerFacts, plain_mapping, repair
from migrate.plan import (
    Options,
    Target,
    find_policy_by_sha,
    recorded_policy_source,
    recorded_trainer_source,
    sha256_file,
    target_for,
)
from migrate.progress import Progress
from migrate.report import ALREADY, CONVERTED, FAILED, SKIPPED, WOULD_CONVERT, FileResult, Report

MIGRATED_BY = "simple-ckpt migrate"


class FileFailed(Exception):
    """A per-file failure with a one-line reason."""


@dataclass
class Task:
    candidates: list[Candidate]
    options: Options
    trainer: dict[str, TrainerFacts] = field(default_factory=dict)  # run -> facts
    lease_run_dir: Path | None = None  # --in-place: hold this run dir's lease for the whole task


# ---------------------------------------------------------------------------------------------- batch


def run_migration(paths: Sequence[Path], options: Options) -> Report:
    """Migrate everything under ``paths``; never raises for a per-file problem."""
    found = discover(paths)
    report = Report(problems=list(found.problems), new_layout_files=found.new_layout_files)
    report.dry_run, report.check = options.dry_run, options.check
    for skipped in found.skipped:
        report.results.append(
            FileResult(skipped.rel, str(skipped.path), "policy", "", SKIPPED, reason=skipped.reason)
        )
    if options.dry_run or options.check:
        report.results.extend(plan_only(found, options))
        return report
    facts = read_trainer_facts(found, options)
    tasks = make_tasks(found, options, facts)
    total_bytes = sum(c.size for c in found.candidates)
    progress = Progress(len(found.candidates), total_bytes, enabled=options.progress)
    unreported: list[FileResult] = []  # results whose last step is still running on the commit thread

    def report_final(results: list[FileResult]) -> None:
        unreported.extend(results)
        for result in [r for r in unreported if not _COMMITTER.pending(r)]:
            unreported.remove(result)
            progress.done(result.status, result.source, result.size)

    # wandb cache copies run last: their output name comes from their metadata and is usually the run's own
    # checkpoint of that epoch, which must claim the name first (the copy is then a recognised duplicate).
    def is_cache_copy(task: Task) -> bool:
        return all(c.layout == "wandb-cache" for c in task.candidates)

    try:
        for phase in ([t for t in tasks if not is_cache_copy(t)], [t for t in tasks if is_cache_copy(t)]):
            for results in _execute(phase, options.jobs):
                report.results.extend(results)
                report_final(results)
            _COMMITTER.wait_all()
        report_final([])
    finally:
        _COMMITTER.close()  # before the staging dirs go: every staged file is committed or discarded
        progress.finish()
        close_staging()
        remove_staging(t.ckpt_dir for c in found.candidates if (t := target_for(c, options)) is not None)
    report.results.sort(key=lambda r: (r.run, r.source))  # --jobs finishes in any order; report in one
    return report


def make_tasks(found: Discovery, options: Options, facts: dict[str, TrainerFacts]) -> list[Task]:
    if options.in_place:
        by_run: dict[Path | None, list[Candidate]] = {}
        for c in found.candidates:
            by_run.setdefault(c.run_dir, []).append(c)
        return [Task(cands, options, facts, run_dir) for run_dir, cands in by_run.items()]
    return [Task([c], options, facts) for c in found.candidates]


# What a spawned worker costs before it does any work (a fresh interpreter importing torch), in seconds.
WORKER_STARTUP_SECONDS = 1.5


def worker_context() -> tuple[Any, float]:
    """(multiprocessing context, start-up seconds per worker) for --jobs workers.

    On Linux the workers are forked: they inherit this interpreter with torch and the readers already
    imported, so they start in milliseconds. That is only done while this process runs no other Python
    thread (a fork copies only the calling thread; `_execute` forks before starting any of its own, and
    every worker runs torch single-threaded, `_worker_init`, so no OpenMP team is created after the
    fork). Otherwise (other platforms, or threads already running) they
    come from a fork server that imports torch once (`set_forkserver_preload`), else are spawned; both
    pay the import, which `_execute` weighs against the work left.
    """
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork"), 0.0
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["torch", "migrate.runner", "migrate.read", "migrate.verify"])
        return context, WORKER_STARTUP_SECONDS
    return multiprocessing.get_context("spawn"), WORKER_STARTUP_SECONDS


def _worker_init() -> None:
    """In each worker: one intra-op thread (the work is copying and hashing; N workers share N cores)."""
    import torch

    torch.set_num_threads(1)


def _execute(tasks: list[Task], jobs: int) -> Iterable[list[FileResult]]:
    """Run tasks serially, or on ``jobs`` cores: this process plus up to ``jobs - 1`` worker processes.

    Tasks are ordered largest first; workers take them from the front, this process (which always
    works) from the back, so the batch ends on small tasks and the cores finish together. Forked workers
    (see `worker_context`) start at once; workers that must import torch are started only once the
    measured rate says the remaining work outlasts their start-up by a margin, so a small batch under
    --jobs is never slower than a serial run.
    """
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield run_task(task, settle=False)
        return
    from concurrent.futures import FIRST_COMPLETED, Future, wait
    from concurrent.futures.process import BrokenProcessPool

    def size(task: Task) -> int:
        return max(sum(c.size for c in task.candidates), 1)

    pending = deque(sorted(tasks, key=size, reverse=True))
    pending_bytes = sum(size(t) for t in tasks)
    pool: ProcessPoolExecutor | None = None
    workers = min(jobs - 1, len(tasks) - 1)
    running: dict[Future[list[FileResult]], Task] = {}
    done_tasks, seconds_per_byte = 0, float("inf")
    pool_broken = False
    context, startup = worker_context()

    def collect(futures: Iterable[Future[list[FileResult]]]) -> list[list[FileResult]]:
        out = []
        for future in list(futures):
            task = running.pop(future)
            try:
                out.append(future.result())
            except Exception as exc:  # a worker died (killed, out of memory): its files failed
                reason = f"worker process failed: {type(exc).__name__}: {exc}"
                out.append([_failed(c, reason) for c in task.candidates])
        return out

    try:
        while pending or running:
            # Forked workers start now (before this process starts any thread); others once the fastest
            # rate seen over at least two files (the first one pays warm-up costs) says they pay off.
            if pool is None and not pool_broken and pending:
                if startup == 0.0 or (done_tasks >= 2 and pending_bytes * seconds_per_byte > 3 * startup):
                    pool = ProcessPoolExecutor(
                        max_workers=workers, mp_context=context, initializer=_worker_init
                    )
            while pool is not None and not pool_broken and pending and len(running) < 2 * workers:
                try:
                    future = pool.submit(run_task, pending[0])
                except BrokenProcessPool:  # a worker was killed: this process finishes the queue alone
                    pool_broken = True
                    break
                task = pending.popleft()
                pending_bytes -= size(task)
                running[future] = task
            yield from collect([f for f in running if f.done()])
            if pending:
                task = pending.pop()
                pending_bytes -= size(task)
                started = time.perf_counter()
                yield run_task(task, settle=False)
                seconds_per_byte = min(seconds_per_byte, (time.perf_counter() - started) / size(task))
                done_tasks += 1
            elif running:
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                yield from collect(finished)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def read_trainer_facts(found: Discovery, options: Options) -> dict[str, TrainerFacts]:
    """Per run, what its legacy trainer state says (for the empty-metadata repair); unreadable -> absent."""
    from migrate.model import LegacyTrainerState
    from migrate.trainer_state import trainer_facts

    facts: dict[str, TrainerFacts] = {}
    for candidate in found.candidates:
        if candidate.kind != "trainer_state" or candidate.run in facts:
            continue
        try:
            legacy = _read(candidate, options)
        except Exception:
            continue  # the trainer-state task reports the failure itself
        if isinstance(legacy, LegacyTrainerState):
            facts[candidate.run] = trainer_facts(legacy.state, candidate.rel)
    return facts


def plan_only(found: Discovery, options: Options) -> list[FileResult]:
    """--dry-run / --check: what would happen, from the outputs and source hashes only; nothing written."""
    results = []
    for c in found.candidates:
        result = FileResult(c.rel, str(c.path), c.kind, c.run, WOULD_CONVERT, size=c.size)
        target = target_for(c, options)
        try:
            result.sha256 = sha256_file(c.path)
        except OSError as exc:
            result.status, result.reason = FAILED, f"cannot read: {exc.strerror or exc}"
            results.append(result)
            continue
        if target is None:
            result.status, result.reason = SKIPPED, IN_PLACE_IMPOSSIBLE
        elif c.kind == "trainer_state":
            exists, sha = (
                recorded_trainer_source(target.trainer_state)
                if target.trainer_state != c.path
                else (False, None)
            )
            _plan_status(result, exists, sha, target.trainer_state, options.out is None)
        elif c.epoch is not None:
            exists, sha = recorded_policy_source(target.yaml(c.epoch))
            exists = exists and not _is_companion(target.yaml(c.epoch), c, options)
            _plan_status(result, exists, sha, target.model(c.epoch), options.out is None)
        else:
            hit = find_policy_by_sha(target.ckpt_dir, result.sha256)
            if hit is not None:
                result.status, result.outputs = ALREADY, [str(hit.with_suffix(".pt"))]
            else:
                result.reason = f"-> {target.ckpt_dir}/model_<epoch from metadata>.pt"
        results.append(result)
    return results


def _plan_status(result: FileResult, exists: bool, sha: str | None, output: Path, in_place: bool) -> None:
    if exists and sha == result.sha256:
        result.status, result.outputs = ALREADY, [str(output)]
    elif exists:
        result.status = FAILED
        result.reason = f"{output} exists and was not converted from this file; it would not be overwritten"
    else:
        result.reason = f"-> {output}" + (" (in place, original kept under legacy/)" if in_place else "")


# ---------------------------------------------------------------------------------------------- one task


def run_task(task: Task, settle: bool = True) -> list[FileResult]:
    """Convert the task's files (in a worker process, or inline); errors become failed results.

    Each file's last step (fsync, commit) may still be running on the commit thread when this returns
    with ``settle=False`` (see `migrate.committer`); with ``settle=True`` (a worker process, whose results
    are sent back) and under a run lease every result is final.
    """
    if task.lease_run_dir is None:
        results = [_guarded(c, task) for c in task.candidates]
        if settle:
            _COMMITTER.wait_all()
        return results
    from simple_ckpt.errors import LeaseHeldError
    from simple_ckpt.lease import RunLease

    try:
        lease = RunLease(task.lease_run_dir).acquire()
    except LeaseHeldError as exc:
        return [_failed(c, str(exc)) for c in task.candidates]
    try:
        # Trainer states last: the policies of the run are converted (and verified) first.
        ordered = sorted(task.candidates, key=lambda c: c.kind == "trainer_state")
        results = [_guarded(c, task) for c in ordered]
    finally:
        _COMMITTER.wait_all()  # everything of this run is committed while its lease is held
        lease.release()
    return results


def _guarded(candidate: Candidate, task: Task) -> FileResult:
    if target_for(candidate, task.options) is None:
        result = FileResult(candidate.rel, str(candidate.path), candidate.kind, candidate.run, SKIPPED)
        result.size, result.reason = candidate.size, IN_PLACE_IMPOSSIBLE
        return result
    try:
        if candidate.kind == "trainer_state":
            return migrate_trainer_state(candidate, task.options)
        return migrate_policy(candidate, task.options, task.trainer.get(candidate.run))
    except Exception as exc:  # never let one file stop the batch; the message names the file
        if os.environ.get("SIMPLE_CKPT_DEBUG") and not isinstance(exc, FileFailed):
            traceback.print_exc()
        return _failed(candidate, _describe_error(exc))


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, FileFailed):
        return str(exc)
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"


# Finishes verified files (fsync + commit + retire) in the background; see migrate.committer.
_COMMITTER = Committer(_describe_error)


def _failed(candidate: Candidate, reason: str) -> FileResult:
    return FileResult(
        candidate.rel,
        str(candidate.path),
        candidate.kind,
        candidate.run,
        FAILED,
        size=candidate.size,
        reason=reason,
    )


def _read(candidate: Candidate, options: Options) -> Any:
    from migrate.model import ReadOptions
    from migrate.read import read_legacy

    read_options = ReadOptions(
        allow_modules=options.allow_modules, import_real_classes=not options.weights_only
    )
    return read_legacy(candidate.path, read_options)


def _note_read(result: FileResult, legacy: Any) -> None:
    """What reading found, for the report: source hash, generation, the globals table, reader warnings."""
    result.sha256, result.generation = legacy.sha256, legacy.generation
    result.globals = [
        {"global": g.qualified_name, "handling": g.handling, "reason": g.reason, "member": g.member}
        for g in legacy.globals
    ]
    result.warnings.extend(legacy.warnings)


def _read_or_skip(candidate: Candidate, options: Options, result: FileResult) -> Any | None:
    from migrate.errors import LegacyReadError, NotLegacyCheckpoint

    try:
        return _read(candidate, options)
    except NotLegacyCheckpoint as exc:
        result.status, result.reason = SKIPPED, exc.reason
        return None
    except LegacyReadError as exc:  # refused / corrupt: the table already names the file
        raise FileFailed(exc.reason) from exc
    except OSError as exc:
        raise FileFailed(f"cannot read: {exc.strerror or exc}") from exc


# ---------------------------------------------------------------------------------------------- policies


def migrate_policy(candidate: Candidate, options: Options, trainer: TrainerFacts | None) -> FileResult:
    import torch

    from migrate.convert import convert_policy
    from migrate.model import LegacyPolicy
    from migrate.verify import digest_state_dict, verify_digests

    result = FileResult(
        candidate.rel, str(candidate.path), "policy", candidate.run, CONVERTED, size=candidate.size
    )
    target = _target(candidate, options)

    # 1. Finished before? (cheap: only hashes the source when an output is already there)
    if candidate.epoch is not None:
        _COMMITTER.wait_for(target.model(candidate.epoch))  # a file in flight to the same name goes first
    if candidate.epoch is not None and target.yaml(candidate.epoch).exists():
        result.sha256 = sha256_file(candidate.path)
        if _already(result, target.yaml(candidate.epoch), target.model(candidate.epoch), candidate, options):
            return result

    # 2. Read, repair, convert.
    legacy = _read_or_skip(candidate, options, result)
    if legacy is None:
        return result
    if not isinstance(legacy, LegacyPolicy):
        result.status, result.reason = SKIPPED, f"a {type(legacy).__name__}, not a policy checkpoint"
        return result
    _note_read(result, legacy)
    result.dropped = list(legacy.dropped)
    if not any(isinstance(v, torch.Tensor) for v in legacy.state_dict.values()):
        result.status = SKIPPED
        result.reason = "holds no weights (a record without its policy): nothing to convert"
        return result

    metadata, unreadable = plain_mapping(legacy.metadata)
    record, record_unreadable = plain_mapping(legacy.record)
    facts = FileFacts(
        file_name=candidate.original.name if candidate.layout != "wandb-cache" else "",
        epoch_from_name=candidate.epoch,
        run_from_dir=candidate.run,
        name_fields=dict(candidate.name_fields),
    )
    repaired = repair(metadata, facts, trainer, record)
    epoch = repaired.metadata.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise FileFailed("cannot determine the epoch (not in the file name, the metadata or the record)")
    result.metadata_set = repaired.metadata_set
    result.recovered = repaired.recovered
    result.unrecovered = repaired.unrecovered
    result.warnings.extend(repaired.warnings)
    _COMMITTER.wait_for(target.model(epoch))
    if candidate.epoch is None and target.yaml(epoch).exists():  # output named by the metadata's epoch
        try:
            if _already(result, target.yaml(epoch), target.model(epoch), candidate, options):
                return result
        except FileFailed:
            if candidate.layout != "wandb-cache" or not _same_weights(legacy, target.model(epoch), epoch):
                raise
            # A wandb artifact is a copy of the run's own checkpoint of that epoch, re-pickled or not: when
            # its weights are the ones already converted, it adds nothing and is left where it is.
            result.status, result.outputs = SKIPPED, [str(target.model(epoch)), str(target.yaml(epoch))]
            result.reason = (
                f"a wandb cache copy of epoch {epoch} with the same weights as the converted "
                f"{target.model(epoch)}; nothing to add"
            )
            return result

    conversion = convert_policy(
        legacy,
        weights_only=options.weights_only,
        extra={"source_sha256": legacy.sha256, "source_generation": legacy.generation},
    )
    result.mode, result.layout, result.fallback = (
        conversion.mode,
        conversion.layout,
        conversion.fallback_reason,
    )
    result.warnings.extend(conversion.warnings)
    if legacy.dropped:
        result.warnings.append(f"dropped (not weights): {', '.join(legacy.dropped)}")

    source_block: dict[str, Any] = {
        "path": candidate.rel,
        "sha256": legacy.sha256,
        "size": candidate.size,
        "generation": legacy.generation,
        "container": legacy.container,
        "agent_class": legacy.agent_class,
        "agent_layout": conversion.layout,
        "mode": conversion.mode,
        "metadata_set": repaired.metadata_set,
        "migrated_by": MIGRATED_BY,
    }
    if conversion.fallback_reason:
        source_block["weights_only_reason"] = conversion.fallback_reason
    if repaired.recovered:
        source_block["recovered"] = repaired.recovered
    if repaired.unrecovered:
        source_block["unrecovered"] = list(repaired.unrecovered)
    if unreadable:
        source_block["unreadable"] = unreadable
        result.warnings.extend(
            f"metadata key {k!r} has no plain form, recorded under source.unreadable" for k in unreadable
        )
    if record_unreadable:
        record.update({k: f"<unreadable: {v}>" for k, v in record_unreadable.items()})
    if record:
        source_block["record"] = record
    if legacy.dropped:
        source_block["dropped"] = list(legacy.dropped)
    legacy_run = repaired.metadata.get("run")
    if legacy_run != candidate.run:  # the manager records the run dir's name; keep the legacy value too
        source_block["metadata_run"] = legacy_run
    document = dict(repaired.metadata)
    document["run"] = candidate.run
    document["source"] = source_block

    # 3..7: archive, stage, verify, commit, retire.
    final_model, final_yaml = target.model(epoch), target.yaml(epoch)
    _refuse_foreign_model(final_model, final_yaml, candidate, options)
    if options.in_place:
        _archive(candidate, legacy.sha256, options)
        for companion in candidate.companions:
            from migrate.inplace import archive_companion

            archive_companion(candidate.run_dir or companion.parent, companion, options.fsync)
    source_sha, mode = legacy.sha256, conversion.mode
    manager = _staging_manager(target, candidate.run)
    staged_model = manager.checkpoint_dir / final_model.name
    staged_yaml = staged_model.with_suffix(".yaml")
    try:
        # The source digests are taken on a helper thread while the model is written (both mostly
        # release the GIL); then the source is dropped: the reload below never meets a second copy.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate-source-digest") as helper:
            pending_digests = helper.submit(digest_state_dict, legacy.state_dict, conversion.key_map)
            manager.write_checkpoint(conversion.obj, epoch, document)
            expected = pending_digests.result()
        del legacy, conversion
        try:
            result.tensors_verified = verify_digests(staged_model, mode, expected)
        except Exception as exc:
            raise FileFailed(f"verification failed, nothing committed: {exc}") from exc
    except BaseException:
        _discard(staged_yaml, staged_model)
        raise

    def finish() -> None:
        """Steps 6-7 (on the commit thread): make the staged pair durable, commit it, retire the original."""
        try:
            if options.fsync:
                _fsync_file(staged_model)
                _fsync_file(staged_yaml)
            exists, recorded = recorded_policy_source(final_yaml)  # another source committed meanwhile?
            if exists and recorded != source_sha and not _is_companion(final_yaml, candidate, options):
                raise FileFailed(f"{final_yaml} was written from another source meanwhile; not overwritten")
            _commit([(staged_model, final_model), (staged_yaml, final_yaml)], options)
        finally:
            _discard(staged_yaml, staged_model)
        if options.in_place:
            from migrate.inplace import retire

            retire(candidate, source_sha, final_model, options.fsync)

    result.outputs = [str(final_model), str(final_yaml)]
    _COMMITTER.submit(result, [final_model, final_yaml], finish)
    return result


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


IN_PLACE_IMPOSSIBLE = (
    "a wandb download cache file belongs to no run dir, so it cannot be migrated in place; use --out DIR"
)


def _target(candidate: Candidate, options: Options) -> Target:
    target = target_for(candidate, options)
    if target is None:
        raise FileFailed(IN_PLACE_IMPOSSIBLE)
    return target


def _already(
    result: FileResult, yaml_file: Path, model: Path, candidate: Candidate, options: Options
) -> bool:
    """True (result filled) when ``yaml_file`` records this source; FileFailed on a conflict."""
    exists, sha = recorded_policy_source(yaml_file)
    if not exists or _is_companion(yaml_file, candidate, options):
        return False
    if result.sha256 is None:
        result.sha256 = sha256_file(candidate.path)
    if sha != result.sha256:
        raise FileFailed(
            f"{yaml_file} exists and was not converted from this file"
            + (f" (it records source {sha[:12]}...)" if sha else " (a checkpoint that is not a migration)")
            + "; not overwritten"
        )
    result.status, result.outputs = ALREADY, [str(model), str(yaml_file)]
    if options.in_place:
        from migrate.inplace import archive, retire

        archive(candidate, result.sha256, options.fsync)
        retire(candidate, result.sha256, model, options.fsync)
    return True


def _same_weights(legacy: Any, model: Path, epoch: int) -> bool:
    """True when the converted ``model`` holds exactly the tensors of ``legacy`` (names aside: A1 -> A2).

    The written model is read the way the manager reads it (integrity hash checked, pickle guard on): a
    weights-only payload with ``torch.load(weights_only=True)``, a module through ``load_agent``.
    """
    from collections import Counter

    import torch

    from migrate.verify import digest_tensors
    from simple_ckpt import SimpleCheckpointManager
    from simple_ckpt.payload import is_weights_only_payload

    try:
        payload = torch.load(model, map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        payload = None
    try:
        if is_weights_only_payload(payload):
            written = dict(payload["state_dict"])
        else:
            manager = SimpleCheckpointManager(model.parent.parent)
            written = dict(manager.load_agent(epoch=epoch, map_location="cpu", strict=True).state_dict())
    except Exception:
        return False
    source = {k: v for k, v in legacy.state_dict.items() if isinstance(v, torch.Tensor)}
    written = {k: v for k, v in written.items() if isinstance(v, torch.Tensor)}
    return Counter(digest_tensors(source).values()) == Counter(digest_tensors(written).values())


def _is_companion(yaml_file: Path, candidate: Candidate, options: Options) -> bool:
    """In place, the output YAML's name may still hold the source's own legacy sidecar (B1)."""
    if options.out is not None or yaml_file not in candidate.companions:
        return False
    from simple_ckpt.sidecars import parse_sidecar

    return parse_sidecar(yaml_file).integrity is None


def _refuse_foreign_model(
    final_model: Path, final_yaml: Path, candidate: Candidate, options: Options
) -> None:
    """An existing model without YAML may be replaced only if it is our own interrupted output (I3, I4)."""
    if not final_model.exists() or final_yaml.exists():
        return
    if options.in_place and final_model == candidate.original:
        return  # the original itself: archived under legacy/ before it is replaced
    from simple_ckpt.pickle_scan import legacy_reason

    reason = legacy_reason(final_model)
    if reason is not None:
        raise FileFailed(f"{final_model} exists and is {reason}; not overwritten")


def _archive(candidate: Candidate, sha256: str, options: Options) -> None:
    from migrate.inplace import ArchiveError, archive

    try:
        archive(candidate, sha256, options.fsync)
    except ArchiveError as exc:
        raise FileFailed(str(exc)) from exc


# One staging dir per (checkpoints dir, process): <ckpt_dir>/.simple_ckpt-migrate/<host>-<pid>/, with one
# manager (and so one staging lease) reused for every file this process stages there. The manager runs
# with fsync off: a staging dir needs no durability (a crash only leaves leftovers, removed by the next
# run's `remove_staging`); the staged files themselves are fsynced before `_commit` renames them.
_STAGING: dict[Path, Any] = {}


def _staging_manager(target: Target, run: str) -> Any:
    from simple_ckpt.manager import SimpleCheckpointManager

    manager = _STAGING.get(target.ckpt_dir)
    if manager is None:
        staging = target.staging(f"{socket.gethostname()}-{os.getpid()}")
        if staging.exists():  # left by an earlier process with this pid, which is therefore dead
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        manager = SimpleCheckpointManager(target.run_dir, run, checkpoint_dir=staging, fsync=False)
        _STAGING[target.ckpt_dir] = manager
    return manager


def _discard(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def close_staging() -> None:
    """Release this process's staging managers (their leases)."""
    while _STAGING:
        _, manager = _STAGING.popitem()
        manager.close()


def remove_staging(ckpt_dirs: Iterable[Path]) -> None:
    """Remove the staging areas of these checkpoint dirs (after every worker of the batch has exited)."""
    for ckpt_dir in sorted(set(ckpt_dirs)):
        shutil.rmtree(ckpt_dir / STAGING_DIRNAME, ignore_errors=True)


def _commit(moves: list[tuple[Path, Path]], options: Options) -> None:
    """Rename staged files into place in order (model first, YAML last), then make the renames durable.

    One directory fsync at the end is enough for I2: before it, a crash may lose the YAML rename
    (leaving an uncommitted model, I3); the renames of one directory are journaled in order on the
    filesystems we target, so the YAML never survives without its model.
    """
    from simple_ckpt.atomic import fsync_dir

    for staged, final in moves:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
    if options.fsync:
        fsync_dir(moves[-1][1].parent)


# ---------------------------------------------------------------------------------------------- trainer state


def migrate_trainer_state(candidate: Candidate, options: Options) -> FileResult:
    import torch

    from migrate.model import LegacyTrainerState
    from migrate.trainer_state import TrainerStateError, convert_trainer_state
    from migrate.verify import compare_state_dicts

    result = FileResult(
        candidate.rel, str(candidate.path), "trainer_state", candidate.run, CONVERTED, size=candidate.size
    )
    target = _target(candidate, options)
    _COMMITTER.wait_all()  # the run's policies are committed before its trainer state
    final = target.trainer_state
    if final.exists() and final != candidate.path:
        _exists, sha = recorded_trainer_source(final)
        result.sha256 = sha256_file(candidate.path)
        if sha == result.sha256:
            result.status, result.outputs = ALREADY, [str(final)]
            if options.in_place:
                from migrate.inplace import archive, retire

                archive(candidate, result.sha256, options.fsync)
                retire(candidate, result.sha256, final, options.fsync)
            return result
        if not (options.in_place and final == candidate.original):  # else: the original, kept under legacy/
            raise FileFailed(f"{final} exists and was not converted from this file; not overwritten")

    legacy = _read_or_skip(candidate, options, result)
    if legacy is None:
        return result
    if not isinstance(legacy, LegacyTrainerState):
        result.status, result.reason = SKIPPED, f"a {type(legacy).__name__}, not a trainer state"
        return result
    _note_read(result, legacy)
    try:
        state, warnings = convert_trainer_state(
            legacy.state, source_path=candidate.rel, sha256=legacy.sha256, generation=legacy.generation
        )
    except TrainerStateError as exc:
        raise FileFailed(str(exc)) from exc
    result.warnings.extend(warnings)

    if options.in_place:
        _archive(candidate, legacy.sha256, options)
    manager = _staging_manager(target, candidate.run)
    staged = manager.checkpoint_dir / final.name
    try:
        _write_trainer_state(manager, staged, state, options)
        written = torch.load(staged, map_location="cpu", weights_only=True)
        problems = compare_state_dicts(_tensors(legacy.state), _tensors(_as_legacy_keys(written, state)))
        if problems:
            raise FileFailed("verification failed, nothing committed: " + "; ".join(problems[:3]))
        result.tensors_verified = len(_tensors(legacy.state))
        _commit([(staged, final)], options)
    finally:
        _discard(staged)
    result.outputs = [str(final)]
    if options.in_place:
        from migrate.inplace import retire

        retire(candidate, legacy.sha256, final, options.fsync)
    return result


def _write_trainer_state(manager: Any, staged: Path, state: dict[str, Any], options: Options) -> None:
    """Through the manager's save_trainer_state when the keys allow it, else its atomic writer."""
    import torch

    from simple_ckpt.atomic import atomic_write

    epoch, agent_step = state.get("epoch"), state.get("agent_step")
    if isinstance(epoch, int) and isinstance(agent_step, int) and "optimizer_state" in state:
        extra = {k: v for k, v in state.items() if k not in ("optimizer_state", "epoch", "agent_step")}
        manager.save_trainer_state(state["optimizer_state"], epoch, agent_step, **extra)
    else:
        atomic_write(staged, lambda f: torch.save(state, f), fsync=False)
    if options.fsync:
        _fsync_file(staged)


def _as_legacy_keys(written: dict[str, Any], converted: dict[str, Any]) -> dict[str, Any]:
    """The written dict re-keyed like the legacy one, so the tensor walk lines up."""
    renamed = converted.get("migration_source", {}).get("renamed", {})
    back = {new: old for old, new in renamed.items()}
    return {back.get(k, k): v for k, v in written.items()}


def _tensors(obj: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every tensor inside nested dicts/lists, by a dotted path."""
    import torch

    out = {} if out is None else out
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _tensors(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _tensors(value, f"{prefix}[{i}]", out)
    return out


__all__ = ["Options", "run_migration", "run_task", "Task", "STAGING_DIRNAME"]
