"""A deterministic synthetic source tree for the `check` and `codemod` benchmarks.

``generate_tree(root, n_files=5000, legacy_fraction=0.05, seed=0)`` writes a package tree of realistic
Python modules (imports, dataclasses, classes, functions, docstrings, comments). A ``legacy_fraction`` of
them use the legacy policy API in the shapes of the call-site spec (§1.3 and the older generations A-F of
§3.2); about one percent are look-alikes that must NOT be reported or rewritten (a local class named
MockPolicyRecord, legacy code inside comments, the post-refactor CheckpointManager). The same seed gives
byte-identical trees, so the check and codemod benchmarks measure the same input.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STDLIB = ["os", "sys", "json", "math", "time", "logging", "itertools", "functools", "collections", "re"]
FROM_IMPORTS = [
    "from dataclasses import dataclass, field",
    "from pathlib import Path",
    "from typing import Any",
    "from collections.abc import Iterable, Sequence",
    "from contextlib import contextmanager",
    "from enum import Enum",
]
# Every imported name is referenced once, as real modules do, so `ruff check --select F401` (the
# baseline) measures parsing rather than printing thousands of findings.
USES = {
    "os": "os.sep",
    "sys": "sys.platform",
    "json": "json.dumps",
    "math": "math.pi",
    "time": "time.time",
    "logging": "logging.INFO",
    "itertools": "itertools.chain",
    "functools": "functools.reduce",
    "collections": "collections.Counter",
    "re": "re.IGNORECASE",
    "dataclass": "dataclass",
    "field": "field",
    "Path": "Path",
    "Any": "Any",
    "Iterable": "Iterable",
    "Sequence": "Sequence",
    "contextmanager": "contextmanager",
    "Enum": "Enum",
}
WORDS = ["agent", "reward", "episode", "buffer", "rollout", "policy", "value", "advantage", "env", "stats"]


@dataclass
class TreeInfo:
    """What was generated: every file, and which ones are legacy or look-alikes (paths under root)."""

    root: Path
    files: list[Path] = field(default_factory=list)
    legacy_files: list[Path] = field(default_factory=list)
    lookalike_files: list[Path] = field(default_factory=list)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{rng.randrange(1000)}"


def _function(rng: random.Random) -> str:
    name = _name(rng)
    args = ", ".join(f"{w}: float" for w in rng.sample(WORDS, rng.randint(1, 3)))
    body_var = rng.choice(WORDS)
    return f'''

def {name}({args}) -> float:
    """Compute the {rng.choice(WORDS)} {rng.choice(WORDS)} for one step."""
    total = 0.0
    for i in range({rng.randint(2, 64)}):
        # accumulate the {body_var} term
        total += math.sqrt(i + 1) * {rng.random():.4f}
        if total > {rng.randint(10, 1000)}:
            break
    values = [total * k for k in range({rng.randint(2, 9)})]
    return sum(values) / max(len(values), 1)
'''


def _class(rng: random.Random) -> str:
    name = "".join(w.capitalize() for w in rng.sample(WORDS, 2)) + str(rng.randrange(100))
    fields = "\n".join(f"    {w}: float = {rng.random():.3f}" for w in rng.sample(WORDS, rng.randint(2, 5)))
    return f'''

@dataclass
class {name}:
    """A {rng.choice(WORDS)} record kept by the {rng.choice(WORDS)} loop."""

{fields}

    def scaled(self, factor: float) -> float:
        """Return the sum of the fields times ``factor``."""
        return factor * sum(v for v in vars(self).values() if isinstance(v, float))

    def describe(self) -> str:
        return json.dumps(vars(self), sort_keys=True)
'''


def _header(rng: random.Random, extra_imports: list[str]) -> str:
    modules = sorted({"json", "math", *rng.sample(STDLIB, 3)})
    imports = [f"import {m}" for m in modules]
    froms = sorted({"from dataclasses import dataclass", *rng.sample(FROM_IMPORTS, 2)})
    names = [*modules, *(n.strip() for line in froms for n in line.split(" import ")[1].split(","))]
    referenced = ", ".join(USES[n] for n in names)
    lines = [
        f'"""The {rng.choice(WORDS)} {rng.choice(WORDS)} utilities (generated benchmark module)."""',
        "",
        "from __future__ import annotations",
        "",
        *imports,
        *froms,
        *extra_imports,
        "",
        f"_REFERENCED = ({referenced},)",
    ]
    return "\n".join(lines) + "\n"


def _body(rng: random.Random, n_blocks: int) -> str:
    return "".join(_class(rng) if rng.random() < 0.3 else _function(rng) for _ in range(n_blocks))


# --- legacy shapes, one per generation/pattern family --------------------------------------------------


def _legacy_gen_a(rng: random.Random) -> tuple[list[str], str]:
    imports = ["from agent.policy_store import PolicyStore"]
    code = """

def evaluate_generation_a(cfg, wandb_run) -> str:
    store = PolicyStore(cfg, wandb_run)
    rec = store.policy(cfg.policy_uri)
    agent = rec.policy()
    print(rec.name, rec.local_path())
    return agent
"""
    return imports, code


def _legacy_gen_b(rng: random.Random) -> tuple[list[str], str]:
    imports = [
        "from metta.agent.policy_record import PolicyRecord",
        "from metta.agent.policy_store import PolicyStore",
        "from metta.rl.trainer_checkpoint import TrainerCheckpoint",
    ]
    code = '''

class MettaTrainer:
    """Training object of generation B: the store and records live on self."""

    def __init__(self, cfg, wandb_run, policy_store: PolicyStore) -> None:
        self.policy_store = policy_store
        self.initial_policy_record: PolicyRecord | None = None
        checkpoint = TrainerCheckpoint.load(cfg.run_dir)
        self.agent_step = checkpoint.agent_step
        self.epoch = checkpoint.epoch

    def _load_policy(self, uri: str) -> PolicyRecord:
        pr = self.policy_store.policy_record(uri, "top", metric="score")
        return pr.policy_as_metta_agent()
'''
    return imports, code


def _legacy_gen_c(rng: random.Random) -> tuple[list[str], str]:
    imports = ["from tools.utils import get_policy_store_from_cfg", "import metta.agent.policy_store as ps"]
    code = """

def analyze(cfg, wandb_run) -> list:
    policy_store = get_policy_store_from_cfg(cfg, wandb_run)
    records = policy_store.policy_records(uri_or_config=cfg.policy_uri, selector_type="top", n=1, metric="score")
    selector: "ps.PolicySelectorConfig | None" = None
    return [r.uri for r in records] + [selector]
"""
    return imports, code


def _legacy_gen_d(rng: random.Random) -> tuple[list[str], str]:
    imports = [
        "from metta.rl.checkpoint_manager import CheckpointManager, maybe_establish_checkpoint",
        "from metta.rl.policy_management import (",
        "    initialize_policy_for_environment,",
        "    wrap_agent_distributed,",
        ")",
    ]
    code = """

def train(run_dir: str, run: str, policy_store, trainer_cfg, env, device) -> None:
    checkpoint_manager = CheckpointManager(
        policy_store=policy_store,
        checkpoint_config=trainer_cfg.checkpoint,
        device=device,
        is_master=True,
        rank=0,
        run_name=run,
    )
    initial = latest = checkpoint_manager.load_or_create_policy(
        agent_cfg=trainer_cfg.agent, system_cfg=trainer_cfg.system, trainer_cfg=trainer_cfg, checkpoint=None, metta_grid_env=env
    )
    initialize_policy_for_environment(policy_record=latest, metta_grid_env=env, device=device, restore_feature_mapping=True)
    policy = wrap_agent_distributed(latest.policy, device)
    for epoch in range(10):
        res = maybe_establish_checkpoint(checkpoint_manager=checkpoint_manager, epoch=epoch, policy=policy,
                                         agent_step=epoch * 100, eval_scores={}, timer=None,
                                         initial_policy_record=initial, optimizer=None, run_dir=run_dir,
                                         kickstarter=None, wandb_run=None)
        if res:
            latest, wandb_name = res
"""
    return imports, code


def _legacy_gen_e(rng: random.Random) -> tuple[list[str], str]:
    imports = [
        "from metta.agent.mocks import MockPolicyRecord",
        "from metta.agent.policy_metadata import PolicyMetadata",
    ]
    code = """

if TYPE_CHECKING:
    from metta.agent.policy_store import PolicyStore

__all__ = ["MockPolicyRecord", "make_fixture"]


def make_fixture(store: "PolicyStore", device: str):
    rec = MockPolicyRecord.from_key_and_version("p", 1)
    metadata = PolicyMetadata(epoch=1, agent_step=0)
    npc = store.policy_record_or_mock(rec.uri, "npc") if device else None
    return rec, metadata, npc


def lazy_loader(uri: str):
    from metta.agent.policy_store import PolicyStore as Store

    store = Store.create(device="cpu", data_dir="/tmp", wandb_config=None, wandb_run=None)
    return store.policy_record(uri).policy
"""
    return ["from typing import TYPE_CHECKING", *imports], code


def _legacy_stats(rng: random.Random) -> tuple[list[str], str]:
    """Stats/eval consumers (K1, K2, R5, C5, Y5): walrus, comprehension, cast, dict literal."""
    imports = [
        "from typing import cast",
        "from metta.agent.mocks import MockPolicyRecord",
        "from metta.agent.policy_record import PolicyRecord",
    ]
    code = """

def summarize(db, records: list[PolicyRecord]) -> dict[PolicyRecord, float]:
    scores = {r: db.get_average_metric_by_filter("reward", r, "true") for r in records}
    epochs = [e for r in records if (e := r.metadata.epoch) > 0]
    agent_map = {0: cast(PolicyRecord, MockPolicyRecord.from_key_and_version("p", 1))}
    by_name = {r.run_name: r for r in records}
    return {**scores, **{k: float(len(epochs)) for k in agent_map.values()}, **{v: 0.0 for v in by_name.values()}}
"""
    return imports, code


def _legacy_tool(rng: random.Random) -> tuple[list[str], str]:
    """A tool (P4, C10, S2): thread-pool submit with policy_store=, selector choices, missing-policy error."""
    imports = [
        "from concurrent.futures import ThreadPoolExecutor",
        "from metta.agent.policy_store import PolicyMissingError, PolicySelectorType, PolicyStore",
    ]
    code = """

def _find(policy_store: PolicyStore, policy_uri: str, selector_type: str) -> list:
    try:
        return policy_store.policy_records(uri_or_config=policy_uri, selector_type=selector_type, n=1)
    except PolicyMissingError:
        return []


def request(uris: list[str], policy_store: PolicyStore) -> list:
    choices = PolicySelectorType.__args__
    with ThreadPoolExecutor() as pool:
        jobs = [pool.submit(_find, policy_store=policy_store, policy_uri=u, selector_type=choices[0]) for u in uris]
    return [job.result() for job in jobs]
"""
    return imports, code


def _legacy_marimo(rng: random.Random) -> tuple[list[str], str]:
    """A marimo notebook (M1): lazy imports in a setup cell, names passed to cells as parameters."""
    imports = ["import marimo"]
    code = """

app = marimo.App()


@app.cell
def setup():
    from metta.agent.policy_store import PolicyStore
    from metta.rl.policy_management import initialize_policy_for_environment

    return PolicyStore, initialize_policy_for_environment


@app.cell
def evaluate(PolicyStore, initialize_policy_for_environment, run_dir, env):
    store = PolicyStore.create(device="cpu", data_dir=run_dir, wandb_config={}, wandb_run=None)
    rec = store.policy_records(uri_or_config=f"file://{run_dir}", selector_type="latest", n=1, metric="score")[0]
    initialize_policy_for_environment(policy_record=rec, metta_grid_env=env, device="cpu")
    return (rec.policy,)
"""
    return imports, code


LEGACY_SHAPES: list[Callable[[random.Random], tuple[list[str], str]]] = [
    _legacy_gen_a,
    _legacy_gen_b,
    _legacy_gen_c,
    _legacy_gen_d,
    _legacy_gen_e,
    _legacy_stats,
    _legacy_tool,
    _legacy_marimo,
]


def _lookalike(rng: random.Random, which: int) -> tuple[list[str], str]:
    if which == 0:
        return (
            [],
            '''

class MockPolicyRecord:
    """A local test double that only shares its name with the legacy class."""

    def __init__(self, name: str) -> None:
        self.name = name
''',
        )
    if which == 1:
        return (
            [],
            """

def render(frame: dict) -> None:
    # store = PolicyStore(cfg, wandb_run)
    # rec = store.policy_record(cfg.policy_uri)
    print(frame)
""",
        )
    return (
        ["from metta.rl.checkpoint_manager import CheckpointManager, PolicyMetadata"],
        """

def load_latest(run: str, run_dir: str):
    manager = CheckpointManager(run_name=run, run_dir=run_dir)
    metadata: PolicyMetadata = {"run_name": run, "epoch": 0}
    return manager.load_agent(), metadata
""",
    )


def generate_tree(
    root: Path | str, n_files: int = 5000, legacy_fraction: float = 0.05, seed: int = 0
) -> TreeInfo:
    """Write ``n_files`` modules under ``root`` (created if needed) and describe what was written."""
    rng = random.Random(seed)
    root = Path(root)
    info = TreeInfo(root=root)
    n_legacy = round(n_files * legacy_fraction)
    n_lookalike = max(3, n_files // 100) if n_files >= 10 else 0
    chosen = rng.sample(range(n_files), min(n_files, n_legacy + n_lookalike))
    legacy = set(chosen[:n_legacy])
    lookalike = {index: k % 3 for k, index in enumerate(sorted(chosen[n_legacy:]))}
    per_dir = 50
    for index in range(n_files):
        package = root / f"pkg_{index // (per_dir * 20):02d}" / f"sub_{(index // per_dir) % 20:02d}"
        if not package.exists():
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").write_text('"""Generated package."""\n')
            (package.parent / "__init__.py").write_text('"""Generated package."""\n')
        path = package / f"module_{index:05d}.py"
        file_rng = random.Random(rng.random())
        extra: list[str] = []
        special = ""
        if index in legacy:
            extra, special = LEGACY_SHAPES[index % len(LEGACY_SHAPES)](file_rng)
            info.legacy_files.append(path)
        elif index in lookalike:
            extra, special = _lookalike(file_rng, lookalike[index])
            info.lookalike_files.append(path)
        text = _header(file_rng, extra) + _body(file_rng, file_rng.randint(3, 8)) + special
        path.write_text(text)
        info.files.append(path)
    return info
