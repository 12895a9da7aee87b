"""Before/after source pairs for the codemod, one per reference pair of the call-site spec (§2.3).

Shared by tests/test_codemod_rules.py (exact output) and the property test (snippets to combine). The
"after" side is the reviewed expected output of `codemods.driver.transform_source`.
"""

from __future__ import annotations

PAIRS: dict[str, tuple[str, str]] = {}

PAIRS["01_entry_point_construction"] = (
    """from dataclasses import dataclass

from metta.agent.policy_store import PolicyStore
from metta.rl.trainer import train


@dataclass
class TrainTool:
    run: str
    run_dir: str

    def invoke(self, wandb_run=None) -> None:
        policy_store = PolicyStore.create(device="cpu", data_dir=self.run_dir, wandb_config={}, wandb_run=wandb_run)
        train(run=self.run, policy_store=policy_store)
""",
    """from dataclasses import dataclass

from simple_ckpt import SimpleCheckpointManager

from metta.rl.trainer import train


@dataclass
class TrainTool:
    run: str
    run_dir: str

    def invoke(self, wandb_run=None) -> None:
        checkpoint_manager = SimpleCheckpointManager(run_dir=self.run_dir, run_name=self.run)
        train(run=self.run, checkpoint_manager=checkpoint_manager)
""",
)
PAIRS["03_drop_in_function_legacy_manager"] = (
    """from metta.agent.policy_store import PolicyStore
from metta.rl.checkpoint_manager import CheckpointManager


def train(run: str, trainer_cfg, policy_store: PolicyStore) -> None:
    step = 0

    # built from the store
    checkpoint_manager = CheckpointManager(
        policy_store=policy_store,
        checkpoint_config=trainer_cfg.checkpoint,
        device="cpu",
        is_master=True,
        rank=0,
        run_name=run,
    )
    agent = checkpoint_manager.load_agent()
    print(step, agent)
""",
    """from simple_ckpt import SimpleCheckpointManager


def train(run: str, trainer_cfg, checkpoint_manager: SimpleCheckpointManager) -> None:
    step = 0

    agent = checkpoint_manager.load_agent()
    print(step, agent)
""",
)
PAIRS["04_05_06_trainer_state"] = (
    """from simple_ckpt import SimpleCheckpointManager

from metta.rl.trainer_checkpoint import TrainerCheckpoint


def resume(checkpoint_manager: SimpleCheckpointManager, run_dir: str, optimizer, timer) -> tuple[int, int]:
    ck = TrainerCheckpoint.load(run_dir)
    step = ck.agent_step if ck else 0
    ep = ck.epoch if ck else 0
    if ck and ck.optimizer_state_dict:
        optimizer.load_state_dict(ck.optimizer_state_dict)
    if ck.stopwatch_state is not None:
        timer.load_state(ck.stopwatch_state)
    return step, ep
""",
    """from simple_ckpt import SimpleCheckpointManager


def resume(checkpoint_manager: SimpleCheckpointManager, run_dir: str, optimizer, timer) -> tuple[int, int]:
    ck = checkpoint_manager.load_trainer_state()
    step = ck["agent_step"] if ck else 0
    ep = ck["epoch"] if ck else 0
    if ck and "optimizer_state" in ck:
        optimizer.load_state_dict(ck["optimizer_state"])
    if ck.stopwatch_state is not None:  # TODO(simple-ckpt): stopwatch_state is not saved by SimpleCheckpointManager's trainer state; decide how to restore it
        timer.load_state(ck.stopwatch_state)  # TODO(simple-ckpt): stopwatch_state is not saved by SimpleCheckpointManager's trainer state; decide how to restore it
    return step, ep
""",
)
PAIRS["07_load_or_create"] = (
    """from simple_ckpt import SimpleCheckpointManager


def start(checkpoint_manager: SimpleCheckpointManager, a, s, t, ck, env):
    first = latest = checkpoint_manager.load_or_create_policy(
        agent_cfg=a, system_cfg=s, trainer_cfg=t, checkpoint=ck, metta_grid_env=env
    )
    policy = latest.policy
    return policy
""",
    """from simple_ckpt import SimpleCheckpointManager

from metta.agent.metta_agent import MettaAgent


def start(checkpoint_manager: SimpleCheckpointManager, a, s, t, ck, env):
    latest = checkpoint_manager.load_agent()
    if latest is None:
        latest = MettaAgent(env, s, a)
    policy = latest
    return policy
""",
)
PAIRS["08_periodic_checkpoint"] = (
    """from metta.agent.policy_store import PolicyStore
from metta.rl.checkpoint_manager import CheckpointManager, maybe_establish_checkpoint


def train(run, cfg, optimizer, timer, wandb_run, kickstarter, policy_store: PolicyStore) -> None:
    checkpoint_manager = CheckpointManager(policy_store=policy_store, checkpoint_config=cfg.checkpoint, run_name=run)
    latest = None
    for epoch in range(10):
        res = maybe_establish_checkpoint(
            checkpoint_manager=checkpoint_manager,
            epoch=epoch,
            policy=cfg.policy,
            agent_step=epoch * 100,
            eval_scores={},
            timer=timer,
            initial_policy_record=None,
            optimizer=optimizer,
            run_dir=cfg.run_dir,
            kickstarter=kickstarter,
            wandb_run=wandb_run,
        )
        if res:
            latest, wname = res
            print(wname)
            latest.metadata["score"] = 1.0
    maybe_establish_checkpoint(checkpoint_manager=checkpoint_manager, epoch=10, policy=cfg.policy, agent_step=1000, optimizer=optimizer, force=True)
""",
    """from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.compat import maybe_save_checkpoint


def train(run, cfg, optimizer, timer, wandb_run, kickstarter, checkpoint_manager: SimpleCheckpointManager) -> None:
    latest = None
    for epoch in range(10):
        res = maybe_save_checkpoint(  # TODO(simple-ckpt): wandb upload dropped: simple_ckpt does not upload; upload the returned path if needed
            checkpoint_manager=checkpoint_manager,
            epoch=epoch,
            policy=cfg.policy,
            agent_step=epoch * 100,
            eval_scores={},
            timer=timer,
            optimizer=optimizer,
            interval=cfg.checkpoint.checkpoint_interval,
        )
        if res:
            latest, wname = res, None  # TODO(simple-ckpt): wname (the wandb artifact name) no longer exists: simple_ckpt does not upload
            print(wname)  # TODO(simple-ckpt): wname (the wandb artifact name) no longer exists: simple_ckpt does not upload
    maybe_save_checkpoint(checkpoint_manager=checkpoint_manager, epoch=10, policy=cfg.policy, agent_step=1000, optimizer=optimizer, force=True, interval=cfg.checkpoint.checkpoint_interval)
""",
)
PAIRS["09_load_by_uri"] = (
    """from metta.agent.policy_store import PolicyStore


class Kickstarter:
    def __init__(self, cfg, policy_store: PolicyStore) -> None:
        self.policy_store = policy_store
        self.teachers = []
        for teacher in cfg.teachers:
            rec = self.policy_store.policy_record(teacher.uri)
            self.teachers.append(rec.policy)
        self.npc = policy_store.policy_record(cfg.npc_uri) if cfg.npc_uri else None
""",
    """from simple_ckpt import load_agent_from


class Kickstarter:
    def __init__(self, cfg) -> None:
        self.teachers = []
        for teacher in cfg.teachers:
            rec = load_agent_from(teacher.uri)
            self.teachers.append(rec)
        self.npc = load_agent_from(cfg.npc_uri) if cfg.npc_uri else None
""",
)
PAIRS["10_11_keyword_drop"] = (
    """from metta.eval.eval_service import evaluate_policy
from metta.sim.simulation import Simulation


def run(store, rec, cfg):
    scores = evaluate_policy(
        simulations=cfg.sims,
        policy_store=store,
        device="cpu",  # keep me
    )
    sim = Simulation.create(sim_config=cfg, policy_store=store, policy_uri=cfg.uri, run_name="x")
    other = Simulation("n", cfg, rec, store, device="cpu")
    return scores, sim, other
""",
    """from metta.eval.eval_service import evaluate_policy
from metta.sim.simulation import Simulation


def run(store, rec, cfg):
    scores = evaluate_policy(
        simulations=cfg.sims,
        device="cpu",  # keep me
    )
    sim = Simulation.create(sim_config=cfg, policy_uri=cfg.uri, run_name="x")
    other = Simulation("n", cfg, rec, store, device="cpu")
    return scores, sim, other
""",
)
PAIRS["12_13_14_15_records_todo"] = (
    """from metta.agent.policy_record import PolicyRecord


def report(db, store, uri: str, rec: PolicyRecord, process_stats) -> None:
    rec2 = store.policy_record_or_mock(uri, "run")
    key, version = db.key_and_version(rec)
    process_stats(epoch=1, latest_saved_policy_record=rec2)
""",
    """from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord


def report(db, store, uri: str, rec: PolicyRecord, process_stats) -> None:  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata
    rec2 = store.policy_record_or_mock(uri, "run")  # TODO(simple-ckpt): .policy_record_or_mock(): load the agent when a URI is set (load_agent_from), else use a mock agent
    key, version = db.key_and_version(rec)  # TODO(simple-ckpt): rec is a PolicyRecord passed on: decide what replaces it (decision F1)
    process_stats(epoch=1, latest_saved_policy_record=rec2)  # TODO(simple-ckpt): process_stats(latest_saved_policy_record=...): pass the latest saved epoch (an int) instead of the PolicyRecord
""",
)
PAIRS["17_marimo_cells"] = (
    """import marimo

app = marimo.App()


@app.cell
def setup():
    from metta.agent.policy_store import PolicyStore
    from metta.rl.policy_management import initialize_policy_for_environment

    return PolicyStore, initialize_policy_for_environment


@app.cell
def show(PolicyStore, initialize_policy_for_environment, env, rec):
    initialize_policy_for_environment(policy_record=rec, metta_grid_env=env, device="cpu")
    return (rec.policy,)
""",
    """import marimo

app = marimo.App()


@app.cell
def setup():
    from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore
    from metta.rl.policy_management import initialize_policy_for_environment  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses initialize_policy_for_environment

    return PolicyStore, initialize_policy_for_environment  # TODO(simple-ckpt): PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); initialize_policy_for_environment: inline as agent.initialize_to_environment(...)


@app.cell
def show(PolicyStore, initialize_policy_for_environment, env, rec):  # TODO(simple-ckpt): PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); initialize_policy_for_environment: inline as agent.initialize_to_environment(...)
    rec.policy.initialize_to_environment(env.get_observation_features(), env.action_names, env.max_action_args, "cpu")
    return (rec.policy,)
""",
)
PAIRS["18_test_fixtures"] = (
    """from typing import cast

from metta.agent.mocks import MockPolicyRecord
from metta.agent.policy_metadata import PolicyMetadata
from metta.agent.policy_record import PolicyRecord


def test_x(db) -> None:
    rec = MockPolicyRecord.from_key_and_version("p", 1)
    md = PolicyMetadata(epoch=1)
    empty = PolicyMetadata()
    assert db.score(cast(PolicyRecord, rec)) == md["epoch"] + empty["epoch"]
""",
    """from simple_ckpt.compat import make_test_checkpoint


def test_x(db) -> None:
    rec = make_test_checkpoint("p", 1)
    md = dict(agent_step=0, generation=0, train_time=0, epoch=1)
    empty = dict(agent_step=0, epoch=0, generation=0, train_time=0)
    assert db.score(rec) == md["epoch"] + empty["epoch"]
""",
)
PAIRS["19_whole_features_reported"] = (
    """from metta.agent.policy_store import PolicyStore, PolicySelectorType


def get_policy_store_from_cfg(cfg, wandb_run=None) -> PolicyStore:
    return PolicyStore(device="cpu", data_dir=cfg.data_dir, wandb_entity=cfg.entity, wandb_project=cfg.project)


SELECTORS: tuple = PolicySelectorType.__args__
""",
    """from simple_ckpt.compat import Selector

from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


def get_policy_store_from_cfg(cfg, wandb_run=None) -> PolicyStore:  # TODO(simple-ckpt): PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return PolicyStore(device="cpu", data_dir=cfg.data_dir, wandb_entity=cfg.entity, wandb_project=cfg.project)  # TODO(simple-ckpt): the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)


SELECTORS: tuple = Selector.__args__
""",
)
PAIRS["09b_load_by_uri_stays_todo"] = (
    """from metta.agent.policy_store import PolicyStore


def teacher(policy_store: PolicyStore, uri: str):
    rec = policy_store.policy_record("wandb://run/teacher:v3")
    npc = policy_store.policy_record(uri, "top", "score")
    return rec.policy, npc.run_name
""",
    """from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


def teacher(policy_store: PolicyStore, uri: str):  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    rec = policy_store.policy_record("wandb://run/teacher:v3")  # TODO(simple-ckpt): .policy_record(): load with SimpleCheckpointManager(...).load_agent() (latest) or find_best_checkpoint(metric) + load_agent_from(path); wandb:// URIs have no equivalent; .policy_record: exposed the PolicyRecord; use the checkpoint path or agent the caller already holds; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    npc = policy_store.policy_record(uri, "top", "score")  # TODO(simple-ckpt): .policy_record(): load with SimpleCheckpointManager(...).load_agent() (latest) or find_best_checkpoint(metric) + load_agent_from(path); wandb:// URIs have no equivalent; .policy_record: exposed the PolicyRecord; use the checkpoint path or agent the caller already holds; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return rec.policy, npc.run_name  # TODO(simple-ckpt): rec.policy: the record's agent: use the agent itself (load it with load_agent / load_agent_from); npc.run_name: held the checkpoint file or artifact name, not the run: decide what is meant
""",
)
PAIRS["20_f1_record_parameter_becomes_path"] = (
    """from metta.agent.policy_record import PolicyRecord


def key_and_version(policy_record: PolicyRecord) -> tuple[str, int]:
    return policy_record.uri, policy_record.metadata.epoch


def log_record(policy_record: PolicyRecord | None, logger) -> None:
    pr = policy_record
    logger.info("%s %s", pr.uri, pr.metadata.get("score"))
    logger.info("agent %s", type(pr.policy).__name__)
    logger.info("name %s", pr.run_name)


def scores(records: list[PolicyRecord]) -> dict[PolicyRecord, float]:
    return {}
""",
    """from simple_ckpt import load_agent_from, read_metadata


def key_and_version(policy_record: str) -> tuple[str, int]:
    return policy_record, read_metadata(policy_record)["epoch"]


def log_record(policy_record: str | None, logger) -> None:
    pr = policy_record
    logger.info("%s %s", pr, read_metadata(pr).get("score"))
    logger.info("agent %s", type(load_agent_from(pr)).__name__)
    logger.info("name %s", pr.run_name)  # TODO(simple-ckpt): pr.run_name: held the checkpoint file or artifact name, not the run: decide what is meant (pr is the checkpoint path now, decision F1)


def scores(records: list[str]) -> dict[str, float]:
    return {}
""",
)
PAIRS["21_f1_record_kept_on_self"] = (
    """from metta.agent.policy_record import PolicyRecord


class Sim:
    def __init__(self, policy_pr: PolicyRecord) -> None:
        self._policy_pr = policy_pr

    def agent(self):
        return self._policy_pr.policy


def twice(rec: PolicyRecord):
    return rec.policy, rec.policy
""",
    """from simple_ckpt import load_agent_from

from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord


class Sim:
    def __init__(self, policy_pr: str) -> None:
        self._policy_pr = policy_pr
        self._policy_agent = load_agent_from(policy_pr)

    def agent(self):
        return self._policy_agent


def twice(rec: PolicyRecord):  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata
    return rec.policy, rec.policy  # TODO(simple-ckpt): rec.policy: the record's agent: use the agent itself (load it with load_agent / load_agent_from)
""",
)
PAIRS["22_s2_literal_selector_to_select_checkpoints"] = (
    """from typing import Any

from metta.agent.policy_store import PolicyStore


def load_policies(uris: list[str], data_dir: str) -> list[Any]:
    store = PolicyStore(device="cpu", data_dir=data_dir, wandb_entity=None, wandb_project=None)
    loaded: list[Any] = []
    for uri in uris:
        loaded.extend(store.policy_records(uri, "top", 3, "score"))
    return loaded


def ranked(policy_store: PolicyStore, uri: str, client) -> list[Any]:
    return policy_store.policy_records(uri_or_config=uri, selector_type="top", n=1, stats_client=client)
""",
    """from typing import Any

from simple_ckpt.compat import select_checkpoints

from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


def load_policies(uris: list[str], data_dir: str) -> list[Any]:
    loaded: list[Any] = []
    for uri in uris:
        loaded.extend(select_checkpoints(uri, selector="top", n=3, metric="score"))
    return loaded


def ranked(policy_store: PolicyStore, uri: str, client) -> list[Any]:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return policy_store.policy_records(uri_or_config=uri, selector_type="top", n=1, stats_client=client)  # TODO(simple-ckpt): .policy_records(): latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
""",
)
PAIRS["23_p3_positional_store_dropped_with_parameter"] = (
    """from metta.agent.policy_store import PolicyStore


class Simulation:
    def __init__(self, name: str, config, policy_pr, policy_store: PolicyStore, device=None) -> None:
        self.name = name
        self._policy_store = policy_store


def run(name, cfg, rec, policy_store):
    return Simulation(name, cfg, rec, policy_store, device="cpu")
""",
    """class Simulation:
    def __init__(self, name: str, config, policy_pr, device=None) -> None:
        self.name = name


def run(name, cfg, rec, policy_store):  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return Simulation(name, cfg, rec, device="cpu")
""",
)
PAIRS["24_load_kept_on_self_read_in_another_method"] = (
    """from metta.agent.policy_store import PolicyStore


class Arena:
    def __init__(self, policy_store: PolicyStore, npc_uri: str | None) -> None:
        self._policy_store = policy_store
        self._npc = policy_store.policy_record(npc_uri) if npc_uri else None

    def npc_agent(self):
        return self._npc.policy
""",
    """from simple_ckpt import load_agent_from

from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


class Arena:
    def __init__(self, policy_store: PolicyStore, npc_uri: str | None) -> None:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
        self._npc = load_agent_from(npc_uri) if npc_uri else None

    def npc_agent(self):
        return self._npc
""",
)
PAIRS["25_f1_record_on_self_used_otherwise_stays_todo"] = (
    """from metta.agent.policy_record import PolicyRecord


class Replay:
    def __init__(self, policy_pr: PolicyRecord) -> None:
        self._policy_pr = policy_pr

    def name(self) -> str:
        return self._policy_pr.run_name
""",
    """from metta.agent.policy_record import PolicyRecord  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyRecord


class Replay:
    def __init__(self, policy_pr: PolicyRecord) -> None:  # TODO(simple-ckpt): PolicyRecord: decide what replaces a PolicyRecord here: the agent, the checkpoint path, or its metadata
        self._policy_pr = policy_pr

    def name(self) -> str:
        return self._policy_pr.run_name  # TODO(simple-ckpt): self._policy_pr.run_name: held the checkpoint file or artifact name, not the run: decide what is meant
""",
)
PAIRS["40_selector_type_to_compat_selector"] = (
    """import argparse
from dataclasses import dataclass

from metta.agent.policy_store import PolicySelectorType


@dataclass
class EvalRequest:
    policy_select_type: PolicySelectorType = "latest"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--selector", choices=PolicySelectorType.__args__, default="top")
    return p
""",
    """import argparse
from dataclasses import dataclass

from simple_ckpt.compat import Selector


@dataclass
class EvalRequest:
    policy_select_type: Selector = "latest"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--selector", choices=Selector.__args__, default="top")
    return p
""",
)
PAIRS["41_selector_type_with_rand_stays_todo"] = (
    """from metta.agent.policy_store import PolicySelectorType


def pick(selector: PolicySelectorType = "rand") -> str:
    return selector
""",
    """from metta.agent.policy_store import PolicySelectorType  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicySelectorType


def pick(selector: PolicySelectorType = "rand") -> str:  # TODO(simple-ckpt): PolicySelectorType: policy selectors are CLI/config surface; choose latest/best explicitly
    return selector
""",
)
PAIRS["42_runtime_selector_private_helper_and_missing_error"] = (
    """from concurrent.futures import ThreadPoolExecutor
from typing import Any

from metta.agent.policy_store import PolicyMissingError, PolicyStore


def _find(policy_store: PolicyStore, uri: str, selector: str, metric: str) -> list[Any]:
    try:
        return policy_store.policy_records(uri_or_config=uri, selector_type=selector, n=2, metric=metric)
    except PolicyMissingError:
        return []


def find_all(uris: list[str], selector: str) -> list[Any]:
    policy_store = PolicyStore(device="cpu", data_dir="./train_dir", wandb_entity=None, wandb_project=None)
    with ThreadPoolExecutor() as pool:
        futures = [pool.submit(_find, policy_store=policy_store, uri=u, selector=selector, metric="score") for u in uris]
    return [f.result() for f in futures]
""",
    """from concurrent.futures import ThreadPoolExecutor
from typing import Any

from simple_ckpt.compat import CheckpointNotFound, select_checkpoints


def _find(uri: str, selector: str, metric: str) -> list[Any]:
    try:
        return select_checkpoints(uri, selector=selector, n=2, metric=metric)
    except CheckpointNotFound:
        return []


def find_all(uris: list[str], selector: str) -> list[Any]:
    with ThreadPoolExecutor() as pool:
        futures = [pool.submit(_find, uri=u, selector=selector, metric="score") for u in uris]
    return [f.result() for f in futures]
""",
)
PAIRS["43_missing_error_kept_while_a_store_call_is_left"] = (
    """from typing import Any

from metta.agent.policy_store import PolicyMissingError, PolicyStore


def ranked(policy_store: PolicyStore, uri: str, selector: str, client: Any) -> list[Any]:
    try:
        return policy_store.policy_records(uri, selector, 1, "score", stats_client=client)
    except PolicyMissingError:
        return []
""",
    """from typing import Any

from metta.agent.policy_store import PolicyMissingError, PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyMissingError, PolicyStore


def ranked(policy_store: PolicyStore, uri: str, selector: str, client: Any) -> list[Any]:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    try:
        return policy_store.policy_records(uri, selector, 1, "score", stats_client=client)  # TODO(simple-ckpt): .policy_records(): latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    except PolicyMissingError:  # TODO(simple-ckpt): PolicyMissingError: load_agent returns None when a run has no checkpoint; handle that instead
        return []
""",
)
PAIRS["44_selector_config_and_returned_selections"] = (
    """from dataclasses import dataclass, field

from metta.agent.policy_record import PolicyRecord
from metta.agent.policy_store import PolicySelectorConfig, PolicyStore


@dataclass
class Analysis:
    policy_selector: PolicySelectorConfig = field(default_factory=PolicySelectorConfig)
    sweep_selector: PolicySelectorConfig = field(default_factory=lambda: PolicySelectorConfig(type="top", range=3))


class Sweep:
    def __init__(self, uris: list[str], selector: str, data_dir: str) -> None:
        self.uris = uris
        self.selector = selector
        self.data_dir = data_dir

    def collect(self) -> dict[str, list[PolicyRecord]]:
        store = PolicyStore.create(device="cpu", data_dir=self.data_dir, wandb_config={}, wandb_run=None)
        by_uri: dict[str, list[PolicyRecord]] = {
            uri: store.policy_records(uri_or_config=uri, selector_type=self.selector, n=1, metric="score")
            for uri in self.uris
        }
        return by_uri
""",
    """from dataclasses import dataclass, field

from simple_ckpt.compat import SelectorConfig, select_checkpoints


@dataclass
class Analysis:
    policy_selector: SelectorConfig = field(default_factory=SelectorConfig)
    sweep_selector: SelectorConfig = field(default_factory=lambda: SelectorConfig(type="top", range=3))


class Sweep:
    def __init__(self, uris: list[str], selector: str, data_dir: str) -> None:
        self.uris = uris
        self.selector = selector
        self.data_dir = data_dir

    def collect(self) -> dict[str, list[str]]:
        by_uri: dict[str, list[str]] = {
            uri: select_checkpoints(uri, selector=self.selector, n=1, metric="score")
            for uri in self.uris
        }
        return by_uri
""",
)
PAIRS["45_selector_config_with_filters_stays_todo"] = (
    """from dataclasses import dataclass, field

from metta.agent.policy_record import PolicyRecord
from metta.agent.policy_store import PolicySelectorConfig, PolicyStore


@dataclass
class Analysis:
    policy_selector: PolicySelectorConfig = field(default_factory=PolicySelectorConfig)
    sweep_selector: PolicySelectorConfig = field(default_factory=lambda: PolicySelectorConfig(type="top", range=3))
    filtered: PolicySelectorConfig = field(default_factory=lambda: PolicySelectorConfig(filters={"env": "a"}))


class Sweep:
    def __init__(self, uris: list[str], selector: str, data_dir: str) -> None:
        self.uris = uris
        self.selector = selector
        self.data_dir = data_dir

    def collect(self) -> dict[str, list[PolicyRecord]]:
        store = PolicyStore.create(device="cpu", data_dir=self.data_dir, wandb_config={}, wandb_run=None)
        by_uri: dict[str, list[PolicyRecord]] = {
            uri: store.policy_records(uri_or_config=uri, selector_type=self.selector, n=1, metric="score")
            for uri in self.uris
        }
        return by_uri
""",
    """from dataclasses import dataclass, field

from simple_ckpt.compat import select_checkpoints

from metta.agent.policy_store import PolicySelectorConfig  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicySelectorConfig


@dataclass
class Analysis:
    policy_selector: PolicySelectorConfig = field(default_factory=PolicySelectorConfig)  # TODO(simple-ckpt): PolicySelectorConfig: policy selectors are CLI/config surface; choose latest/best explicitly
    sweep_selector: PolicySelectorConfig = field(default_factory=lambda: PolicySelectorConfig(type="top", range=3))  # TODO(simple-ckpt): PolicySelectorConfig: policy selectors are CLI/config surface; choose latest/best explicitly
    filtered: PolicySelectorConfig = field(default_factory=lambda: PolicySelectorConfig(filters={"env": "a"}))  # TODO(simple-ckpt): PolicySelectorConfig: policy selectors are CLI/config surface; choose latest/best explicitly


class Sweep:
    def __init__(self, uris: list[str], selector: str, data_dir: str) -> None:
        self.uris = uris
        self.selector = selector
        self.data_dir = data_dir

    def collect(self) -> dict[str, list[str]]:
        by_uri: dict[str, list[str]] = {
            uri: select_checkpoints(uri, selector=self.selector, n=1, metric="score")
            for uri in self.uris
        }
        return by_uri
""",
)
PAIRS["46_private_helper_passed_around_or_rand_selector_stays_todo"] = (
    """from typing import Any

from metta.agent.policy_store import PolicyStore


def _find(policy_store: PolicyStore, uri: str, selector: str) -> list[Any]:
    return policy_store.policy_records(uri_or_config=uri, selector_type=selector, n=1)


HANDLERS = {"find": _find}


def _pick(policy_store: PolicyStore, uri: str) -> list[Any]:
    return policy_store.policy_records(uri_or_config=uri, selector_type="rand", n=1)


def run(policy_store: PolicyStore, uri: str) -> list[Any]:
    return _pick(policy_store=policy_store, uri=uri)
""",
    """from typing import Any

from simple_ckpt.compat import select_checkpoints

from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


def _find(policy_store: PolicyStore, uri: str, selector: str) -> list[Any]:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return select_checkpoints(uri, selector=selector, n=1)


HANDLERS = {"find": _find}


def _pick(policy_store: PolicyStore, uri: str) -> list[Any]:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return policy_store.policy_records(uri_or_config=uri, selector_type="rand", n=1)  # TODO(simple-ckpt): .policy_records(): latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)


def run(policy_store: PolicyStore, uri: str) -> list[Any]:  # TODO(simple-ckpt): policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return _pick(policy_store=policy_store, uri=uri)  # TODO(simple-ckpt): decide what _pick() receives instead of the policy store (a manager, a path, or nothing)
""",
)
