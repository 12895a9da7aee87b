"""Property: any combination of legacy snippets migrates to code that parses and is a fixed point.

Snippets are function bodies drawn from the reference pairs' shapes (construction, trainer state,
load-or-create, periodic checkpoint, records, metadata, look-alikes); hypothesis picks a subset, an order
and the import block, and the codemod's output must parse, introduce no undefined name, and not change on
a second run.
"""

from __future__ import annotations

import libcst as cst
from conftest import stress_trials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods.driver import transform_source, undefined_names

IMPORTS = [
    "from metta.agent.policy_store import PolicyStore",
    "from metta.agent.policy_record import PolicyRecord",
    "from metta.agent.policy_metadata import PolicyMetadata",
    "from metta.rl.trainer_checkpoint import TrainerCheckpoint",
    "from metta.rl.checkpoint_manager import CheckpointManager, maybe_establish_checkpoint",
    "from metta.rl.policy_management import initialize_policy_for_environment, wrap_agent_distributed",
    "from simple_ckpt import SimpleCheckpointManager",
    "import os",
]

FUNCTIONS = [
    "def f_store(run_dir, run):\n    policy_store = PolicyStore.create(device='cpu', data_dir=run_dir, wandb_config={}, wandb_run=None)\n    train(policy_store=policy_store)\n",
    "def f_uri(cfg):\n    store = PolicyStore(cfg, None)\n    return store.policy_record(cfg.uri).policy\n",
    "def f_state(checkpoint_manager: SimpleCheckpointManager, run_dir, opt):\n    ck = TrainerCheckpoint.load(run_dir)\n    if ck and ck.optimizer_state_dict:\n        opt.load_state_dict(ck.optimizer_state_dict)\n    return ck.epoch if ck else 0\n",
    "def f_load(checkpoint_manager: SimpleCheckpointManager, a, s, env):\n    first = latest = checkpoint_manager.load_or_create_policy(agent_cfg=a, system_cfg=s, metta_grid_env=env)\n    return latest.policy\n",
    "def train(run, cfg, opt, policy_store: PolicyStore):\n    checkpoint_manager = CheckpointManager(policy_store=policy_store, checkpoint_config=cfg.c, run_name=run)\n    res = maybe_establish_checkpoint(checkpoint_manager=checkpoint_manager, epoch=1, policy=cfg.p, agent_step=2, optimizer=opt, wandb_run=None)\n    if res:\n        latest, name = res\n        print(name)\n",
    "def f_record(rec: PolicyRecord) -> str:\n    return rec.uri\n",
    "def f_meta(epoch):\n    md = PolicyMetadata(epoch=epoch)\n    return md['epoch']\n",
    "def f_init(rec, env):\n    initialize_policy_for_environment(policy_record=rec, metta_grid_env=env, device='cpu')\n    return wrap_agent_distributed(rec.policy, 'cpu')\n",
    "class MockPolicyRecord:\n    pass\n",
    "def f_f1(rec: PolicyRecord | None, log) -> None:\n    pr = rec\n    log(pr.uri, pr.metadata.epoch, pr.metadata.get('score'), pr.policy, pr.run_name)\n",
    "def f_teacher(policy_store: PolicyStore, uris):\n    out = []\n    for u in uris:\n        rec = policy_store.policy_record(u)\n        out.append(rec.policy)\n    return out\n",
    "def f_select(run_dir, acc):\n    store = PolicyStore(device='cpu', data_dir=run_dir, wandb_entity=None, wandb_project=None)\n    acc.extend(store.policy_records(run_dir, 'top', 2, 'score'))\n",
    "def f_plain():\n    # PolicyStore in a comment\n    return os.sep\n",
]


@settings(max_examples=stress_trials(40, 400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    imports=st.lists(st.sampled_from(IMPORTS), min_size=1, max_size=len(IMPORTS), unique=True),
    functions=st.lists(st.sampled_from(FUNCTIONS), min_size=1, max_size=5, unique=True),
)
def test_random_combinations_parse_and_are_idempotent(imports: list[str], functions: list[str]) -> None:
    source = "\n".join(imports) + "\n\n\n" + "\n\n".join(functions)
    once = transform_source(source, module_name="pkg.mod", first_party={"metta"}).source
    cst.parse_module(once)
    assert undefined_names(once) <= undefined_names(source)
    twice = transform_source(once, module_name="pkg.mod", first_party={"metta"}).source
    assert twice == once
