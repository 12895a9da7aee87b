"""Look-alike: an unrelated local class that happens to be called MockPolicyRecord. Must not change."""

from dataclasses import dataclass


@dataclass
class MockPolicyRecord:
    """Stands in for a sweep suggestion, not for the legacy policy record."""

    run_name: str
    score: float


def test_protein_ranks_by_score() -> None:
    records = [MockPolicyRecord("a", 0.1), MockPolicyRecord("b", 0.9)]
    best = max(records, key=lambda r: r.score)
    assert best.run_name == "b"
