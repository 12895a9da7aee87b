"""The sidecar index: listings stay correct when sidecars are added, rewritten, edited, removed or broken."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
import torch

import simple_ckpt.sidecars as sidecars
import simple_ckpt.storage as storage
from simple_ckpt import SimpleCheckpointManager
from simple_ckpt.sidecars import INDEX_NAME


@pytest.fixture
def mgr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleCheckpointManager:
    monkeypatch.setattr(sidecars, "INDEX_MIN_SIDECARS", 3)
    manager = SimpleCheckpointManager(tmp_path / "run", "idx", fsync=False)
    net = torch.nn.Linear(2, 2)
    for epoch in range(1, 6):
        manager.save_agent(net, epoch, {"score": epoch / 10, "evals": {"nav": 1 - epoch / 10}})
    yield manager
    manager.close()


def _scores(manager: SimpleCheckpointManager) -> dict[int, object]:
    return {i.epoch: i.metadata.get("score") for i in manager.list_all_checkpoints()}


def test_index_is_written_and_then_used(
    mgr: SimpleCheckpointManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _scores(mgr) == {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.5}
    index = json.loads((mgr.checkpoint_dir / INDEX_NAME).read_text())
    assert set(index["entries"]) == {f"model_{e:04d}.yaml" for e in range(1, 6)}
    parsed: list[Path] = []
    real = sidecars.parse_sidecar
    monkeypatch.setattr(sidecars, "parse_sidecar", lambda p: parsed.append(p) or real(p))
    assert mgr.find_best_checkpoint().name == "model_0005.pt"
    assert parsed == []  # answered from the index alone


def test_new_rewritten_and_removed_sidecars_are_noticed(mgr: SimpleCheckpointManager) -> None:
    _scores(mgr)
    net = torch.nn.Linear(2, 2)
    mgr.save_agent(net, 6, {"score": 0.05})  # new
    mgr.save_agent(net, 2, {"score": 0.95})  # rewritten (os.replace: new inode)
    (mgr.checkpoint_dir / "model_0004.yaml").unlink()  # removed sidecar: listed without metadata
    (mgr.checkpoint_dir / "model_0003.pt").unlink()
    (mgr.checkpoint_dir / "model_0003.yaml").unlink()  # removed checkpoint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _scores(mgr) == {1: 0.1, 2: 0.95, 4: None, 5: 0.5, 6: 0.05}
    assert mgr.find_best_checkpoint().name == "model_0002.pt"
    assert mgr.find_best_checkpoint("evals.nav").name == "model_0001.pt"
    entries = json.loads((mgr.checkpoint_dir / INDEX_NAME).read_text())["entries"]
    assert "model_0003.yaml" not in entries and "model_0004.yaml" not in entries


def test_in_place_edit_with_same_size_is_noticed(mgr: SimpleCheckpointManager) -> None:
    _scores(mgr)
    path = mgr.checkpoint_dir / "model_0001.yaml"
    text = path.read_text()
    before = os.stat(path)
    edited = text.replace("score: 0.1", "score: 0.9")
    assert len(edited) == len(text)
    with open(path, "r+", encoding="utf-8") as handle:  # same inode, same size
        handle.write(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000))
    assert os.stat(path).st_ino == before.st_ino
    assert _scores(mgr)[1] == 0.9


def test_corrupt_or_foreign_index_is_ignored_and_rebuilt(mgr: SimpleCheckpointManager) -> None:
    _scores(mgr)
    index = mgr.checkpoint_dir / INDEX_NAME
    for garbage in (
        "{not json",
        json.dumps({"version": 99, "entries": {}}),
        json.dumps([1, 2]),
        json.dumps({"version": sidecars.INDEX_VERSION, "entries": {"model_0001.yaml": {"key": "x"}}}),
    ):
        index.write_text(garbage)
        assert _scores(mgr) == {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.5}
    assert json.loads(index.read_text())["version"] == sidecars.INDEX_VERSION


def test_broken_sidecar_warns_every_time_and_is_not_cached(mgr: SimpleCheckpointManager) -> None:
    (mgr.checkpoint_dir / "model_0002.yaml").write_text("- just\n- a list\n")
    for _ in range(2):
        with pytest.warns(UserWarning, match="model_0002.yaml"):
            infos = mgr.list_all_checkpoints()
        assert [i.epoch for i in infos] == [1, 2, 3, 4, 5]
    entries = json.loads((mgr.checkpoint_dir / INDEX_NAME).read_text())["entries"]
    assert "model_0002.yaml" not in entries


def test_values_json_cannot_hold_are_parsed_each_time(mgr: SimpleCheckpointManager) -> None:
    import datetime

    mgr.save_agent(torch.nn.Linear(2, 2), 7, {"when": datetime.date(2025, 8, 1), "by_id": {3: "x"}})
    for _ in range(2):
        meta = mgr.list_all_checkpoints()[-1].metadata
        assert meta["when"] == datetime.date(2025, 8, 1) and meta["by_id"] == {3: "x"}


def test_unwritable_run_dir_still_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sidecars, "INDEX_MIN_SIDECARS", 3)
    manager = SimpleCheckpointManager(tmp_path / "run", "ro", fsync=False)
    for epoch in range(1, 5):
        manager.save_agent(torch.nn.Linear(2, 2), epoch, {"score": epoch})

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(storage, "atomic_write", denied)  # what LocalStorage.write_cache writes with
    assert [i.metadata["score"] for i in manager.list_all_checkpoints()] == [1, 2, 3, 4]
    assert not (manager.checkpoint_dir / INDEX_NAME).exists()
    manager.close()


def test_small_runs_get_no_index_file(tmp_path: Path) -> None:
    manager = SimpleCheckpointManager(tmp_path / "run", "small", fsync=False)
    manager.save_agent(torch.nn.Linear(2, 2), 1, {"score": 1})
    assert manager.find_best_checkpoint() is not None
    assert not (manager.checkpoint_dir / INDEX_NAME).exists()
    manager.close()
