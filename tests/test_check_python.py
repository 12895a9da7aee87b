"""The precise pass of `simple-ckpt check` on before/after snippets of every pattern family (spec §1.3, §3)."""

from __future__ import annotations

import textwrap

import pytest

from codemods.check import check_source
from codemods.legacy_table import load_table


def scan(source: str, path: str = "pkg/mod.py", include_docs: bool = False) -> list[tuple[int, str]]:
    findings = check_source(load_table(), path, textwrap.dedent(source), include_docs=include_docs)
    return [(f.line, f.rule) for f in findings]


def rules(source: str, path: str = "pkg/mod.py") -> set[str]:
    return {rule for _, rule in scan(source, path)}


# --- imports of every shape ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "from metta.agent.policy_store import PolicyStore",
        "from metta.agent.policy_store import PolicyStore as Store",
        "from metta.agent.policy_store import PolicyRecord",  # re-export path (I3)
        "from metta.agent.policy_record import PolicyRecord",
        "from metta.agent.policy_metadata import PolicyMetadata",
        "from metta.agent.policy_cache import PolicyCache",
        "from metta.agent.mocks import MockPolicyRecord",  # package re-export
        "from metta.agent.mocks.mock_policy_record import MockPolicyRecord",
        "from tests.fixtures.mock_policy_record import MockPolicyRecord",  # generation B
        "from agent.policy_store import PolicyStore",  # generation A
        "from agent.policy_store import PolicyRecord",
        "from rl.pufferlib.trainer_checkpoint import TrainerCheckpoint",  # generation A
        "from metta.rl.trainer_checkpoint import TrainerCheckpoint",
        "from metta.rl.checkpoint_manager import maybe_establish_checkpoint",
        "from metta.rl.policy_management import cleanup_old_policies",
        "from metta.rl.policy_management import maybe_load_checkpoint",
        "from metta.rl.wandb import upload_policy_artifact",
        "from tools.utils import get_policy_store_from_cfg",  # generation C
        "from metta.setup.shell import get_policy_store_from_cfg",
        "from metta.agent.policy_store import PolicySelectorConfig, PolicySelectorType, PolicyMissingError",
        "import metta.agent.policy_record",
        "import metta.agent.policy_store as ps",
        "import agent.policy_store",
        "from metta.agent import policy_store",
        "from metta.agent.policy_store import *",
        "from metta.agent.policy_store import (\n    PolicySelectorType,\n    PolicyStore,\n)",
    ],
)
def test_every_import_shape_is_an_sc001(statement: str) -> None:
    found = scan(statement + "\n")
    assert found and {rule for _, rule in found} == {"SC001"}


def test_mixed_import_reports_only_the_legacy_names() -> None:
    found = check_source(
        load_table(),
        "t.py",
        "from metta.rl.policy_management import (\n    initialize_policy_for_environment,\n    wrap_agent_distributed,\n)\n",
    )
    assert [(f.line, f.col, f.rule) for f in found] == [(2, 5, "SC001")]
    assert "initialize_policy_for_environment" in found[0].message


def test_function_local_and_type_checking_imports_and_their_uses() -> None:
    source = """
    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        from metta.agent.policy_store import PolicyStore

    def make(store: "PolicyStore") -> None:
        from metta.agent.policy_record import PolicyRecord as Rec
        return Rec(store, "run", "uri", {})
    """
    assert scan(source) == [(5, "SC001"), (7, "SC002"), (8, "SC001"), (9, "SC002")]


def test_function_local_import_does_not_leak_to_other_functions() -> None:
    source = """
    def a():
        from metta.agent.policy_record import PolicyRecord
        return PolicyRecord

    def b():
        return PolicyRecord
    """
    assert scan(source) == [(3, "SC001"), (4, "SC002")]


def test_relative_import_inside_the_legacy_package_and_all() -> None:
    source = """
    from .mock_agent import MockAgent
    from .mock_policy_record import MockPolicyRecord

    __all__ = ["MockAgent", "MockPolicyRecord"]
    """
    found = scan(source, path="agent/src/metta/agent/mocks/__init__.py")
    assert found == [(3, "SC001"), (5, "SC006")]


def test_relative_import_elsewhere_is_not_legacy() -> None:
    assert scan("from .policy_store import PolicyStore\n", path="myproj/store/__init__.py") == []


def test_absolute_import_with_a_legacy_suffix_is_not_legacy() -> None:
    assert scan("from myproj.agent.policy_store import PolicyStore\nPolicyStore()\n") == []


def test_all_strings_of_non_legacy_names_are_not_reported() -> None:
    assert scan('class MockPolicyRecord:\n    pass\n\n__all__ = ["MockPolicyRecord"]\n') == []


# --- uses ----------------------------------------------------------------------------------------------


def test_attribute_qualified_uses() -> None:
    source = """
    import metta.agent.policy_store as ps
    import metta.agent.policy_record

    store = ps.PolicyStore(cfg, None)
    rec = metta.agent.policy_record.PolicyRecord(store, "r", "u", {})
    """
    assert scan(source) == [(2, "SC001"), (3, "SC001"), (5, "SC002"), (6, "SC002")]


def test_star_import_binds_the_legacy_names() -> None:
    assert scan("from metta.agent.policy_store import *\n\nx = PolicyStore(cfg, None)\n") == [
        (1, "SC001"),
        (3, "SC002"),
    ]


def test_annotations_including_string_and_nested_string_annotations() -> None:
    source = """
    from typing import Optional
    from metta.agent.policy_record import PolicyRecord
    from metta.rl.trainer_checkpoint import TrainerCheckpoint

    def f(a: PolicyRecord, b: "PolicyRecord", c: Optional["TrainerCheckpoint"]) -> "list[PolicyRecord]":
        x: dict[PolicyRecord, float] = {}
        return [x]
    """
    found = scan(source)
    assert found.count((6, "SC002")) == 4
    assert (7, "SC002") in found


def test_isinstance_and_cast() -> None:
    source = """
    from typing import cast
    from metta.agent.policy_metadata import PolicyMetadata
    from metta.agent.policy_record import PolicyRecord

    ok = isinstance(md, PolicyMetadata)
    rec = cast("PolicyRecord", obj)
    """
    assert scan(source)[2:] == [(6, "SC002"), (7, "SC002")]


def test_literal_strings_in_annotations_are_values_not_names() -> None:
    source = """
    from typing import Literal
    from metta.agent.policy_store import PolicyStore

    def f(kind: Literal["PolicyStore"]) -> None: ...
    """
    assert scan(source) == [(3, "SC001")]


# --- receivers and methods (generations A-E) -----------------------------------------------------------


def test_generation_a_store_policy_record_policy_call_and_name() -> None:
    source = """
    from agent.policy_store import PolicyStore

    def run(cfg, wandb_run):
        store = PolicyStore(cfg, wandb_run)
        rec = store.policy(cfg.policy_uri)
        agent = rec.policy()
        return rec.name, rec.local_path(), agent
    """
    found = scan(source)
    assert found == [(2, "SC001"), (5, "SC002"), (6, "SC003"), (7, "SC003"), (8, "SC003"), (8, "SC003")]


def test_method_names_alone_are_not_legacy_on_unknown_receivers() -> None:
    source = """
    def run(thing, rec):
        thing.policy(1)
        thing.save(2)
        return rec.policy, rec.name, rec.uri
    """
    assert scan(source) == []


def test_distinctive_methods_are_legacy_on_any_receiver() -> None:
    source = """
    def run(self, uri):
        rec = self.store.policy_record(uri)
        first = latest = self.mgr.load_or_create_policy(agent_cfg=1)
        return rec.policy, latest.policy
    """
    assert scan(source) == [(3, "SC003"), (4, "SC003"), (5, "SC003"), (5, "SC003")]


def test_store_factories_records_lists_and_self_attributes() -> None:
    source = """
    from metta.agent.policy_store import PolicyStore

    class Kickstarter:
        def __init__(self, cfg, store: PolicyStore) -> None:
            self.store = store

        def load(self, uri):
            recs = self.store.policies(uri)
            for r in recs:
                print(r.uri)
            best = recs[0]
            return best.metadata

    def create():
        store = PolicyStore.create(device="cpu", data_dir=".", wandb_config=None, wandb_run=None)
        return store.save(None)
    """
    assert scan(source) == [
        (2, "SC001"),
        (5, "SC002"),
        (9, "SC003"),
        (11, "SC003"),
        (13, "SC003"),
        (16, "SC002"),
        (17, "SC003"),
    ]


def test_generation_b_unannotated_store_on_self_by_its_legacy_identifier() -> None:
    source = """
    class MettaTrainer:
        def __init__(self, cfg, policy_store):
            self.policy_store = policy_store
            self._policy_store = policy_store

        def save(self, rec):
            self.policy_store.save(rec)
            return self._policy_store.load_from_uri(rec)

    def other(store):
        return store.save(1), store.load_from_uri(2)
    """
    assert scan(source) == [(3, "SC004"), (8, "SC003"), (9, "SC003")]


def test_aliases_of_classes_and_fields_typed_on_the_class() -> None:
    source = """
    from dataclasses import dataclass
    from metta.agent.policy_store import PolicyStore

    Store = PolicyStore

    @dataclass
    class Tool:
        store: PolicyStore

        def run(self, uri):
            return self.store.policy(uri)

    def make(cfg):
        s = Store(cfg, None)
        ps = s
        return ps.load_from_uri("x")
    """
    assert scan(source) == [
        (3, "SC001"),
        (5, "SC002"),
        (9, "SC002"),
        (12, "SC003"),
        (15, "SC002"),
        (17, "SC003"),
    ]


def test_trainer_checkpoint_reads_and_checkpoint_tuple() -> None:
    source = """
    from metta.rl.checkpoint_manager import maybe_establish_checkpoint
    from metta.rl.trainer_checkpoint import TrainerCheckpoint

    ck = TrainerCheckpoint.load(run_dir)
    step = ck.agent_step if ck else 0
    res = maybe_establish_checkpoint(epoch=1)
    if res:
        latest, wandb_name = res
        print(latest.uri)
    """
    assert scan(source) == [
        (2, "SC001"),
        (3, "SC001"),
        (5, "SC002"),
        (6, "SC003"),
        (7, "SC002"),
        (10, "SC003"),
    ]


def test_legacy_keywords_and_parameters() -> None:
    source = """
    def train(run, policy_store, checkpoint_manager=None):
        evaluate_policy(policy_record=None, simulations=[], policy_store=policy_store)
        process_stats(latest_saved_policy_record=None, initial_policy_record=None)
    """
    assert scan(source) == [(2, "SC004"), (3, "SC004"), (3, "SC004"), (4, "SC004"), (4, "SC004")]


# --- CheckpointManager and PolicyMetadata: same names, new API ------------------------------------------


def test_legacy_checkpoint_manager_by_keywords_or_positional_layout() -> None:
    source = """
    from metta.rl.checkpoint_manager import CheckpointManager

    a = CheckpointManager(policy_store=s, checkpoint_config=c, device=d, is_master=True, rank=0, run_name=n)
    b = CheckpointManager(run_dir, store, trainer_cfg, device, True, 0, run)
    rec = a.load_or_create_policy(agent_cfg=x)
    b.save_policy(rec)
    """
    assert scan(source) == [(4, "SC005"), (5, "SC005"), (6, "SC003"), (7, "SC003")]


def test_post_refactor_checkpoint_manager_and_policy_metadata_are_clean() -> None:
    source = """
    from metta.rl.checkpoint_manager import CheckpointManager, PolicyMetadata

    def load(run: str, run_dir: str, uri: str) -> PolicyMetadata:
        mgr = CheckpointManager(run_name=run, run_dir=run_dir)
        agent = CheckpointManager.load_from_uri(uri, device="cpu")
        mgr.save_agent(agent, 1, {"score": 1.0})
        md: PolicyMetadata = CheckpointManager.get_policy_metadata(uri)
        return md
    """
    assert scan(source) == []


# --- look-alikes ---------------------------------------------------------------------------------------


def test_local_class_named_like_a_legacy_class_is_not_reported() -> None:
    source = """
    class MockPolicyRecord:
        def __init__(self, name):
            self.name = name

    def make() -> "MockPolicyRecord":
        rec = MockPolicyRecord("x")
        return rec.name
    """
    assert scan(source) == []


def test_local_class_shadows_an_import_in_its_scope_only() -> None:
    source = """
    from metta.agent.mocks import MockPolicyRecord

    def fixture():
        class MockPolicyRecord:
            pass
        return MockPolicyRecord()

    def other():
        return MockPolicyRecord.from_key_and_version("p", 1)
    """
    assert scan(source) == [(2, "SC001"), (10, "SC002")]


def test_comments_strings_and_docstrings_are_not_code() -> None:
    source = '''
    """Uses PolicyStore and metta.agent.policy_store in prose only."""

    def render(frame):
        # store = PolicyStore(cfg, wandb_run)
        # rec = store.policy_record(cfg.policy_uri)
        msg = "PolicyRecord is gone; policy_store= too"
        return frame, msg
    '''
    assert scan(source) == []
    commented = scan(source, include_docs=True)
    assert commented == [(5, "SC103"), (6, "SC103")]


# --- TODO markers --------------------------------------------------------------------------------------


def test_todo_marked_statements_become_one_manual_finding() -> None:
    source = """
    from metta.agent.policy_store import PolicyStore

    def load(store: PolicyStore, uri):
        # TODO(simple-ckpt): no URI loader: load a local run with load_agent()
        rec = store.policy_record(uri, "top", metric="score")
        return rec.policy  # TODO(simple-ckpt): decide what replaces the record
    """
    findings = check_source(load_table(), "m.py", textwrap.dedent(source))
    by_line = {(f.line, f.rule): f for f in findings}
    assert sorted(by_line) == [(2, "SC001"), (4, "SC002"), (6, "manual"), (7, "manual")]
    assert by_line[(6, "manual")].message.startswith("no URI loader: load a local run with load_agent()")
    assert "SC003" in by_line[(6, "manual")].message
    assert by_line[(7, "manual")].message.startswith("decide what replaces the record")


def test_marker_without_legacy_code_is_still_manual() -> None:
    source = "x = 1\n# TODO(simple-ckpt): choose the run dir here\ny = compute(x)\n"
    assert scan(source) == [(2, "manual")]


def test_marker_text_inside_strings_is_not_a_marker() -> None:
    source = '''
    """Docs: the codemod writes ``# TODO(simple-ckpt): ...`` on the statement."""
    TEMPLATE = "# TODO(simple-ckpt): <what to decide>"
    '''
    assert scan(source) == []


def test_marker_on_a_multiline_call_covers_the_whole_statement() -> None:
    source = """
    result = store_like.policy_records(  # TODO(simple-ckpt): selector "top" has no equivalent
        uri_or_config=u,
        policy_store=s,
    )
    """
    assert scan(source) == [(2, "manual")]


# --- file problems and columns -------------------------------------------------------------------------


def test_syntax_error_is_one_finding() -> None:
    found = check_source(load_table(), "bad.py", "from metta.agent.policy_store import (\n")
    assert [(f.rule) for f in found] == ["syntax-error"]


def test_columns_count_characters_not_bytes() -> None:
    source = 'x = "é"; from metta.agent.policy_store import PolicyStore\n'
    found = check_source(load_table(), "u.py", source)
    assert [(f.line, f.col) for f in found] == [(1, source.index("PolicyStore") + 1)]


def test_deeply_nested_and_null_byte_sources_are_reported_not_fatal() -> None:
    table = load_table()
    chain = (
        "from metta.agent.policy_store import PolicyStore\nx = "
        + " + ".join(["a"] * 900)
        + " + PolicyStore\n"
    )
    assert [(f.line, f.rule) for f in check_source(table, "d.py", chain)] == [(1, "SC001"), (2, "SC002")]
    too_deep = "x = " + " + ".join(["a"] * 20000) + "\n"
    assert [f.rule for f in check_source(table, "e.py", too_deep)] == ["syntax-error"]
    assert [f.rule for f in check_source(table, "n.py", "x = 1\0\n")] == ["syntax-error"]


def test_marimo_cells_pass_legacy_names_as_parameters() -> None:
    source = """
    import marimo

    app = marimo.App()

    @app.cell
    def setup():
        from metta.agent.policy_store import PolicyStore
        return (PolicyStore,)

    @app.cell(hide_code=True)
    def evaluate(PolicyStore, run_dir):
        store = PolicyStore.create(device="cpu", data_dir=run_dir, wandb_config={}, wandb_run=None)
        return store.policy_records(uri_or_config=run_dir, selector_type="latest", n=1, metric="score")[0].policy

    def not_a_cell(PolicyStore):
        return PolicyStore
    """
    assert scan(source) == [
        (8, "SC001"),
        (9, "SC002"),
        (12, "SC002"),
        (13, "SC002"),
        (14, "SC003"),
        (14, "SC003"),
    ]


def test_legacy_identifiers_passed_positionally() -> None:
    source = """
    def evaluate(self, name, cfg, policy_record, device):
        sim = Simulation(name, cfg, policy_record, self._policy_store, device=device)
        return stats.key_and_version(policy_record)
    """
    assert scan(source) == [(2, "SC004"), (3, "SC004"), (3, "SC004"), (4, "SC004")]


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("agent/src/metta/agent/policy_store.py", "metta.agent.policy_store"),
        ("/repo/metta/rl/trainer_checkpoint.py", "metta.rl.trainer_checkpoint"),
        ("metta/agent/mocks/mock_policy_record.py", "metta.agent.mocks.mock_policy_record"),
        ("agent/policy_store.py", "agent.policy_store"),
        ("metta/rl/checkpoint_manager.py", None),  # survives the refactor with a new class
        ("metta/agent/mocks/__init__.py", None),
        ("myproj/policy_store.py", None),
    ],
)
def test_a_legacy_module_file_is_reported_once(path: str, module: str | None) -> None:
    found = check_source(load_table(), path, "class Anything:\n    pass\n")
    assert [(f.line, f.rule) for f in found] == ([(1, "SC007")] if module else [])
    if module:
        assert module in found[0].message


def test_functions_using_legacy_objects_only_through_plain_names_are_still_visited() -> None:
    """The body skip (no legacy word in a function) must not hide uses through aliases and bound names."""
    source = """
    from metta.agent.policy_store import PolicyStore as S

    store = S(cfg, None)

    def make():
        return S(cfg, None)

    def load(uri):
        rec = store.policy(uri)
        return rec.name

    class Holder:
        def __init__(self, s: S):
            self.s = s

        def get(self, uri):
            return self.s.save(uri)

    def unrelated(x):
        return x.policy(1), x.save(2)
    """
    assert scan(source) == [
        (2, "SC001"),
        (4, "SC002"),
        (7, "SC002"),
        (10, "SC003"),
        (11, "SC003"),
        (14, "SC002"),
        (18, "SC003"),
    ]


def test_marker_on_an_except_line_covers_its_exception_type() -> None:
    source = """
    from metta.agent.policy_store import PolicyMissingError  # TODO(simple-ckpt): kept for the marked code

    def find(store, uri):
        try:
            return store.load(uri)
        except PolicyMissingError:  # TODO(simple-ckpt): load_agent returns None instead
            return None
    """
    assert scan(source) == [(2, "manual"), (7, "manual")]


def test_package_relative_import_of_a_legacy_module() -> None:
    source = """
    from . import policy_store
    from .. import agent

    store = policy_store.PolicyStore(cfg, None)
    """
    assert scan(source, path="agent/src/metta/agent/__init__.py") == [(2, "SC001"), (5, "SC002")]
