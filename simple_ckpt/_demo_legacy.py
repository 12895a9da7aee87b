"""A small legacy `train_dir` for the demo and the docs tests, written without leaving legacy code behind.

Why: `simple-ckpt demo` runs from an installed package, so it cannot use the test fixture factory in
`tests/legacy_world`. A real user's legacy checkpoints pickle classes (PolicyRecord, PolicyMetadata,
MettaAgent, ComponentPolicy) that no longer exist; to reproduce that situation this module writes tiny
stand-ins of those classes (``LEGACY_SOURCES``, our own few lines, same module paths and attribute names as
the legacy code) into a temporary directory, runs ``torch.save`` in a *subprocess* that imports them, and
deletes the directory. The calling process never imports them, so the migration afterwards meets the files
exactly as a user would: classes gone.

Runs written by `build_legacy_train_dir` (``DEMO_RUNS``; spec generations in brackets):

- ``nav_2025_05``: ``metta.agent.policy_store.PolicyRecord`` v1 records, A1 agents, M5 metadata [L4],
  ``trainer_state.pt`` with ``average_reward`` [T3];
- ``nav_2025_07``: resumed across a code update: v2 records with ``PolicyMetadata`` [L6] for the first
  epochs, then M7 metadata with ``evals`` [L7]; ``trainer_state.pt`` [T7];
- ``arena_2025_08``: A2 agents (``policy`` submodule); the first epoch [L8], the others written during
  the empty-metadata bug [L9: only the four zero defaults]; ``trainer_state.pt`` [T7] for the last epoch;
- ``arena_2025_09``: raw ``torch.save(MettaAgent)`` files named ``<run>__e<E>__s<S>__t<T>__sc<SC>.pt`` [N]
  with ``checkpoints/trainer_state.pt`` [N].

``hidden`` sets the agents' width (the file size grows as ~32 * hidden**2 bytes); files are deterministic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# run name -> one generation per epoch (in order); see the module docstring.
DEMO_RUNS: dict[str, tuple[tuple[int, str], ...]] = {
    "nav_2025_05": ((0, "L4"), (10, "L4"), (20, "L4")),
    "nav_2025_07": ((0, "L6"), (10, "L6"), (20, "L7"), (30, "L7")),
    "arena_2025_08": ((0, "L8"), (10, "L9"), (20, "L9")),
    "arena_2025_09": ((0, "N"), (10, "N"), (20, "N")),
}
TRAINER_GENERATION = {"L4": "T3", "L6": "T7", "L7": "T7", "L8": "T7", "L9": "T7", "N": "N"}
STEPS_PER_EPOCH = 1024
DEMO_HIDDEN = 32  # the agents' width in the demo (journey._agent_factory builds the same shape)

# Stand-ins of the legacy classes: module path -> source. Only what pickling needs (class paths and the
# attribute names the legacy code had); nothing here is the legacy implementation.
LEGACY_SOURCES: dict[str, str] = {
    "metta/__init__.py": "",
    "metta/agent/__init__.py": "",
    "metta/agent/metta_agent.py": '''
from torch import nn


class MettaAgent(nn.Module):
    """A1: owns `components`; A2: owns a `policy` (a ComponentPolicy owning the components)."""

    def __init__(self, components=None, policy=None):
        super().__init__()
        if components is not None:
            self.components = components
        if policy is not None:
            self.policy = policy
''',
    "metta/agent/component_policy.py": """
from torch import nn


class ComponentPolicy(nn.Module):
    def __init__(self, components):
        super().__init__()
        self.components = components
""",
    "metta/agent/policy_metadata.py": """
class PolicyMetadata(dict):
    pass
""",
    "metta/agent/policy_store.py": """
class PolicyRecord:
    def __init__(self, policy_store, name, uri, metadata):
        self._policy_store = policy_store
        self.name = name
        self.uri = uri
        self.metadata = metadata
        self._policy = None
        self._local_path = uri[len("file://"):]
""",
    "metta/agent/policy_record.py": """
class PolicyRecord:
    def __init__(self, policy_store, run_name, uri, metadata):
        self._policy_store = policy_store
        self.run_name = run_name
        self.uri = uri
        self._metadata = metadata
        self._cached_policy = None
""",
}

# Runs in the subprocess, with the stand-ins importable: builds and saves every file of the plan.
WRITER = r"""
import json, os, sys
import torch
from torch import nn

plan = json.load(open(sys.argv[1]))
hidden = plan["hidden"]


def components(seed):
    torch.manual_seed(seed)
    return nn.ModuleDict({
        "_core_": nn.LSTM(hidden, hidden),
        "_value_": nn.Linear(hidden, 1),
        "_action_": nn.Linear(hidden, 8),
    })


def agent(layout, seed):
    from metta.agent.metta_agent import MettaAgent
    if layout == "A1":
        return MettaAgent(components=components(seed))
    from metta.agent.component_policy import ComponentPolicy
    return MettaAgent(policy=ComponentPolicy(components(seed)))


def optimizer_state(model):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.full_like(p, 1e-3)
    opt.step()
    return opt.state_dict()


def save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path)


for item in plan["files"]:
    layout = "A2" if item["generation"] in ("L8", "L9", "N") else "A1"
    model = agent(layout, item["seed"])
    if item["generation"] == "L4":
        from metta.agent.policy_store import PolicyRecord
        record = PolicyRecord(None, item["writer_path"], "file://" + item["writer_path"], item["metadata"])
        record._policy = model
        save(record, item["path"])
    elif item["generation"] == "N":
        save(model, item["path"])
    else:
        from metta.agent.policy_metadata import PolicyMetadata
        from metta.agent.policy_record import PolicyRecord
        record = PolicyRecord(None, os.path.basename(item["path"]), "file://" + item["writer_path"],
                              PolicyMetadata(**item["metadata"]))
        record._cached_policy = model
        save(record, item["path"])
    if item.get("trainer_state"):
        state = dict(item["trainer_state"]["values"])
        state[item["trainer_state"]["optimizer_key"]] = optimizer_state(model)
        save(state, item["trainer_state"]["path"])
"""


@dataclass(frozen=True)
class LegacyTrainDir:
    """What `build_legacy_train_dir` wrote."""

    root: Path
    runs: dict[str, list[Path]]  # run -> policy files, in epoch order
    trainer_states: dict[str, Path]

    @property
    def files(self) -> list[Path]:
        return [p for paths in self.runs.values() for p in paths] + list(self.trainer_states.values())


def _metadata(generation: str, run: str, epoch: int) -> dict[str, object]:
    """The metadata key set the legacy trainer wrote for `generation` (spec §5: M5, M6, M7, M9)."""
    step = epoch * STEPS_PER_EPOCH
    defaults = {"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}
    if epoch == 0 or generation == "L9":
        return dict(defaults)  # creation-time record; L9: the empty-metadata bug (spec §11.1)
    # Scores rise, except the last epoch of a run with four epochs (so "best" is not simply "latest").
    score = round(0.2 + 0.02 * epoch - (0.25 if epoch == 30 else 0.0), 4)
    if generation == "L4":
        return {
            "agent_step": step,
            "epoch": epoch,
            "run": run,
            "action_names": ["noop", "move", "rotate", "attack"],
            "generation": 0,
            "initial_uri": f"file://./train_dir/{run}/checkpoints/model_0000.pt",
            "train_time": 12.5 * epoch,
            "score": score,
            "eval_scores": {"navigation_score": score, "object_use_score": score / 2},
        }
    if generation == "L6":
        return {
            **defaults,
            "agent_step": step,
            "epoch": epoch,
            "run": run,
            "train_time": 12.5 * epoch,
            "score": score,
            "eval_scores": {"navigation": score},
        }
    # L7 / L8 (M7/M8)
    return {
        **defaults,
        "agent_step": step,
        "epoch": epoch,
        "run": run,
        "total_time": 15.0 * epoch,
        "total_train_time": 12.5 * epoch,
        "initial_pr": f"file://./train_dir/{run}/checkpoints/model_0000.pt",
        "evals": {
            "category_scores": {"navigation": score},
            "simulation_scores": {"navigation/maze": score},
            "avg_category_score": score,
            "avg_simulation_score": score,
        },
        "avg_reward": score,
        "score": score,
    }


def _trainer_state(generation: str, path: Path, epoch: int, policy: str) -> dict[str, object]:
    """`policy` is the path as the writing machine spelled it (legacy files record that, spec §11.2)."""
    step = epoch * STEPS_PER_EPOCH
    stopwatch = {
        "version": "1.0",
        "timers": {
            name: {"name": name, "start_time": None, "total_elapsed": total, "last_elapsed": 1.0}
            for name, total in (("global", 15.0 * epoch), ("_rollout", 8.0 * epoch), ("_train", 4.5 * epoch))
        },
        "max_laps": 10,
    }
    if generation == "T3":
        values: dict[str, object] = {"agent_step": step, "epoch": epoch, "policy_path": policy}
        values["average_reward"] = 0.5
        key = "optimizer_state_dict"
    elif generation == "T7":
        values = {"agent_step": step, "epoch": epoch, "policy_path": f"file://{policy}"}
        values["stopwatch_state"] = stopwatch
        key = "optimizer_state_dict"
    else:  # N
        values = {"agent_step": step, "epoch": epoch, "stopwatch_state": stopwatch}
        key = "optimizer"
    return {"path": str(path), "values": values, "optimizer_key": key}


def _plan(root: Path, runs: Mapping[str, Sequence[tuple[int, str]]]) -> tuple[list[dict], LegacyTrainDir]:
    files: list[dict] = []
    written: dict[str, list[Path]] = {}
    states: dict[str, Path] = {}
    for run_index, (run, epochs) in enumerate(runs.items()):
        ckpt_dir = root / run / "checkpoints"
        written[run] = []
        for position, (epoch, generation) in enumerate(epochs):
            if generation == "N":
                score = _metadata("L7", run, epoch).get("score", 0.0)
                name = f"{run}__e{epoch}__s{epoch * STEPS_PER_EPOCH}__t{15 * epoch}__sc{int(float(score) * 10000)}.pt"  # type: ignore[arg-type]
                path = ckpt_dir / name
            else:
                path = ckpt_dir / f"model_{epoch:04d}.pt"
            item: dict[str, object] = {
                "path": str(path),
                "writer_path": f"./train_dir/{run}/checkpoints/{path.name}",
                "generation": generation,
                "seed": 1000 * run_index + epoch,
                "metadata": _metadata(generation, run, epoch),
            }
            if position == len(epochs) - 1:
                trainer_gen = TRAINER_GENERATION[generation]
                state_path = (ckpt_dir if trainer_gen == "N" else root / run) / "trainer_state.pt"
                writer_path = str(item["writer_path"])
                item["trainer_state"] = _trainer_state(trainer_gen, state_path, epoch, writer_path)
                states[run] = state_path
            files.append(item)
            written[run].append(path)
    return files, LegacyTrainDir(root, written, states)


def write_legacy_sources(target: Path) -> Path:
    """Write the stand-in legacy modules under ``target`` (for tools that need them importable)."""
    for rel, source in LEGACY_SOURCES.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.lstrip("\n"))
    return target


def build_legacy_train_dir(
    root: Path, runs: Mapping[str, Sequence[tuple[int, str]]] | None = None, hidden: int = DEMO_HIDDEN
) -> LegacyTrainDir:
    """Write a legacy train_dir under ``root`` (which must not hold any of the runs yet)."""
    runs = DEMO_RUNS if runs is None else runs
    root = Path(root)
    for run in runs:
        if (root / run).exists():
            raise FileExistsError(
                f"{root / run} already exists; the demo writes legacy runs only into new dirs"
            )
    files, result = _plan(root, runs)
    with tempfile.TemporaryDirectory(prefix="simple-ckpt-legacy-src-") as tmp:
        src = write_legacy_sources(Path(tmp) / "src")
        plan_path = Path(tmp) / "plan.json"
        plan_path.write_text(json.dumps({"hidden": hidden, "files": files}))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = str(src)
        done = subprocess.run(
            [sys.executable, "-c", WRITER, str(plan_path)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"writing the legacy train_dir under {root} failed: {tail[0]}")
    return result
