"""`simple-ckpt inspect`: describe legacy checkpoint files without running anything they carry.

For each file: detected generation, container and agent classes, agent layout, metadata, tensor counts
(all tensor objects, and distinct by content), every global the pickles name with how it is handled,
and a safety verdict. Globals are listed statically before any unpickling, so a refused file is still
described. Batches go on past bad files (one line each on stderr) and exit 1 if any failed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from migrate.errors import LegacyReadError, RefusedFile
from migrate.model import GlobalUse, LegacyPolicy, LegacyTrainerState, ReadOptions
from simple_ckpt.remote_inputs import PathOrURL, local_files

_SUFFIXES = (".pt", ".safetensors", ".pth", ".bin")


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; directories expanded to their checkpoint-looking files, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES))
        else:
            files.append(path)
    return files


def json_safe(value: Any, depth: int = 0) -> Any:
    """Plain JSON values: numpy scalars become numbers, tensors and other objects a short description."""
    if depth > 50:
        return "..."
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, depth + 1) for v in value]
    item = getattr(value, "item", None)
    shape = getattr(value, "shape", None)
    if callable(item) and shape == ():
        return json_safe(item(), depth + 1)
    if shape is not None:
        return f"<{type(value).__name__} shape={list(shape)}>"
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _module_classes(agent: Any) -> dict[str, int]:
    """Class path -> count of every module in the agent tree (stand-ins report the class they replace)."""
    from torch import nn

    from migrate.standins import legacy_class_path

    counts: dict[str, int] = {}
    if isinstance(agent, nn.Module):
        for module in agent.modules():
            path = legacy_class_path(module)
            counts[path] = counts.get(path, 0) + 1
    return dict(sorted(counts.items()))


def verdict(uses: list[GlobalUse], refused: RefusedFile | None) -> str:
    if refused is not None or any(use.handling == "refused" for use in uses):
        return "UNSAFE: refused, nothing was unpickled"
    if any(use.handling == "real" for use in uses):
        return "safe: only allow-listed helpers, stand-ins, stubs and classes from allowed packages"
    return "safe: only allow-listed helpers, stand-ins and inert stubs; nothing from the file runs"


def describe(path: Path, options: ReadOptions) -> dict[str, Any]:
    """Everything `inspect` reports about one file; raises LegacyReadError for files it cannot describe."""
    from migrate.read import inventory, pickle_scans, read_counted

    uses = inventory(path, options)
    scans = pickle_scans(path)
    refused: RefusedFile | None = None
    result: LegacyPolicy | LegacyTrainerState | None = None
    try:
        result = read_counted(path, options)
        uses = result.globals or uses
    except RefusedFile as exc:
        refused = exc
    info: dict[str, Any] = {"path": str(path), "ok": refused is None}
    if refused is not None:
        info["error"] = str(refused)
    if isinstance(result, LegacyPolicy):
        info.update(
            kind="policy",
            generation=result.generation,
            container=result.container,
            agent_class=result.agent_class,
            agent_layout=result.agent_layout,
            agent_classes_real=result.agent_classes_real,
            module_classes=_module_classes(result.agent),
            metadata=json_safe(result.metadata),
            record=json_safe(result.record),
            state_dict_tensors=len(result.state_dict),
            dropped=list(result.dropped),
            warnings=list(result.warnings),
        )
    elif isinstance(result, LegacyTrainerState):
        info.update(
            kind="trainer_state",
            generation=result.generation,
            container="dict",
            keys=sorted(map(str, result.state)),
            metadata=json_safe({k: v for k, v in result.state.items() if "optimizer" not in k}),
            warnings=list(result.warnings),
        )
    counts = getattr(result, "_tensor_counts", None)
    if counts is not None:
        info["tensors_all"], info["tensors_distinct"] = counts
    info["globals"] = [
        {"module": u.module, "name": u.name, "handling": u.handling, "reason": u.reason, "member": u.member}
        for u in uses
    ]
    info["pickles"] = [
        {
            "member": scan.member,
            "protocol": scan.protocol,
            "persistent_ids": scan.persistent_ids,
            **{op.lower(): scan.opcodes[op] for op in ("REDUCE", "BUILD", "NEWOBJ", "INST", "OBJ")},
        }
        for scan in scans
    ]
    info["verdict"] = verdict(uses, refused)
    return info


def render(info: dict[str, Any]) -> str:
    lines = [f"{info['path']}"]
    if "generation" in info:
        lines.append(f"  generation: {info['generation']}   container: {info['container']}")
    if info.get("kind") == "policy":
        real = "real classes" if info["agent_classes_real"] else "stand-ins/stubs"
        lines.append(f"  agent: {info['agent_class']}   layout: {info['agent_layout']}   ({real})")
        lines.append(f"  state_dict: {info['state_dict_tensors']} tensors")
        if info["module_classes"]:
            lines.append("  module classes:")
            for name, count in info["module_classes"].items():
                lines.append(f"    {count:>3} x {name}")
    if "tensors_all" in info:
        lines.append(
            f"  tensors in file: {info['tensors_all']} ({info['tensors_distinct']} distinct by content)"
        )
    if info.get("kind") == "trainer_state":
        lines.append(f"  keys: {', '.join(info['keys'])}")
    if info.get("metadata"):
        lines.append("  metadata:")
        for key, value in info["metadata"].items():
            text = json.dumps(value, sort_keys=True)
            lines.append(f"    {key}: {text if len(text) <= 100 else text[:97] + '...'}")
    for key in ("dropped", "warnings"):
        if info.get(key):
            lines.append(f"  {key}: {'; '.join(info[key])}")
    for scan in info.get("pickles", []):
        ops = ", ".join(f"{k} {v}" for k, v in scan.items() if k not in ("member", "protocol") and v)
        lines.append(f"  pickle {scan['member']} (protocol {scan['protocol']}): {ops or 'no calls'}")
    lines.append(f"  globals ({len(info['globals'])}):")
    for use in info["globals"]:
        lines.append(f"    {use['handling']:<8} {use['module']}.{use['name']}  ({use['reason']})")
    lines.append(f"  verdict: {info['verdict']}")
    return "\n".join(lines)


@click.command("inspect")
@click.argument("paths", nargs=-1, required=True, type=PathOrURL(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (a list, one entry per file).")
@click.option(
    "--allow-module",
    "allow_modules",
    multiple=True,
    metavar="PREFIX",
    help="Also import real classes from this module prefix (default: only the agent's own package).",
)
@click.option("--no-real-classes", is_flag=True, help="Never import agent classes; use inert stubs for all.")
def inspect_command(
    paths: tuple[Path, ...], as_json: bool, allow_modules: tuple[str, ...], no_real_classes: bool
) -> None:
    """Describe legacy checkpoint files (or the checkpoints under directories) without running them."""
    options = ReadOptions(allow_modules=allow_modules, import_real_classes=not no_real_classes)
    reports: list[dict[str, Any]] = []
    failures = 0
    # Remote files (s3://, gs://...) are downloaded one at a time to a temp file, deleted after use.
    for path, shown in local_files(paths, expand, _SUFFIXES):
        try:
            info = describe(path, options)
        except LegacyReadError as exc:
            info = {"path": str(path), "ok": False, "error": str(exc)}
        if shown != str(path):
            info = {**info, "path": shown}
            if "error" in info:
                info["error"] = str(info["error"]).replace(str(path), shown)
        if not info["ok"]:
            failures += 1
            click.echo(f"simple-ckpt inspect: error: {info['error']}", err=True)
        reports.append(info)
        if not as_json and "globals" in info:
            click.echo(render(info))
    if as_json:
        click.echo(json.dumps(reports, indent=2, sort_keys=True))
    if failures:
        click.echo(f"simple-ckpt inspect: {failures} of {len(reports)} file(s) failed", err=True)
        raise SystemExit(1)
