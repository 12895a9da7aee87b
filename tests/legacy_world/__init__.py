"""A stand-in legacy world: writes legacy checkpoint files of every generation, for tests.

Why: the converter must read files whose classes (PolicyRecord, PolicyMetadata, MettaAgent, ...) no longer
exist. ``legacy_src/`` recreates just their module paths and attribute names (our own small classes, see
its README); this package writes files with them and then removes them from ``sys.modules`` and
``sys.path`` again, so the reader under test never finds the legacy classes importable — exactly the
situation of a real user. Files are deterministic for a given epoch.

Use the ``legacy_world`` pytest fixture (registered for all tests by ``tests/conftest.py``); it returns a
`LegacyWorld` writing under ``tmp_path / "legacy"``. While it is active nothing named like a legacy
package (``metta``, ``agent``, ``rl``, ``omegaconf``, ``gymnasium``) is importable, even if another tree
on ``sys.path`` has one (fixture ``no_legacy_modules`` does just that, e.g. for the real fixtures):

    path = legacy_world.write_policy(legacy_world.root / "model_0010.pt", generation="L6", epoch=10)
    legacy_world.write_trainer_state(run / "trainer_state.pt", generation="T7", epoch=10)
    run = legacy_world.make_run_dir(legacy_world.root, "run_a", generation="L7", epochs=(0, 10, 20))

API (``write_*`` / ``make_*`` return the path written; keyword arguments are optional):

- ``write_policy(path, generation, epoch, agent_step, metadata, layout, numpy_paths, device,
  lstm_cache, run)``: one policy file. generation: ``L0``..``L9`` (L5 = torch.package), ``N`` (raw
  A2 agent). layout overrides the agent: ``A1``, ``A2``, ``puffer``, ``pytorch``. metadata overrides
  the generation's key set (``{}`` for none). numpy_paths ``"1"`` spells ``numpy.core``, ``"2"``
  ``numpy._core``. device: storage location written (``"cuda:0"``, ``"mps"``).
- ``expected_metadata(generation, epoch, agent_step, run)``: the metadata `write_policy` puts in.
- ``expected_state_dict(generation, epoch, layout)``: the agent's state_dict, for tensor equality.
- ``write_trainer_state(path, generation="T7", epoch, agent_step, policy_path)``: ``T0``..``T7`` or ``N``.
- ``write_torch_package(path, epoch, ...)``: an L5 archive (same as ``write_policy(generation="L5")``).
- ``write_safetensors_pair(stem_path, epoch, metadata, layout="A2")``: ``.safetensors`` + ``.yaml``
  (B1, with a ``!MultiDiscrete`` tag); returns the ``.safetensors`` path.
- ``write_uri_named(checkpoint_dir, run, epoch, agent_step, total_time, score)``: an N file named
  ``<run>__e<E>__s<S>__t<T>__sc<SC>.pt``.
- ``write_bare_state_dict(path)``: an OrderedDict of tensors (not a legacy checkpoint).
- ``write_hostile(path, module="os", name="system", arg=..., style="global", container="zip")``: a
  file that would call ``module.name(arg)``; style ``global`` | ``stack_global`` | ``memo`` | ``inst`` |
  ``nested`` (see `containers.hostile_pickle`); container ``zip`` | ``package`` | ``pickle``.
- ``sentinel_command()``: a shell command and the file it would create, to prove nothing ran.
- ``make_run_dir(root, run, generation="L6", epochs=(0, 10, 20), trainer_state="T7",
  empty_metadata_bug=False)``: ``<root>/<run>/checkpoints/model_NNNN.pt`` (L0: ``model_NNNNNN.pt`` in
  the run dir; N: URI names) and ``trainer_state.pt`` for the last epoch (None: no trainer state).
  ``empty_metadata_bug=True`` writes M9 metadata (the L9 bug) whatever the generation.
- ``make_train_dir(root, runs={"run_a": "L6", ...}, epochs, artifacts=True)``: several run dirs plus a
  wandb cache ``artifacts/<run>:v<N>/model.pt``.
- ``importable()``: context manager putting the stand-in classes on ``sys.path`` (to test "real" class
  resolution); everything is purged on exit.
"""

from __future__ import annotations

import copy
import os
import shlex
import sys
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from . import builders as b
from . import containers as c

POLICY_GENERATIONS = ("L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8", "L9", "N")
TRAINER_GENERATIONS = ("T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "N")
DEFAULT_LAYOUT = {
    "L0": "puffer",
    "L1": "puffer",
    "L2": "puffer",
    "L3": "A1",
    "L4": "A1",
    "L5": "A1",
    "L6": "A1",
    "L7": "A1",
    "L8": "A2",
    "L9": "A2",
    "N": "A2",
}
# Container class path written per generation (what a reader should report).
CONTAINER = {
    "L1": "agent.policy_store.PolicyRecord",
    "L2": "agent.policy_store.PolicyRecord",
    "L3": "agent.policy_store.PolicyRecord",
    "L4": "metta.agent.policy_store.PolicyRecord",
    "L6": "metta.agent.policy_record.PolicyRecord",
    "L7": "metta.agent.policy_record.PolicyRecord",
    "L8": "metta.agent.policy_record.PolicyRecord",
    "L9": "metta.agent.policy_record.PolicyRecord",
}
AGENT_CLASS = {
    "puffer": "rl.pufferlib.puffer_agent_wrapper.Recurrent",
    "A1": "metta.agent.metta_agent.MettaAgent",
    "A2": "metta.agent.metta_agent.MettaAgent",
    "pytorch": "metta.rl.puffer_policy.PytorchAgent",
}


class LegacyWorld:
    """Writes legacy files under `root`; see the module docstring for the API."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------------------------- metadata
    def expected_metadata(
        self, generation: str, epoch: int = 10, agent_step: int | None = None, run: str = "legacy_run"
    ) -> dict[str, Any]:
        step = epoch * 1024 if agent_step is None else agent_step
        if generation in ("L0", "N"):
            return {}
        if generation == "L9":
            return {"agent_step": 0, "epoch": 0, "generation": 0, "train_time": 0.0}
        if epoch == 0:
            md: dict[str, Any] = {"agent_step": 0, "epoch": 0, "generation": 0}
            if generation in ("L1", "L2", "L3", "L4", "L5"):
                md["action_names"] = list(b.ACTION_NAMES)
            if generation not in ("L1", "L2"):
                md["train_time"] = 0.0 if generation in ("L6", "L7", "L8") else 0
            return md
        base = {"agent_step": step, "epoch": epoch, "run": run, "generation": 0}
        if generation in ("L1", "L2"):
            return {**base, "action_names": list(b.ACTION_NAMES), "initial_uri": "wandb://run/parent"}
        if generation == "L3":
            return {
                **base,
                "action_names": list(b.ACTION_NAMES),
                "initial_uri": None,
                "train_time": 12.5,
                "score": 0.0,
            }
        if generation == "L4":
            return {
                **base,
                "action_names": list(b.ACTION_NAMES),
                "initial_uri": None,
                "train_time": 30.0,
                "score": b.numpy_float(0.25),
                "eval_scores": {"navigation_score": b.numpy_float(0.5), "memory_score": b.numpy_float(0.0)},
            }
        if generation in ("L5", "L6"):
            md = {
                **base,
                "action_names": list(b.ACTION_NAMES),
                "initial_uri": None,
                "train_time": 40.0,
                "score": 0.5,
                "eval_scores": {"navigation": 0.5},
            }
            if generation == "L6":
                md["original_feature_mapping"] = dict(b.FEATURE_MAPPING)
            return md
        md = {
            **base,
            "total_time": 100.0 + epoch,
            "total_train_time": 60.0 + epoch,
            "initial_pr": None,
            "original_feature_mapping": dict(b.FEATURE_MAPPING),
            "train_time": 0.0,
        }
        if generation in ("L7", "L8"):
            md["evals"] = {
                "category_scores": {"navigation": 0.5},
                "simulation_scores": {"navigation/simple": 0.5},
                "avg_category_score": 0.5,
                "avg_simulation_score": 0.5,
            }
            md["avg_reward"] = 0.5
            md["score"] = 0.5
        return md

    # ------------------------------------------------------------------------------------ policies
    def write_policy(
        self,
        path: Path,
        generation: str = "L6",
        epoch: int = 10,
        agent_step: int | None = None,
        metadata: dict[str, Any] | None = None,
        layout: str | None = None,
        numpy_paths: str | None = None,
        device: str | None = None,
        lstm_cache: bool | None = None,
        run: str = "legacy_run",
    ) -> Path:
        if generation not in POLICY_GENERATIONS:
            raise ValueError(f"unknown policy generation {generation!r}; one of {POLICY_GENERATIONS}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        layout = layout or DEFAULT_LAYOUT[generation]
        md = self.expected_metadata(generation, epoch, agent_step, run) if metadata is None else metadata
        if numpy_paths is None:
            numpy_paths = "2" if generation in ("L6", "L7", "N") else "1"
        if lstm_cache is None:
            lstm_cache = generation in ("L7", "L8", "L9", "N")
        writer_path = f"./train_dir/{run}/checkpoints/{path.name}"
        with b.legacy_importable():
            agent = self._agent(layout, generation, epoch, lstm_cache)
            if generation == "L5":
                record = b.record_v2(path.name, f"file://{writer_path}", None, None)
                state = vars(record)
                del state["_metadata"], state["run_name"]
                state["name"] = path.name
                state["metadata"] = copy.deepcopy(md)
                self._write_package(path, record, agent, numpy_paths == "1")
                return path
            obj: Any
            if generation in ("L0", "N"):
                obj = agent
                if generation == "L0":
                    agent.uri = writer_path
                    agent.name = path.name
            elif generation in ("L1", "L2", "L3", "L4"):
                module = "metta.agent.policy_store" if generation == "L4" else "agent.policy_store"
                obj = b.record_v1(
                    module, writer_path, f"file://{writer_path}", copy.deepcopy(md), agent, generation == "L1"
                )
            else:
                obj = b.record_v2(
                    path.name, f"file://{writer_path}", b.policy_metadata(copy.deepcopy(md)), agent
                )
            self._save(obj, path, atomic_prefix=generation not in ("L0", "L1", "L2", "L3", "L4"))
        edits = []
        if numpy_paths == "1":
            edits.append(c.numpy1_paths)
        if device:
            edits.append(c.storage_location(device))
        if edits:
            c.rewrite_pickle(path, lambda data: _chain(data, edits))
        return path

    def write_torch_package(self, path: Path, epoch: int = 10, **kw: Any) -> Path:
        return self.write_policy(path, generation="L5", epoch=epoch, **kw)

    def write_uri_named(
        self,
        checkpoint_dir: Path,
        run: str = "legacy_run",
        epoch: int = 10,
        agent_step: int | None = None,
        total_time: int = 100,
        score: float = 0.5,
    ) -> Path:
        step = epoch * 1024 if agent_step is None else agent_step
        name = f"{run}__e{epoch}__s{step}__t{int(total_time)}__sc{int(score * 10000)}.pt"
        return self.write_policy(Path(checkpoint_dir) / name, generation="N", epoch=epoch, run=run)

    def write_safetensors_pair(
        self, stem_path: Path, epoch: int = 10, metadata: dict[str, Any] | None = None, layout: str = "A2"
    ) -> Path:
        stem_path = Path(stem_path)
        stem_path.parent.mkdir(parents=True, exist_ok=True)
        with b.legacy_importable():
            agent = self._agent(layout, "L8", epoch, lstm_cache=False)
            tensors = {k: v.detach().clone() for k, v in agent.state_dict().items()}
        st_path = stem_path.with_suffix(".safetensors")
        c.write_safetensors(st_path, tensors)
        md = self.expected_metadata("L8", epoch) if metadata is None else metadata
        sidecar = {
            "metadata": md,
            "agent": {
                "agent_attributes": {
                    "clip_range": 0,
                    "action_space": _MultiDiscreteTag([4, 9]),
                    "obs_width": 11,
                }
            },
            "model_type": "MettaAgent",
            "run_name": stem_path.name,
            "uri": f"file://./train_dir/run/checkpoints/{stem_path.name}.safetensors",
        }
        stem_path.with_suffix(".yaml").write_text(yaml.dump(sidecar, Dumper=_SidecarDumper, sort_keys=False))
        return st_path

    def write_bare_state_dict(self, path: Path) -> Path:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(OrderedDict(net.state_dict()), path)
        return Path(path)

    # ------------------------------------------------------------------------------ trainer state
    def write_trainer_state(
        self,
        path: Path,
        generation: str = "T7",
        epoch: int = 10,
        agent_step: int | None = None,
        policy_path: str | None = None,
        run: str = "legacy_run",
    ) -> Path:
        if generation not in TRAINER_GENERATIONS:
            raise ValueError(f"unknown trainer generation {generation!r}; one of {TRAINER_GENERATIONS}")
        step = epoch * 1024 if agent_step is None else agent_step
        opt = b.optimizer_state(epoch)
        local = policy_path or f"./train_dir/{run}/checkpoints/model_{epoch:04d}.pt"
        state: dict[str, Any]
        if generation == "T0":
            state = {
                "optimizer_state_dict": opt,
                "global_step": step,
                "agent_step": step,
                "epoch": epoch,
                "model_name": f"model_{epoch:06d}.pt",
                "run": run,
            }
        elif generation == "T1":
            state = {"optimizer_state_dict": opt, "agent_step": step, "epoch": epoch, "model_path": local}
        elif generation in ("T2", "T3"):
            state = {"optimizer_state_dict": opt, "agent_step": step, "epoch": epoch, "policy_path": local}
            if generation == "T3":
                state["average_reward"] = b.numpy_float(0.75)
        elif generation == "T4":
            state = {
                "optimizer_state_dict": opt,
                "agent_step": step,
                "epoch": epoch,
                "policy_path": None,
                "total_agent_step": step * 2,
                "extra_args": {},
            }
        elif generation in ("T5", "T6"):
            state = {
                "optimizer_state_dict": opt,
                "agent_step": step,
                "epoch": epoch,
                "total_agent_step": step * 2,
                "policy_path": f"file://{local}",
            }
            if generation == "T6":
                state["stopwatch_state"] = b.stopwatch_state(100.0 + epoch)
        elif generation == "T7":
            state = {
                "optimizer_state_dict": opt,
                "agent_step": step,
                "epoch": epoch,
                "policy_path": f"file://{local}",
                "stopwatch_state": b.stopwatch_state(100.0 + epoch),
            }
        else:
            state = {
                "optimizer": opt,
                "epoch": epoch,
                "agent_step": step,
                "stopwatch_state": b.stopwatch_state(100.0),
            }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, path)
        if generation == "T3":
            c.rewrite_pickle(path, c.numpy1_paths)
        return path

    # ------------------------------------------------------------------------------------ hostile
    def sentinel_command(self, name: str = "PWNED") -> tuple[str, Path]:
        sentinel = self.root / name
        return f"touch {shlex.quote(str(sentinel))}", sentinel

    def write_hostile(
        self,
        path: Path,
        module: str = "os",
        name: str = "system",
        arg: str | None = None,
        style: str = "global",
        container: str = "zip",
    ) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = c.hostile_pickle(module, name, arg if arg is not None else self.sentinel_command()[0], style)
        if container == "zip":
            c.write_torch_zip(path, data)
        elif container == "package":
            prefix = path.stem
            import zipfile

            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr(f"{prefix}/policy_record/data.pkl", data)
                zf.writestr(f"{prefix}/policy/model.pkl", data)
                zf.writestr(f"{prefix}/.data/extern_modules", "torch\n")
                zf.writestr(f"{prefix}/.data/version", "6\n")
        elif container == "pickle":
            path.write_bytes(data)
        else:
            raise ValueError(f"unknown container {container!r}")
        return path

    def expected_state_dict(
        self, generation: str = "L6", epoch: int = 10, layout: str | None = None
    ) -> dict[str, torch.Tensor]:
        """The state_dict of the agent `write_policy(generation, epoch, layout)` writes (for equality tests)."""
        with b.legacy_importable():
            agent = self._agent(layout or DEFAULT_LAYOUT[generation], generation, epoch, lstm_cache=False)
            return {k: v.detach().clone() for k, v in agent.state_dict().items()}

    # ----------------------------------------------------------------------------------- run dirs
    def make_run_dir(
        self,
        root: Path,
        run: str,
        generation: str = "L6",
        epochs: Sequence[int] = (0, 10, 20),
        trainer_state: str | None = "T7",
        empty_metadata_bug: bool = False,
    ) -> Path:
        run_dir = Path(root) / run
        for epoch in epochs:
            if generation == "N":
                self.write_uri_named(run_dir / "checkpoints", run=run, epoch=epoch)
                continue
            if generation == "L0":
                target = run_dir / f"model_{epoch:06d}.pt"
            else:
                target = run_dir / "checkpoints" / f"model_{epoch:04d}.pt"
            md = self.expected_metadata("L9", epoch) if empty_metadata_bug else None
            self.write_policy(target, generation=generation, epoch=epoch, metadata=md, run=run)
        if trainer_state and epochs:
            last = max(epochs)
            where = run_dir / "checkpoints" if trainer_state == "N" else run_dir
            self.write_trainer_state(
                where / "trainer_state.pt", generation=trainer_state, epoch=last, run=run
            )
        return run_dir

    def make_train_dir(
        self,
        root: Path,
        runs: dict[str, str] | None = None,
        epochs: Sequence[int] = (0, 10),
        artifacts: bool = True,
    ) -> Path:
        root = Path(root)
        runs = runs or {"run_l4": "L4", "run_l6": "L6", "run_l8": "L8"}
        for run, generation in runs.items():
            trainer = {"L0": "T0", "L1": "T1", "L2": "T2", "L3": "T3", "L4": "T3", "L5": "T6", "N": "N"}.get(
                generation, "T7"
            )
            self.make_run_dir(root, run, generation, epochs, trainer_state=trainer)
        if artifacts:
            first = next(iter(runs))
            self.write_policy(
                root / "artifacts" / f"{first}:v3" / "model.pt", generation=runs[first], epoch=max(epochs)
            )
        return root

    @contextmanager
    def importable(self) -> Iterator[None]:
        with b.legacy_importable():
            yield

    # ---------------------------------------------------------------------------------- internals
    def _agent(self, layout: str, generation: str, epoch: int, lstm_cache: bool) -> Any:
        seed = 1000 + epoch
        if layout == "A1":
            lib = "agent.lib" if generation == "L3" else "metta.agent.lib"
            return b.metta_agent_a1(seed, lstm_cache, lib=lib)
        if layout == "A2":
            return b.metta_agent_a2(seed, lstm_cache, pydantic_cfg=generation in ("L9", "N"))
        if layout == "puffer":
            return b.puffer_agent(seed)
        if layout == "pytorch":
            return b.pytorch_agent(seed)
        raise ValueError(f"unknown layout {layout!r}")

    def _save(self, obj: Any, path: Path, atomic_prefix: bool) -> None:
        # Legacy writers from 2025-07-01 saved to `<name>.tmp` then renamed: the zip prefix is `model_NNNN.pt`.
        target = Path(f"{path}.tmp") if atomic_prefix else path
        torch.save(obj, target)
        if atomic_prefix:
            os.replace(target, path)

    def _write_package(self, path: Path, record: Any, agent: Any, numpy1: bool) -> None:
        sources = {}
        for module in (
            "metta/agent/metta_agent.py",
            "metta/agent/policy_record.py",
            "metta/agent/lib/lstm.py",
        ):
            sources[module] = (b.LEGACY_SRC / module).read_text()
        # Interned source must never run: if a reader executed it, this would leave a file behind.
        sources["metta/agent/__init__.py"] = "open('PACKAGE_SOURCE_RAN', 'w').close()\n"
        extern = ["torch", "numpy", "omegaconf", "gymnasium", "sys"]
        c.write_package(path, record, agent, sources, extern, numpy1)


def _chain(data: bytes, edits: list[Any]) -> bytes:
    for edit in edits:
        data = edit(data)
    return data


class _MultiDiscreteTag:
    def __init__(self, nvec: list[int]) -> None:
        self.nvec = nvec


class _SidecarDumper(yaml.SafeDumper):
    pass


_SidecarDumper.add_representer(
    _MultiDiscreteTag,
    lambda dumper, data: dumper.represent_mapping("!MultiDiscrete", {"nvec": data.nvec, "dtype": "int64"}),
)


@pytest.fixture
def no_legacy_modules() -> Iterator[None]:
    """Nothing named like a legacy package (`metta`, `agent`, `rl`, `omegaconf`, ...) is importable."""
    with b.legacy_absent():
        yield
        leaked = [name for name in sys.modules if name.split(".")[0] in b.LEGACY_TOP_LEVEL]
        assert not leaked, f"legacy modules were imported during the test: {leaked}"


@pytest.fixture
def legacy_world(tmp_path: Path, no_legacy_modules: None) -> LegacyWorld:
    """A `LegacyWorld` writing under `tmp_path / "legacy"`, with no legacy package importable meanwhile."""
    return LegacyWorld(tmp_path / "legacy")
