"""simple_ckpt.compat: the helpers codemod rewrites target, on a real run dir with a tiny agent."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from simple_ckpt import load_agent_from, read_metadata
from simple_ckpt.compat import (
    CheckpointNotFound,
    Selector,
    SelectorConfig,
    checkpoint_metadata,
    make_test_checkpoint,
    maybe_save_checkpoint,
    select_checkpoints,
)
from simple_ckpt.errors import CheckpointError
from simple_ckpt.manager import SimpleCheckpointManager


class _Timer:
    def get_elapsed(self) -> float:
        return 12.5


def test_maybe_save_checkpoint_honours_interval_and_force(tmp_path: Path) -> None:
    manager = SimpleCheckpointManager(run_dir=tmp_path / "run", run_name="run")
    agent = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(agent.parameters(), lr=0.1)
    assert maybe_save_checkpoint(manager, 3, agent, 30, optimizer, interval=2) is None
    saved = maybe_save_checkpoint(
        manager, 4, agent, 40, optimizer, {"a": 1.0, "b": 3.0}, _Timer(), interval=2
    )
    assert saved is not None and Path(saved).name == "model_0004.pt"
    assert maybe_save_checkpoint(manager, 5, agent, 50, interval=0) is None
    forced = maybe_save_checkpoint(manager, 5, agent, 50, interval=0, force=True)
    assert forced is not None and Path(forced).name == "model_0005.pt"
    metadata = checkpoint_metadata(saved)
    assert metadata["agent_step"] == 40 and metadata["score"] == 2.0 and metadata["total_time"] == 12.5
    state = manager.load_trainer_state()
    assert state is not None and state["epoch"] == 4 and state["agent_step"] == 40


def test_select_checkpoints_latest_top_all(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    manager = SimpleCheckpointManager(run_dir=run_dir, run_name="run")
    agent = torch.nn.Linear(1, 1)
    for epoch, score in [(1, 0.5), (2, 0.9), (3, 0.1)]:
        manager.save_agent(agent, epoch, {"score": score})
    assert all(isinstance(p, str) for p in select_checkpoints(run_dir, "all"))  # decision F1: path strings
    names = lambda paths: [Path(p).name for p in paths]  # noqa: E731
    assert names(select_checkpoints(run_dir, "latest", 1)) == ["model_0003.pt"]
    assert names(select_checkpoints(run_dir, "top", 2)) == ["model_0002.pt", "model_0001.pt"]
    assert names(select_checkpoints(run_dir, "all")) == ["model_0001.pt", "model_0002.pt", "model_0003.pt"]
    with pytest.raises(ValueError, match="unknown selector"):
        select_checkpoints(run_dir, "rand")


def test_make_test_checkpoint_is_a_real_loadable_checkpoint() -> None:
    path = make_test_checkpoint("p", 7, {"score": 0.5})
    assert isinstance(path, str) and Path(path).name == "model_0007.pt"
    assert Path(path).parent.parent.name == "p"
    metadata = read_metadata(path)
    assert metadata["epoch"] == 7 and metadata["run"] == "p" and metadata["score"] == 0.5
    assert isinstance(load_agent_from(path), torch.nn.Module)
    assert make_test_checkpoint("p", 7) != path  # every call gets its own run dir


def test_load_agent_from_rejects_a_wandb_uri_with_a_one_line_error() -> None:
    # What the codemod's `store.policy_record(u)` -> `load_agent_from(u)` rewrite relies on: a wandb URI
    # fails loudly, naming the URI, instead of loading something else.
    with pytest.raises(CheckpointError) as info:
        load_agent_from("wandb://run/teacher:v3")
    message = str(info.value)
    assert "wandb://run/teacher:v3" in message and "\n" not in message


def test_selector_is_the_legacy_literal_without_rand() -> None:
    assert Selector.__args__ == ("latest", "top", "all")  # argparse choices=Selector.__args__ keeps working
    assert "rand" not in Selector.__args__


def test_select_checkpoints_takes_a_runtime_selector_and_rejects_unsupported_ones(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    manager = SimpleCheckpointManager(run_dir=run_dir, run_name="run")
    manager.save_agent(torch.nn.Linear(1, 1), 1, {"score": 0.5})
    chosen = "top"  # e.g. args.selector
    assert [Path(p).name for p in select_checkpoints(f"file://{run_dir}", chosen, n=1, metric="score")] == [
        "model_0001.pt"
    ]
    for bad in ("rand", "best", ""):
        with pytest.raises(CheckpointError, match="unknown selector") as info:
            select_checkpoints(run_dir, bad)
        assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="wandb://run/x:v1") as info:
        select_checkpoints("wandb://run/x:v1", "latest")
    assert not isinstance(info.value, CheckpointNotFound) and "\n" not in str(info.value)


def test_empty_selection_raises_checkpoint_not_found_like_policy_missing_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointNotFound, match="no checkpoints found"):
        select_checkpoints(empty, "all")
    with pytest.raises(CheckpointNotFound, match="no such run dir"):
        select_checkpoints(tmp_path / "missing", "latest")
    assert not (tmp_path / "missing").exists()  # selecting never creates a run dir
    run_dir = tmp_path / "run"
    SimpleCheckpointManager(run_dir=run_dir, run_name="run").save_agent(torch.nn.Linear(1, 1), 1, {})
    with pytest.raises(CheckpointNotFound, match="'score'"):
        select_checkpoints(run_dir, "top", metric="score")
    assert issubclass(CheckpointNotFound, CheckpointError)


def test_selector_config_has_the_legacy_fields_and_rejects_rand() -> None:
    config = SelectorConfig()
    assert (config.type, config.metric, config.range) == ("top", "score", 1)
    assert SelectorConfig(type="latest", range=3).range == 3
    with pytest.raises(CheckpointError, match="'rand'"):
        SelectorConfig(type="rand")  # type: ignore[arg-type]
