"""Build legacy objects (records, agents, metadata) from the stand-in legacy packages in ``legacy_src/``.

Every function here must run inside `legacy_importable()`: the stand-in modules are importable only for
the duration of a write, then purged from ``sys.modules`` and ``sys.path`` so the reader under test never
sees them. Objects are deterministic for a given seed.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

LEGACY_SRC = Path(__file__).resolve().parent / "legacy_src"
LEGACY_TOP_LEVEL = ("agent", "metta", "rl", "rl_framework", "omegaconf", "gymnasium", "_legacy_common")
_LOCK = threading.RLock()

HIDDEN = 16
NUM_FEATURES = 22
ACTION_NAMES = ["noop", "move", "rotate", "attack"]
FEATURE_MAPPING = {f"feature_{i}": i for i in range(NUM_FEATURES)}


def _is_legacy_name(name: str) -> bool:
    return name.split(".")[0] in LEGACY_TOP_LEVEL


def _take_legacy_modules() -> dict[str, Any]:
    """Remove (and return) every imported module under a legacy top-level name."""
    taken = {name: module for name, module in sys.modules.items() if _is_legacy_name(name)}
    for name in taken:
        del sys.modules[name]
    return taken


class LegacyImportBlocker:
    """A meta-path finder that makes legacy top-level packages unimportable while it is installed.

    Other trees on sys.path (e.g. a legacy mini-codebase used as codemod input) may contain a `metta`
    package; the reader under test must not find it. Writing fixtures suspends the block.
    """

    def __init__(self) -> None:
        self.suspended = 0

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if not self.suspended and _is_legacy_name(name):
            raise ModuleNotFoundError(f"{name} is hidden by legacy_world", name=name)
        return None


BLOCKER = LegacyImportBlocker()


@contextmanager
def legacy_absent() -> Iterator[None]:
    """No legacy package importable (nor imported) inside; everything restored on exit."""
    with _LOCK:
        saved = _take_legacy_modules()
        sys.meta_path.insert(0, BLOCKER)
        importlib.invalidate_caches()
    try:
        yield
    finally:
        with _LOCK:
            if BLOCKER in sys.meta_path:
                sys.meta_path.remove(BLOCKER)
            _take_legacy_modules()
            sys.modules.update(saved)
            importlib.invalidate_caches()


@contextmanager
def legacy_importable() -> Iterator[None]:
    """Make the stand-in legacy packages importable, and remove every trace of them afterwards."""
    with _LOCK:
        saved = _take_legacy_modules()
        BLOCKER.suspended += 1
        sys.path.insert(0, str(LEGACY_SRC))
        importlib.invalidate_caches()
        try:
            yield
        finally:
            sys.path.remove(str(LEGACY_SRC))
            sys.path_importer_cache.pop(str(LEGACY_SRC), None)
            _take_legacy_modules()
            sys.modules.update(saved)
            BLOCKER.suspended -= 1
            importlib.invalidate_caches()


def _mod(name: str) -> Any:
    return importlib.import_module(name)


def config(value: Any) -> Any:
    """An OmegaConf-shaped node graph (DictConfig/ListConfig/AnyNode with parent links)."""
    return _mod("omegaconf.dictconfig").make_config(value)


def components(lib: str, seed: int, lstm_cache: bool) -> nn.ModuleDict:
    """The component graph of a MettaAgent, with shared `_source_components` links between components."""
    torch.manual_seed(seed)
    nn_lib = _mod(f"{lib}.nn_layer_library")
    obs = _mod(f"{lib}.obs_token_to_box_shaper").ObsTokenToBoxShaper("_obs_")
    norm = _mod(f"{lib}.observation_normalizer").ObservationNormalizer(
        "obs_normalizer", NUM_FEATURES, sources=[{"name": "_obs_"}]
    )
    cnn1 = nn_lib.Conv2d(
        "cnn1",
        NUM_FEATURES,
        4,
        sources=[{"name": "obs_normalizer"}],
        nn_params=config({"out_channels": 4, "kernel_size": 3}),
    )
    flat = nn_lib.Flatten("obs_flattener", sources=[{"name": "cnn1"}])
    fc1 = nn_lib.Linear("fc1", 4 * 9 * 9, HIDDEN, sources=[{"name": "obs_flattener"}])
    core = _mod(f"{lib}.lstm").LSTM("_core_", HIDDEN, HIDDEN, num_layers=2, sources=[{"name": "fc1"}])
    if lstm_cache:
        cache_rng = torch.Generator().manual_seed(seed)  # its own stream: weights do not depend on the cache
        core.lstm_h = {0: torch.randn(2, 3, HIDDEN, generator=cache_rng)}
        core.lstm_c = {0: torch.randn(2, 3, HIDDEN, generator=cache_rng)}
    value = nn_lib.Linear("_value_", HIDDEN, 1, sources=[{"name": "_core_"}])
    embeds = _mod(f"{lib}.action").ActionEmbedding("_action_embeds_", 10, 8)
    actor = _mod(f"{lib}.actor").MettaActorSingleHead(
        "_action_", HIDDEN, 8, sources=[{"name": "_core_"}, {"name": "_action_embeds_"}]
    )
    norm._source_components = {"_obs_": obs}
    cnn1._source_components = {"obs_normalizer": norm}
    flat._source_components = {"cnn1": cnn1}
    fc1._source_components = {"obs_flattener": flat}
    core._source_components = {"fc1": fc1}
    value._source_components = {"_core_": core}
    actor._source_components = {"_core_": core, "_action_embeds_": embeds}
    return nn.ModuleDict(
        {
            "_obs_": obs,
            "obs_normalizer": norm,
            "cnn1": cnn1,
            "obs_flattener": flat,
            "fc1": fc1,
            "_core_": core,
            "_value_": value,
            "_action_embeds_": embeds,
            "_action_": actor,
        }
    )


def _action_attributes() -> dict[str, Any]:
    return {
        "action_names": list(ACTION_NAMES),
        "action_max_params": [0, 1, 1, 8],
        "cum_action_max_params": torch.tensor([0, 1, 3, 5], dtype=torch.long),
        "action_index_tensor": torch.tensor([[0, 0], [1, 0], [1, 1], [2, 0]], dtype=torch.int32),
    }


def agent_attributes() -> dict[str, Any]:
    md = _mod("gymnasium.spaces.multi_discrete").MultiDiscrete([4, 9])
    return {
        "clip_range": 0,
        "action_space": md,
        "feature_normalizations": {i: 1.0 for i in range(NUM_FEATURES)},
        "obs_width": 11,
        "obs_height": 11,
        "obs_key": "grid_obs",
        "obs_shape": [11, 11, NUM_FEATURES],
        "hidden_size": HIDDEN,
        "core_num_layers": 2,
    }


def metta_agent_a1(
    seed: int, lstm_cache: bool = False, lib: str = "metta.agent.lib", module: str = ""
) -> nn.Module:
    """A1: MettaAgent owning `components` directly (2025-02-20 .. 2025-08-13)."""
    agent_cls = _mod(module or lib.replace(".lib", ".metta_agent")).MettaAgent
    agent = agent_cls(components=components(lib, seed, lstm_cache))
    for key, value in {
        "hidden_size": HIDDEN,
        "core_num_layers": 2,
        "clip_range": 0,
        "agent_attributes": agent_attributes(),
        "device": torch.device("cpu"),
        "active_features": {name: {"id": i, "normalization": 1.0} for name, i in FEATURE_MAPPING.items()},
        "feature_id_to_name": {i: name for name, i in FEATURE_MAPPING.items()},
        "original_feature_mapping": dict(FEATURE_MAPPING),
        "_total_params": 1234,
        **_action_attributes(),
    }.items():
        setattr(agent, key, value)
    return agent


def metta_agent_a2(seed: int, lstm_cache: bool = False, pydantic_cfg: bool = False) -> nn.Module:
    """A2: MettaAgent owning a `policy` (a concrete ComponentPolicy), 2025-08-13 onward."""
    policy = _mod("metta.agent.component_policy").ComponentPolicy(
        components=components("metta.agent.lib", seed, lstm_cache),
        cfg=config(
            {"clip_range": 0, "components": {"cnn1": {"_target_": "metta.agent.lib.nn_layer_library.Conv2d"}}}
        ),
        clip_range=0,
        agent_attributes=agent_attributes(),
        components_with_memory=["_core_"],
        **{k: v for k, v in _action_attributes().items() if k.endswith("_tensor") or k.startswith("cum_")},
    )
    box = _mod("gymnasium.spaces.box").Box(0, 255, (200, 3))
    agent = _mod("metta.agent.metta_agent").MettaAgent(policy=policy)
    cfg = _mod("metta.agent.agent_config").AgentConfig() if pydantic_cfg else config({"name": "fast"})
    for key, value in {
        "cfg": cfg,
        "device": torch.device("cpu"),
        "obs_space": _mod("gymnasium.spaces.dict").Dict({"grid_obs": box}),
        "obs_width": 11,
        "obs_height": 11,
        "action_space": _mod("gymnasium.spaces.multi_discrete").MultiDiscrete([4, 9]),
        "feature_normalizations": {i: 1.0 for i in range(NUM_FEATURES)},
        "_total_params": 1234,
        "feature_id_to_name": {i: name for name, i in FEATURE_MAPPING.items()},
        "original_feature_mapping": dict(FEATURE_MAPPING),
        **_action_attributes(),
    }.items():
        setattr(agent, key, value)
    return agent


def puffer_agent(seed: int, wrapper: str = "Recurrent") -> nn.Module:
    """L0-L2: a puffer wrapper around the 2024 encoder/decoder MettaAgent."""
    torch.manual_seed(seed)
    inner = _mod("agent.metta_agent").MettaAgent(
        _encoder=_mod("agent.simple_encoder").SimpleConvAgent(NUM_FEATURES, HIDDEN),
        _decoder=_mod("agent.decoder").Decoder(HIDDEN, len(ACTION_NAMES)),
    )
    inner.cfg = config({"observation_encoders": {"grid_obs": {"feature_names": []}}, "fc": {"layers": 1}})
    module = _mod("rl.pufferlib.puffer_agent_wrapper")
    if wrapper == "Recurrent":
        return module.Recurrent(inner, HIDDEN, HIDDEN)
    return module.PufferAgentWrapper(inner, config({"hidden_size": HIDDEN}))


def pytorch_agent(seed: int) -> nn.Module:
    """A "pytorch agent": `metta.rl.puffer_policy.PytorchAgent` around a plain torch network."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(NUM_FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, len(ACTION_NAMES)))
    return _mod("metta.rl.puffer_policy").PytorchAgent(net)


def policy_metadata(values: dict[str, Any]) -> Any:
    return _mod("metta.agent.policy_metadata").PolicyMetadata(**values)


def record_v1(
    module: str, name: str, uri: str, metadata: dict[str, Any], policy: nn.Module, store: bool
) -> Any:
    ps = _mod(module)
    policy_store = ps.PolicyStore(config({"run": "legacy", "device": "cpu", "trainer": {"batch_size": 1024}}))
    record = ps.PolicyRecord(policy_store if store else None, name, uri, metadata)
    if store:
        policy_store._cached_prs[uri] = record
    record._policy = policy
    return record


def record_v2(run_name: str, uri: str, metadata: Any, policy: nn.Module | None) -> Any:
    record = _mod("metta.agent.policy_record").PolicyRecord(None, run_name, uri, metadata)
    record._cached_policy = policy
    return record


def optimizer_state(seed: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    net = nn.Linear(4, 3)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(2, 4)).sum().backward()
    opt.step()
    return opt.state_dict()


def stopwatch_state(total: float) -> dict[str, Any]:
    def timer(name: str, elapsed: float) -> dict[str, Any]:
        return {
            "name": name,
            "start_time": None,
            "total_elapsed": elapsed,
            "last_elapsed": 1.0,
            "checkpoints": {},
            "lap_counter": 0,
            "references": 0,
            "_was_running": False,
        }

    timers = {"global": timer("global", total), "_rollout": timer("_rollout", total * 0.5)}
    timers["_train"] = timer("_train", total * 0.3)
    return {"version": "1.0", "timers": timers, "max_laps": 10}


def numpy_float(value: float) -> np.float64:
    return np.float64(value)
