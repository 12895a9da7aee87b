"""The legacy table covers the spec and drives the Ruff banned-api block."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from codemods.legacy_table import KINDS, load_table
from codemods.ruff_config import HEADER, banned_api_entries, emit_ruff_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
RUFF = PROJECT_ROOT / ".venv" / "bin" / "ruff"

# spec §1.2 and §3.1: every legacy class/function name counted there.
SPEC_SYMBOLS = [
    "PolicyStore",
    "PolicyRecord",
    "PolicyMetadata",
    "PolicyCache",
    "MockPolicyRecord",
    "PolicySelectorConfig",
    "PolicySelectorType",
    "PolicyMissingError",
    "CheckpointManager",
    "TrainerCheckpoint",
    "maybe_establish_checkpoint",
    "upload_policy_artifact",
    "get_policy_store_from_cfg",
    "initialize_policy_for_environment",
    "cleanup_old_policies",
    "validate_policy_environment_match",
]
# spec §1.2/§3.1 names that are methods of the store / legacy manager / record, not importable names.
SPEC_METHODS = [
    "load_or_create_policy",
    "create_empty_policy_record",
    "make_model_name",
    "policy_record",
    "policy_records",
    "policy_record_or_mock",
    "policy",
    "name",
    "local_path",
    "policy_as_metta_agent",
    "load_from_uri",
    "add_to_wandb_run",
]
# spec §3.3: every import source the matchers must recognise, as (module, name) pairs.
SPEC_IMPORT_SOURCES = [
    ("agent.policy_store", "PolicyStore"),
    ("agent.policy_store", "PolicyRecord"),
    ("metta.agent.policy_store", "PolicyStore"),
    ("metta.agent.policy_store", "PolicyRecord"),
    ("metta.agent.policy_store", "PolicySelectorConfig"),
    ("metta.agent.policy_store", "PolicySelectorType"),
    ("metta.agent.policy_store", "PolicyMissingError"),
    ("metta.agent.policy_record", "PolicyRecord"),
    ("metta.agent.policy_metadata", "PolicyMetadata"),
    ("metta.agent.policy_cache", "PolicyCache"),
    ("metta.agent.mocks", "MockPolicyRecord"),
    ("metta.agent.mocks.mock_policy_record", "MockPolicyRecord"),
    ("tests.fixtures.mock_policy_record", "MockPolicyRecord"),
    ("rl.pufferlib.trainer_checkpoint", "TrainerCheckpoint"),
    ("metta.rl.trainer_checkpoint", "TrainerCheckpoint"),
    ("metta.rl.checkpoint_manager", "CheckpointManager"),
    ("metta.rl.checkpoint_manager", "maybe_establish_checkpoint"),
    ("metta.rl.policy_management", "initialize_policy_for_environment"),
    ("metta.rl.policy_management", "cleanup_old_policies"),
    ("metta.rl.policy_management", "validate_policy_environment_match"),
    ("metta.rl.policy_management", "maybe_load_checkpoint"),
    ("metta.rl.wandb", "upload_policy_artifact"),
    ("tools.utils", "get_policy_store_from_cfg"),
    ("metta.setup.shell", "get_policy_store_from_cfg"),
]


def test_every_spec_symbol_is_in_the_table() -> None:
    assert set(SPEC_SYMBOLS) <= load_table().names


@pytest.mark.parametrize("name", SPEC_METHODS)
def test_every_spec_method_is_in_the_table(name: str) -> None:
    assert load_table().methods_by_name.get(name), name


@pytest.mark.parametrize(("module", "name"), SPEC_IMPORT_SOURCES)
def test_every_import_source_resolves(module: str, name: str) -> None:
    assert load_table().symbol(module, name) is not None


def test_surviving_modules_are_not_wholly_legacy_and_deleted_ones_are() -> None:
    table = load_table()
    for survivor in (
        "metta.rl.checkpoint_manager",
        "metta.rl.policy_management",
        "metta.agent.mocks",
        "tools.utils",
    ):
        assert table.deleted_module_of(survivor) is None, survivor
    assert table.deleted_module_of("metta.agent.policy_store") is not None
    assert table.deleted_module_of("metta.agent.mocks.mock_policy_record") is not None
    assert table.deleted_module_of("metta.agent.policy_state") is None  # LSTM state, not legacy


def test_checkpoint_manager_is_legacy_only_by_its_old_keywords() -> None:
    symbol = load_table().symbol("metta.rl.checkpoint_manager", "CheckpointManager")
    assert symbol is not None and symbol.legacy_when is not None
    assert symbol.legacy_when.call_is_legacy({"policy_store", "device"}, 0)
    assert symbol.legacy_when.call_is_legacy({"checkpoint_config"}, 0)
    assert not symbol.legacy_when.call_is_legacy({"run_name", "run_dir"}, 0)
    assert not symbol.legacy_when.call_is_legacy(set(), 3)


def test_table_entries_are_consistent() -> None:
    table = load_table()
    for symbol in table.symbols:
        assert symbol.why, symbol.name
        assert symbol.action != "rewrite" or symbol.becomes, symbol.name
        assert symbol.produces is None or symbol.produces in KINDS
    for method in table.methods:
        assert set(method.on) <= set(KINDS) and method.why
    assert {
        "SC001",
        "SC002",
        "SC003",
        "SC004",
        "SC005",
        "SC006",
        "manual",
        "unreadable",
        "syntax-error",
    } <= set(table.rules)
    assert {"policy_store", "policy_record"} <= set(table.keyword_by_name)


def test_pickle_section_keeps_its_schema() -> None:
    remap = load_table().pickle
    assert remap.standins["metta.agent.policy_record.PolicyRecord"] == "PolicyRecord"
    assert "metta." in remap.stub_prefixes


def test_prefilter_words_cover_the_names_but_not_the_reused_one() -> None:
    words = load_table().prefilter_words
    assert {"PolicyStore", "policy_store", "checkpoint_config", "load_or_create_policy"} <= words
    assert "CheckpointManager" not in words


def test_emitted_ruff_config_parses_as_toml_with_one_entry_per_qualified_name() -> None:
    text = emit_ruff_config()
    assert HEADER in text
    parsed = tomllib.loads(text)
    banned = parsed["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"]
    table = load_table()
    expected = {
        q for s in table.symbols if not s.ambiguous for q in s.qualified_names
    } | table.deleted_modules
    assert set(banned) == expected
    assert banned == {k: {"msg": v} for k, v in banned_api_entries(table).items()}
    assert "metta.rl.checkpoint_manager.CheckpointManager" not in banned


def test_emitted_ruff_config_makes_ruff_flag_legacy_imports(tmp_path: Path) -> None:
    if not RUFF.exists():
        pytest.skip(f"ruff not found at {RUFF}")
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["TID251"]\n\n' + emit_ruff_config())
    (tmp_path / "legacy.py").write_text(
        "from metta.agent.mocks import MockAgent, MockPolicyRecord\n"
        "from metta.rl.checkpoint_manager import CheckpointManager\n"
        "from tools.utils import get_policy_store_from_cfg\n"
        "print(MockAgent, MockPolicyRecord, CheckpointManager, get_policy_store_from_cfg)\n"
    )
    done = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--output-format", "json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    flagged = {(d["location"]["row"], d["code"]) for d in json.loads(done.stdout)}
    assert flagged == {(1, "TID251"), (3, "TID251")}
    messages = " ".join(d["message"] for d in json.loads(done.stdout))
    assert "MockPolicyRecord" in messages and "get_policy_store_from_cfg" in messages
