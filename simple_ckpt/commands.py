"""The manager's CLI commands: ``ls``, ``best``, ``show`` (read-only) and ``prune`` (retention).

``ls`` and ``best`` answer from the YAML sidecars alone and never unpickle a model; RUN_DIR may be a
remote URL (``s3://bucket/runs/x``, see `simple_ckpt.storage`). ``show`` loads the
model to summarise its parameters (a pickled module runs code from the file: ``--weights-only`` refuses
that). Errors are `SimpleCkptError`s, which the group prints as one line; warnings about individual files
(an unreadable sidecar, say) go to stderr as ``simple-ckpt: warning: ...``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import operator
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import click

from simple_ckpt.errors import CheckpointError, UsageError
from simple_ckpt.metadata import dump_yaml, get_dotted

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_WHERE_RE = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(>=|<=|==|!=|=|>|<)\s*(.+?)\s*$")


@contextlib.contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show warnings (per-file problems) as one line each, without source lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        click.echo(f"simple-ckpt: warning: {warning.message}", err=True)


def _manager(run_dir: str) -> Any:
    from simple_ckpt.manager import manager_for_dir, path_from_uri
    from simple_ckpt.storage import storage_for

    path = path_from_uri(run_dir)  # a local path, or an s3://, gs://... URL (simple_ckpt.storage)
    if not storage_for(path).is_dir(path):
        raise CheckpointError(f"{path}: not a directory")
    return manager_for_dir(path)


class WhereClause:
    """One ``--where`` filter: ``KEY OP VALUE``, KEY a dotted metadata path; numbers compare numerically."""

    def __init__(self, text: str) -> None:
        match = _WHERE_RE.match(text)
        if match is None:
            raise UsageError(
                f"--where {text!r}: expected KEY OP VALUE, e.g. 'score>=0.5' (OP one of >= <= == != > <)"
            )
        self.key, op, raw = match.groups()
        self.op = _OPS[op]
        self.op_text = op
        self.value = _parse_value(raw)
        if isinstance(self.value, str) and op not in ("=", "==", "!="):
            raise UsageError(f"--where {text!r}: {op} needs a number, got {raw!r}")

    def matches(self, metadata: dict[str, Any]) -> bool:
        actual = get_dotted(metadata, self.key)
        if actual is None:
            return False
        if isinstance(self.value, (int, float)):
            if isinstance(actual, bool) or not isinstance(actual, (int, float)) or math.isnan(actual):
                return False
            return bool(self.op(actual, self.value))
        return bool(self.op(str(actual), self.value))


def _parse_value(raw: str) -> Any:
    raw = raw.strip().strip("'\"")
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def _json_safe(value: Any) -> Any:
    """Strict JSON: NaN and infinities (valid in YAML metadata) become the strings "nan", "inf", "-inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _row(info: Any) -> dict[str, Any]:
    size = info.size
    if size is None:
        from simple_ckpt.storage import storage_for

        with contextlib.suppress(OSError):
            size = storage_for(info.model_path).size(info.model_path)
    return {
        "epoch": info.epoch,
        "agent_step": info.metadata.get("agent_step"),
        "score": info.metadata.get("score"),
        "size": size,
        "file": info.model_path.name,
        "committed": info.committed,
    }


def _sort_key(key: str) -> Callable[[Any], tuple[int, Any]]:
    def value(info: Any) -> tuple[int, Any]:
        v = info.epoch if key == "epoch" else get_dotted(info.metadata, key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
            return (1, str(v)) if v is not None else (2, "")
        return (0, v)

    return value


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _human_size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


@click.command("ls")
@click.argument("run_dir")
@click.option(
    "--where", "where", multiple=True, metavar="EXPR", help="Filter, e.g. 'score>=0.5' (repeatable)."
)
@click.option(
    "--sort",
    "sort",
    default="epoch",
    show_default=True,
    metavar="KEY",
    help="Sort by a metadata key (dotted paths allowed); prefix '-' for descending.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ls_command(run_dir: str, where: tuple[str, ...], sort: str, as_json: bool) -> None:
    """List the checkpoints of RUN_DIR (a run dir or its checkpoints/ dir) from the YAML sidecars."""
    clauses = [WhereClause(text) for text in where]
    manager = _manager(run_dir)
    with _warnings_to_stderr():
        infos = manager.list_all_checkpoints()
    infos = [i for i in infos if all(c.matches(i.metadata) for c in clauses)]
    descending = sort.startswith("-")
    key = sort.lstrip("-") or "epoch"
    ordered = sorted(infos, key=_sort_key(key))
    if descending:  # missing values stay last
        present = [i for i in ordered if _sort_key(key)(i)[0] == 0][::-1]
        ordered = present + [i for i in ordered if _sort_key(key)(i)[0] != 0]
    if as_json:
        out = [
            {
                **_row(i),
                "model_path": str(i.model_path),
                "yaml_path": str(i.yaml_path) if i.yaml_path else None,
                "metadata": i.metadata,
            }
            for i in ordered
        ]
        click.echo(json.dumps(_json_safe(out), indent=2, default=str, allow_nan=False))
        return
    if not ordered:
        click.echo(f"no checkpoints in {manager.checkpoint_dir}" + (" match" if clauses else ""), err=True)
        return
    click.echo(format_table(ordered))


def format_table(infos: list[Any]) -> str:
    """The ``ls`` table (epoch, agent_step, score, size, file) of listed checkpoints."""
    header = ("epoch", "agent_step", "score", "size", "file")
    rows = [
        (
            str(r["epoch"]),
            _fmt(r["agent_step"]),
            _fmt(r["score"]),
            _human_size(r["size"]),
            r["file"] + ("" if r["committed"] else "  (no YAML: not trusted)"),
        )
        for r in map(_row, infos)
    ]
    widths = [max(len(h), *(len(row[n]) for row in rows)) for n, h in enumerate(header)]
    lines = [
        "  ".join(h.rjust(w) if n < 4 else h for n, (h, w) in enumerate(zip(header, widths, strict=True)))
    ]
    for row in rows:
        lines.append(
            "  ".join(c.rjust(w) if n < 4 else c for n, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
    return "\n".join(lines)


@click.command("best")
@click.argument("run_dir")
@click.option("--metric", default="score", show_default=True, help="Metadata key (dotted paths allowed).")
@click.option("--mode", type=click.Choice(["max", "min"]), default="max", show_default=True)
def best_command(run_dir: str, metric: str, mode: str) -> None:
    """Print the path of the best checkpoint of RUN_DIR by METRIC (exit 1 if none has it)."""
    manager = _manager(run_dir)
    with _warnings_to_stderr():
        best = manager.find_best_checkpoint(metric=metric, mode=mode)
    if best is None:
        raise CheckpointError(
            f"{manager.checkpoint_dir}: no checkpoint has a numeric {metric!r} in its metadata"
        )
    click.echo(str(best))


@click.command("show")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--weights-only",
    is_flag=True,
    help="Never unpickle classes (a pickled module is then summarised from metadata only).",
)
@click.option("--all", "show_all", is_flag=True, help="List every tensor (default: the first 40).")
def show_command(file: str, weights_only: bool, show_all: bool) -> None:
    """Show a checkpoint's metadata, integrity and a parameter summary."""
    from simple_ckpt.manager import (
        CheckpointInfo,
        load_agent_from,
        path_from_uri,
        read_integrity,
        verify_checkpoint,
    )
    from simple_ckpt.sidecars import parse_sidecar

    path = path_from_uri(file)
    if path.suffix == ".yaml":
        path = path.with_suffix(".pt")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    sidecar_path = path.with_suffix(".yaml")
    click.echo(f"file: {path}")
    if sidecar_path.exists():
        sidecar = parse_sidecar(sidecar_path)
        if sidecar.error:
            raise CheckpointError(sidecar.error)
        click.echo("metadata:")
        click.echo(_indent(dump_yaml(sidecar.metadata).rstrip()))
        integrity = read_integrity(path)
        if integrity is not None:
            info = CheckpointInfo(path, sidecar_path, -1, sidecar.metadata, integrity)
            try:
                verify_checkpoint(info)
                status = f"ok ({integrity.get('hash_algorithm')} {str(integrity.get('hash'))[:16]}...)"
            except CheckpointError as exc:
                status = f"FAILED: {exc}"
            click.echo(f"integrity: {status}")
    else:
        click.echo("metadata: none (no YAML sidecar; this file is not a committed simple_ckpt checkpoint)")
    agent = (
        load_agent_from(path, map_location="cpu", weights_only=weights_only, agent_factory=None)
        if not _is_payload(path)
        else None
    )
    tensors = _tensors(agent) if agent is not None else _payload_tensors(path)
    total = sum(t.numel() for _, t in tensors)
    click.echo(
        f"object: {type(agent).__module__}.{type(agent).__qualname__}"
        if agent is not None
        else "object: weights-only payload"
    )
    click.echo(f"tensors: {len(tensors)}, elements: {total:,}")
    limit = len(tensors) if show_all else 40
    for name, tensor in tensors[:limit]:
        click.echo(f"  {name}  {tuple(tensor.shape)}  {str(tensor.dtype).replace('torch.', '')}")
    if len(tensors) > limit:
        click.echo(f"  ... {len(tensors) - limit} more (--all)")


def _is_payload(path: Any) -> bool:
    from simple_ckpt.manager import read_integrity

    integrity = read_integrity(path)
    return bool(integrity and integrity.get("payload") == "weights_only")


def _payload_tensors(path: Any) -> list[tuple[str, Any]]:
    import torch

    from simple_ckpt.payload import is_weights_only_payload
    from simple_ckpt.storage import storage_for

    try:
        obj = torch.load(
            io.BytesIO(storage_for(path).read_bytes(path)), map_location="cpu", weights_only=True
        )
    except Exception as exc:  # noqa: BLE001 - report any load failure as one line
        raise CheckpointError(f"{path}: cannot read the weights-only payload: {exc}") from exc
    if not is_weights_only_payload(obj):
        raise CheckpointError(
            f"{path}: its YAML says weights_only payload, but the file holds something else"
        )
    return [(k, v) for k, v in obj["state_dict"].items() if isinstance(v, torch.Tensor)]


def _tensors(obj: Any) -> list[tuple[str, Any]]:
    import torch

    if isinstance(obj, torch.nn.Module):
        return list(obj.state_dict().items())
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items() if isinstance(v, torch.Tensor)]
    return []


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


@click.command("prune")
@click.argument("run_dir")
@click.option("--keep-last", type=click.IntRange(min=0), required=True, help="Keep the newest N checkpoints.")
@click.option(
    "--keep-best",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also keep the best K by --metric.",
)
@click.option(
    "--metric", default="score", show_default=True, help="Metadata key for --keep-best (dotted ok)."
)
@click.option("--mode", type=click.Choice(["max", "min"]), default="max", show_default=True)
@click.option(
    "--keep-every",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also keep every epoch divisible by N.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
def prune_command(
    run_dir: str, keep_last: int, keep_best: int, metric: str, mode: str, keep_every: int, dry_run: bool
) -> None:
    """Delete old checkpoints of RUN_DIR; the newest committed and the best are always kept."""
    manager = _manager(run_dir)
    with _warnings_to_stderr():
        try:
            removed = manager.cleanup_old_checkpoints(
                keep_last,
                keep_best_k=keep_best,
                metric=metric,
                keep_every_n_epochs=keep_every,
                mode=mode,
                dry_run=dry_run,
            )
        finally:
            manager.close()
    verb = "would delete" if dry_run else "deleted"
    for path in removed:
        click.echo(f"{verb} {path} (+ {path.with_suffix('.yaml').name})")
    click.echo(f"{verb} {len(removed)} checkpoint(s)")
