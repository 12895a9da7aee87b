"""Kickstarter tests: the store is only a MagicMock fixture passed positionally (pattern P3)."""

from unittest.mock import MagicMock

import pytest

from metta.rl.kickstarter import Kickstarter


@pytest.fixture
def mock_policy_store() -> MagicMock:  # TODO(simple-ckpt): mock_policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    return MagicMock()


def test_no_teachers(mock_policy_store: MagicMock) -> None:  # TODO(simple-ckpt): mock_policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
    cfg = MagicMock(additional_teachers=[])
    kickstarter = Kickstarter(cfg, "cpu", None)
    assert kickstarter.teachers == []
