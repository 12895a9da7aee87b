"""Kickstarter tests: the store is only a MagicMock fixture passed positionally (pattern P3)."""

from unittest.mock import MagicMock

import pytest

from metta.rl.kickstarter import Kickstarter


@pytest.fixture
def mock_policy_store() -> MagicMock:
    return MagicMock()


def test_no_teachers(mock_policy_store: MagicMock) -> None:
    cfg = MagicMock(additional_teachers=[])
    kickstarter = Kickstarter(cfg, "cpu", mock_policy_store, None)
    assert kickstarter.teachers == []
