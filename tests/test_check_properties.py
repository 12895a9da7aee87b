"""Properties of `check` on programs assembled from one-line fragments (hypothesis).

Which lines are reported depends only on what the fragments are and on which imports the module has
(imports anywhere in a module are visible everywhere in it); a TODO marker on every line turns every
finding into exactly one ``manual`` finding per line.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from codemods.check import check_source
from codemods.legacy_table import load_table

STORE_IMPORT = "from metta.agent.policy_store import PolicyStore"
CM_IMPORT = "from metta.rl.checkpoint_manager import CheckpointManager"

# fragment -> when it is legacy: "always", "never", or the import it needs to resolve to legacy code.
FRAGMENTS: dict[str, str] = {
    STORE_IMPORT: "always",
    CM_IMPORT: "never",
    "import os": "never",
    "import metta.agent.policy_record": "always",
    "x = PolicyStore(cfg, None)": STORE_IMPORT,
    "y = os.path.join('a', 'b')": "never",
    "def f(policy_store): return policy_store": "always",
    "mgr = CheckpointManager(run_name='r', run_dir='d')": "never",
    "old = CheckpointManager(policy_store=s, checkpoint_config=c)": "always",  # SC005, or SC004 unresolved
    "cm = CheckpointManager(cfg.dir, store, cfg.trainer, 'cpu', True, 0, 'r')": CM_IMPORT,
    "z = 1  # PolicyStore in a comment": "never",
    "s = 'PolicyRecord is gone'": "never",
    "r = metta.agent.policy_record.PolicyRecord(None, 'n', 'u', {})": "import metta.agent.policy_record",
    "ok = isinstance(obj, PolicyStore)": STORE_IMPORT,
    "class Local: name = 'MockPolicyRecord'": "never",
    "evaluate_policy(policy_record=r, simulations=[])": "always",
}

programs = st.lists(st.sampled_from(sorted(FRAGMENTS)), min_size=1, max_size=12)


def _expected_lines(lines: list[str]) -> set[int]:
    present = set(lines)
    expected = set()
    for number, line in enumerate(lines, start=1):
        when = FRAGMENTS[line]
        if when == "always" or (when != "never" and when in present):
            expected.add(number)
    return expected


@settings(max_examples=150, deadline=None)
@given(programs)
def test_reported_lines_follow_the_fragments_and_imports(lines: list[str]) -> None:
    findings = check_source(load_table(), "prog.py", "\n".join(lines) + "\n")
    assert {f.line for f in findings} == _expected_lines(lines)
    assert all(f.rule in load_table().rules for f in findings)
    assert all(1 <= f.col <= len(lines[f.line - 1]) for f in findings)


@settings(max_examples=100, deadline=None)
@given(programs)
def test_a_marker_on_every_line_gives_one_manual_finding_per_line(lines: list[str]) -> None:
    marked = [f"{line}  # TODO(simple-ckpt): decide line {n}" for n, line in enumerate(lines, start=1)]
    findings = check_source(load_table(), "prog.py", "\n".join(marked) + "\n")
    assert [f.rule for f in findings] == ["manual"] * len(lines)
    assert sorted(f.line for f in findings) == list(range(1, len(lines) + 1))
    assert all(f.message.startswith(f"decide line {f.line}") for f in findings)
