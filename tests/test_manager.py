"""SimpleCheckpointManager: round trips, metadata, listing, best/filter, retention, trust and legacy checks."""

from __future__ import annotations

import math
import os
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from simple_ckpt import SimpleCheckpointManager, load_agent_from, read_metadata
from simple_ckpt.errors import (
    AgentFactoryError,
    CheckpointError,
    CheckpointNotFound,
    LegacyCheckpointError,
    WeightsOnlyError,
)
from simple_ckpt.layout import is_temp_file, model_filename, parse_model_name
from simple_ckpt.manager import read_integrity
from simple_ckpt.payload import make_weights_only_payload


class Policy(torch.nn.Module):
    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.body = torch.nn.Linear(6, hidden)
        self.head = torch.nn.Linear(hidden, 3)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x)))


def trained(seed: int = 0) -> tuple[Policy, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    policy = Policy()
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    for _ in range(3):
        loss = policy(torch.randn(8, 6)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    policy.steps += 3
    return policy, opt


def assert_same_params(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.fixture
def mgr(tmp_path: Path) -> SimpleCheckpointManager:
    manager = SimpleCheckpointManager(tmp_path / "run", "run_a")
    yield manager
    manager.close()


# ---------------------------------------------------------------- round trips


def test_resume_round_trip_restores_parameters_and_optimizer(mgr: SimpleCheckpointManager) -> None:
    policy, opt = trained()
    mgr.save_agent(policy, 7, {"score": 0.5, "agent_step": 700})
    mgr.save_trainer_state(opt, 7, 700, stopwatch_state={"train": 1.5})

    fresh = SimpleCheckpointManager(mgr.run_dir, "run_a")
    agent = fresh.load_agent()
    state = fresh.load_trainer_state()
    assert isinstance(agent, Policy)
    assert_same_params(agent, policy)
    assert state is not None and state["epoch"] == 7 and state["agent_step"] == 700
    assert state["stopwatch_state"] == {"train": 1.5}
    new_opt = torch.optim.Adam(agent.parameters(), lr=1e-2)
    new_opt.load_state_dict(state["optimizer_state"])
    for (ka, va), (kb, vb) in zip(
        new_opt.state_dict()["state"].items(), opt.state_dict()["state"].items(), strict=True
    ):
        assert ka == kb
        for name in va:
            assert torch.equal(torch.as_tensor(va[name]), torch.as_tensor(vb[name])), name
    # Continuing training from the restored state matches continuing from the original one.
    x = torch.randn(4, 6)
    for p, o in ((agent, new_opt), (policy, opt)):
        loss = p(x).sum()
        o.zero_grad()
        loss.backward()
        o.step()
    assert_same_params(agent, policy)


def test_empty_run_returns_none(mgr: SimpleCheckpointManager) -> None:
    assert mgr.load_agent() is None
    assert mgr.load_trainer_state() is None
    assert mgr.list_all_checkpoints() == []
    assert mgr.find_best_checkpoint() is None


def test_data_parallel_wrapper_is_unwrapped(mgr: SimpleCheckpointManager) -> None:
    policy, _ = trained()
    mgr.save_agent(torch.nn.DataParallel(policy), 1, {})
    loaded = mgr.load_agent()
    assert type(loaded) is Policy
    assert_same_params(loaded, policy)


def test_load_specific_epoch_and_latest(mgr: SimpleCheckpointManager) -> None:
    policies = [trained(seed)[0] for seed in range(3)]
    for epoch, policy in zip((1, 5, 3), policies, strict=True):
        mgr.save_agent(policy, epoch, {})
    assert_same_params(mgr.load_agent(), policies[1])  # epoch 5 is newest
    assert_same_params(mgr.load_agent(epoch=3), policies[2])
    with pytest.raises(CheckpointError, match="epoch 4"):
        mgr.load_agent(epoch=4)


def test_epochs_past_9999_sort_numerically(mgr: SimpleCheckpointManager) -> None:
    policy, _ = trained()
    for epoch in (9999, 12345, 10000, 2):
        mgr.save_agent(policy, epoch, {"score": float(epoch)})
    assert (mgr.checkpoint_dir / "model_12345.pt").exists()
    assert [i.epoch for i in mgr.list_all_checkpoints()] == [2, 9999, 10000, 12345]
    assert mgr.find_best_checkpoint().name == "model_12345.pt"
    assert model_filename(7) == "model_0007.pt" and parse_model_name("model_12345.pt") == 12345


def test_map_location_is_passed_through(mgr: SimpleCheckpointManager) -> None:
    policy, _ = trained()
    mgr.save_agent(policy, 1, {})
    seen: list[object] = []
    agent = mgr.load_agent(map_location=lambda storage, loc: seen.append(loc) or storage)
    assert seen and all(loc == "cpu" for loc in seen)
    assert_same_params(agent, policy)


# ---------------------------------------------------------------- metadata


def test_metadata_round_trip_converts_to_plain_yaml(mgr: SimpleCheckpointManager) -> None:
    policy, _ = trained()
    metadata = {
        "score": np.float32(0.25),
        "agent_step": np.int64(123),
        "flag": np.bool_(True),
        "loss": torch.tensor(1.5),
        "shape": (3, 4),
        "evals": {"avg_simulation_score": np.float64(0.75), "nav": [np.float64(0.5), np.nan]},
        "source": {"file": "old/model_0001.pt", "sha256": "ab" * 32, "generation": "L6"},
    }
    path = mgr.save_agent(policy, 3, metadata)
    raw = yaml.safe_load(path.with_suffix(".yaml").read_text())
    assert raw["epoch"] == 3 and raw["run"] == "run_a"
    back = read_metadata(path)
    assert "simple_ckpt" not in back
    assert back["score"] == 0.25 and type(back["score"]) is float
    assert back["agent_step"] == 123 and type(back["agent_step"]) is int
    assert back["flag"] is True and back["loss"] == 1.5 and back["shape"] == [3, 4]
    assert back["evals"]["avg_simulation_score"] == 0.75 and math.isnan(back["evals"]["nav"][1])
    assert back["source"] == metadata["source"]
    assert mgr.list_all_checkpoints()[0].metadata == back


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [({"obj": object()}, "metadata.obj"), ({"w": torch.zeros(3)}, "shape (3,)"), ({"s": {1, 2}}, "set")],
)
def test_unrepresentable_metadata_fails_before_writing(
    mgr: SimpleCheckpointManager, bad: dict, fragment: str
) -> None:
    policy, _ = trained()
    with pytest.raises(CheckpointError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        mgr.save_agent(policy, 1, bad)
    assert not mgr.checkpoint_dir.exists() or list(mgr.checkpoint_dir.glob("model_*")) == []


def test_reserved_integrity_key_rejected(mgr: SimpleCheckpointManager) -> None:
    with pytest.raises(CheckpointError, match="reserved"):
        mgr.save_agent(trained()[0], 1, {"simple_ckpt": {}})


def test_integrity_block_records_size_and_hash(mgr: SimpleCheckpointManager) -> None:
    import hashlib

    import blake3

    path = mgr.save_agent(trained()[0], 4, {})
    block = read_integrity(path)
    data = path.read_bytes()
    assert block["size"] == len(data)
    assert block["hash_algorithm"] == "blake3" and block["hash"] == blake3.blake3(data).hexdigest()
    assert block["model_file"] == "model_0004.pt" and block["payload"] == "module"
    # Files hashed with another algorithm (named in their YAML) verify too.
    other = SimpleCheckpointManager(mgr.run_dir, "run_a", hash_name="sha256")
    path = other.save_agent(trained()[0], 5, {})
    assert read_integrity(path)["hash"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert isinstance(mgr.load_agent(), Policy)


# ---------------------------------------------------------------- best / filter / listing


def _save_scores(mgr: SimpleCheckpointManager, scores: dict[int, object]) -> None:
    policy, _ = trained()
    for epoch, score in scores.items():
        meta = {} if score is None else {"score": score, "evals": {"avg_simulation_score": score}}
        mgr.save_agent(policy, epoch, meta)


def test_best_and_filter_skip_missing_and_nan(mgr: SimpleCheckpointManager) -> None:
    _save_scores(mgr, {1: 0.2, 2: float("nan"), 3: 0.9, 4: None, 5: 0.6, 6: 0.9})
    assert mgr.find_best_checkpoint().name == "model_0006.pt"  # tie -> newest
    assert mgr.find_best_checkpoint(mode="min").name == "model_0001.pt"
    assert mgr.find_best_checkpoint("evals.avg_simulation_score", "min").name == "model_0001.pt"
    assert mgr.find_best_checkpoint("evals.missing") is None
    assert [p.name for p in mgr.find_checkpoints_by_score(0.6)] == [
        "model_0003.pt",
        "model_0005.pt",
        "model_0006.pt",
    ]
    assert [p.name for p in mgr.find_checkpoints_by_score(0.5, metric="evals.avg_simulation_score")] == [
        "model_0003.pt",
        "model_0005.pt",
        "model_0006.pt",
    ]
    with pytest.raises(CheckpointError, match="mode"):
        mgr.find_best_checkpoint(mode="biggest")


def test_listing_records_behave_like_dicts_and_survive_bad_yaml(mgr: SimpleCheckpointManager) -> None:
    _save_scores(mgr, {1: 0.1, 2: 0.2, 3: 0.3})
    ckpt = mgr.checkpoint_dir
    (ckpt / "model_0002.yaml").write_text("score: [unclosed\n")
    (ckpt / "model_0003.yaml").unlink()
    (ckpt / ".model_0004.pt.tmp-123-abcd").write_bytes(b"partial")
    assert is_temp_file(".model_0004.pt.tmp-123-abcd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        infos = mgr.list_all_checkpoints()
    assert [i["epoch"] for i in infos] == [1, 2, 3]
    assert set(infos[0]) == {"model_path", "yaml_path", "epoch", "metadata"}
    assert infos[0]["metadata"]["score"] == 0.1 and infos[0].model_path == ckpt / "model_0001.pt"
    assert infos[1].metadata == {"epoch": 2} and infos[1].problem is not None
    assert infos[2].yaml_path is None and infos[2]["metadata"] == {"epoch": 3}
    messages = [str(w.message) for w in caught]
    assert any("model_0002.yaml" in m for m in messages)


def test_listing_never_unpickles(mgr: SimpleCheckpointManager, monkeypatch: pytest.MonkeyPatch) -> None:
    _save_scores(mgr, {1: 0.1, 2: 0.7})

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load called by a read-only listing")

    monkeypatch.setattr(torch, "load", boom)
    assert len(mgr.list_all_checkpoints()) == 2
    assert mgr.find_best_checkpoint().name == "model_0002.pt"


# ---------------------------------------------------------------- verification


def test_corrupt_newest_is_skipped_with_warning_and_strict_raises(mgr: SimpleCheckpointManager) -> None:
    old, _ = trained(1)
    new, _ = trained(2)
    mgr.save_agent(old, 1, {})
    path = mgr.save_agent(new, 2, {})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="model_0002.pt.*does not match"):
        loaded = mgr.load_agent()
    assert_same_params(loaded, old)
    with pytest.raises(CheckpointError, match="model_0002.pt"):
        mgr.load_agent(strict=True)


def test_truncated_and_yamlless_newest_are_skipped(mgr: SimpleCheckpointManager) -> None:
    old, _ = trained(1)
    mgr.save_agent(old, 1, {})
    mgr.save_agent(trained(2)[0], 2, {})
    mgr.save_agent(trained(3)[0], 3, {})
    p2 = mgr.checkpoint_dir / "model_0002.pt"
    p2.write_bytes(p2.read_bytes()[:100])
    (mgr.checkpoint_dir / "model_0003.yaml").unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = mgr.load_agent()
    assert_same_params(loaded, old)
    text = " | ".join(str(w.message) for w in caught)
    assert "model_0003.pt" in text and "no simple_ckpt YAML" in text
    assert "model_0002.pt" in text and "size" in text


def test_checkpoints_exist_but_none_loads_raises(mgr: SimpleCheckpointManager) -> None:
    mgr.save_agent(trained()[0], 1, {})
    (mgr.checkpoint_dir / "model_0001.yaml").unlink()
    with pytest.raises(CheckpointError, match="none loads.*model_0001.pt"):
        mgr.load_agent()


def test_weights_only_refuses_pickled_module(mgr: SimpleCheckpointManager) -> None:
    path = mgr.save_agent(trained()[0], 1, {})
    with pytest.raises(WeightsOnlyError, match="weights_only"):
        mgr.load_agent(weights_only=True)
    with pytest.raises(WeightsOnlyError):
        load_agent_from(path, weights_only=True)


def test_weights_only_payload_needs_factory_and_loads_strictly(mgr: SimpleCheckpointManager) -> None:
    policy, _ = trained()
    payload = make_weights_only_payload(policy.state_dict(), "tests.test_manager.Policy", {"note": "x"})
    path = mgr.write_checkpoint(payload, 2, {"score": 1.0, "source": {"generation": "L8"}})
    assert read_integrity(path)["payload"] == "weights_only"
    with pytest.raises(AgentFactoryError, match="agent_factory"):
        mgr.load_agent()
    loaded = mgr.load_agent(agent_factory=Policy, weights_only=True)
    assert_same_params(loaded, policy)
    assert_same_params(load_agent_from(mgr.run_dir, agent_factory=Policy), policy)
    with pytest.raises(AgentFactoryError, match="do not fit"):
        mgr.load_agent(agent_factory=lambda: Policy(hidden=5))


# ---------------------------------------------------------------- module-level loaders


def test_load_agent_from_accepts_file_uri_run_dir_and_checkpoints_dir(mgr: SimpleCheckpointManager) -> None:
    first, _ = trained(1)
    latest, _ = trained(2)
    p1 = mgr.save_agent(first, 1, {"score": 1})
    mgr.save_agent(latest, 2, {})
    assert_same_params(load_agent_from(p1), first)
    assert_same_params(load_agent_from(f"file://{p1}"), first)
    assert_same_params(load_agent_from(mgr.run_dir), latest)
    assert_same_params(load_agent_from(mgr.checkpoint_dir), latest)
    assert read_metadata(f"file://{p1}")["score"] == 1
    with pytest.raises(CheckpointError, match="legacy wandb artifact URI.*downloaded model file"):
        load_agent_from("wandb://run/x")
    with pytest.raises(CheckpointError, match="unsupported URI scheme 'nosuchfs'"):
        load_agent_from("nosuchfs://bucket/x")
    with pytest.raises(CheckpointError, match="no such file"):
        load_agent_from(mgr.run_dir / "nope.pt")
    empty = mgr.run_dir.parent / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointNotFound, match="no checkpoints"):
        load_agent_from(empty)
    with pytest.raises(CheckpointNotFound, match="no checkpoint for epoch 7"):
        mgr.load_agent(epoch=7)


def test_load_agent_from_plain_file_without_sidecar(tmp_path: Path) -> None:
    policy, _ = trained()
    path = tmp_path / "policy.pt"
    torch.save(policy, path)
    assert_same_params(load_agent_from(path), policy)
    with pytest.raises(CheckpointError, match="no metadata sidecar"):
        read_metadata(path)


# ---------------------------------------------------------------- legacy files under new names


def _write_legacy_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """torch.save an object of a throwaway `metta.agent.policy_record.PolicyRecord` class."""
    src = tmp_path / "legacy_src"
    pkg = src / "metta" / "agent"
    pkg.mkdir(parents=True)
    (src / "metta" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "policy_record.py").write_text(
        "class PolicyRecord:\n    def __init__(self, policy):\n        self._cached_policy = policy\n"
        "        self.metadata = {'epoch': 3}\n"
    )
    monkeypatch.syspath_prepend(str(src))
    from metta.agent.policy_record import PolicyRecord  # type: ignore[import-not-found]

    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(PolicyRecord(torch.nn.Linear(2, 2)), target)
    for name in [n for n in sys.modules if n == "metta" or n.startswith("metta.")]:
        del sys.modules[name]


def test_legacy_pickle_under_new_name_points_to_migrate(
    mgr: SimpleCheckpointManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = mgr.checkpoint_dir / "model_0003.pt"
    _write_legacy_record(tmp_path, monkeypatch, target)
    with pytest.raises(LegacyCheckpointError, match="PolicyRecord.*simple-ckpt migrate"):
        mgr.load_agent()
    with pytest.raises(LegacyCheckpointError, match="simple-ckpt migrate"):
        load_agent_from(target)
    with pytest.raises(LegacyCheckpointError, match="refusing to overwrite"):
        mgr.save_agent(trained()[0], 3, {})
    assert "metta" not in sys.modules  # recognised without unpickling


def test_torch_package_archive_is_recognised(mgr: SimpleCheckpointManager) -> None:
    target = mgr.checkpoint_dir / "model_0001.pt"
    target.parent.mkdir(parents=True)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("model/.data/extern_modules", "torch\n")
        archive.writestr("model/policy/model.pkl", b"\x80\x04N.")
    with pytest.raises(LegacyCheckpointError, match="torch.package"):
        mgr.load_agent()


def test_newer_new_format_checkpoint_beside_legacy_ones_loads(
    mgr: SimpleCheckpointManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_legacy_record(tmp_path, monkeypatch, mgr.checkpoint_dir / "model_0001.pt")
    policy, _ = trained()
    mgr.save_agent(policy, 2, {})
    assert_same_params(mgr.load_agent(), policy)


def test_real_legacy_fixtures_are_recognised(shared_legacy_dir: Path, tmp_path: Path) -> None:
    from simple_ckpt.pickle_scan import legacy_reason

    files = sorted(shared_legacy_dir.glob("*/checkpoints/model_*.pt"))
    assert files
    for path in files:
        assert "PolicyRecord" in (legacy_reason(path) or ""), path
    run = files[0].parent.parent
    with pytest.raises(LegacyCheckpointError, match="simple-ckpt migrate"):
        SimpleCheckpointManager(run, "legacy").load_agent()


# ---------------------------------------------------------------- retention


def test_cleanup_keeps_union_of_policies(mgr: SimpleCheckpointManager) -> None:
    scores = {
        e: s for e, s in zip(range(1, 11), [0.1, 0.9, 0.3, 0.8, 0.2, 0.4, 0.5, 0.05, 0.6, 0.01], strict=True)
    }
    _save_scores(mgr, scores)
    dry = mgr.cleanup_old_checkpoints(2, keep_best_k=2, keep_every_n_epochs=5, dry_run=True)
    assert all(p.exists() for p in dry)
    deleted = mgr.cleanup_old_checkpoints(2, keep_best_k=2, keep_every_n_epochs=5)
    assert deleted == dry
    left = [i.epoch for i in mgr.list_all_checkpoints()]
    assert left == [2, 4, 5, 9, 10]  # last 2 {9,10}, best 2 {2,4}, every 5 {5,10}
    assert not (mgr.checkpoint_dir / "model_0001.yaml").exists()
    assert not (mgr.checkpoint_dir / "model_0001.pt").exists()


def test_cleanup_always_keeps_best_and_newest_verified(mgr: SimpleCheckpointManager) -> None:
    _save_scores(mgr, {1: 0.99, 2: 0.1, 3: 0.2, 4: 0.3})
    p4 = mgr.checkpoint_dir / "model_0004.pt"
    data = bytearray(p4.read_bytes())
    data[-30] ^= 0xFF  # newest is corrupt: 3 is the newest verified
    p4.write_bytes(bytes(data))
    mgr.cleanup_old_checkpoints(0)
    assert [i.epoch for i in mgr.list_all_checkpoints()] == [1, 3, 4]


def test_cleanup_does_nothing_while_newest_is_uncommitted(mgr: SimpleCheckpointManager) -> None:
    _save_scores(mgr, {1: 0.1, 2: 0.2, 3: 0.3})
    (mgr.checkpoint_dir / "model_0004.pt").write_bytes(b"not yet committed")
    with pytest.warns(UserWarning, match="not committed"):
        assert mgr.cleanup_old_checkpoints(1) == []
    assert len(mgr.list_all_checkpoints()) == 4


def test_cleanup_never_touches_files_without_sidecar(
    mgr: SimpleCheckpointManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_legacy_record(tmp_path, monkeypatch, mgr.checkpoint_dir / "model_0001.pt")
    _save_scores(mgr, {2: 0.1, 3: 0.2, 4: 0.3})
    mgr.cleanup_old_checkpoints(1)
    assert [i.epoch for i in mgr.list_all_checkpoints()] == [1, 4]


def test_resaving_an_epoch_replaces_it(mgr: SimpleCheckpointManager) -> None:
    a, _ = trained(1)
    b, _ = trained(2)
    mgr.save_agent(a, 5, {"score": 0.1})
    mgr.save_agent(b, 5, {"score": 0.2})
    assert_same_params(mgr.load_agent(), b)
    assert read_metadata(mgr.checkpoint_dir / "model_0005.pt")["score"] == 0.2


def test_failed_resave_keeps_the_committed_checkpoint(mgr: SimpleCheckpointManager) -> None:
    a, _ = trained(1)
    mgr.save_agent(a, 5, {"score": 0.1})
    with pytest.raises(Exception, match="pickle|lambda|local object"):
        mgr.write_checkpoint(lambda: None, 5, {"score": 0.2})  # torch.save fails mid-write
    assert_same_params(mgr.load_agent(strict=True), a)
    assert read_metadata(mgr.checkpoint_dir / "model_0005.pt")["score"] == 0.1
    assert [n for n in os.listdir(mgr.checkpoint_dir) if ".tmp-" in n] == []


def test_unknown_hash_name_is_rejected_up_front(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="unsupported hash algorithm"):
        SimpleCheckpointManager(tmp_path, "x", hash_name="crc7")


def test_async_commit_reads_in_the_same_process_see_every_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import simple_ckpt.atomic as atomic

    real_replace = os.replace

    def slow_replace(src: str, dst: str) -> None:  # a slow disk: commits lag well behind the saves
        time.sleep(0.15)
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", slow_replace)
    manager = SimpleCheckpointManager(tmp_path / "run", "async", async_commit=True)
    nets = [torch.nn.Linear(3, 3) for _ in range(3)]
    start = time.monotonic()
    for epoch, net in enumerate(nets, start=1):
        manager.save_agent(net, epoch, {"score": epoch})
    manager.save_trainer_state(None, 3, 30)
    assert time.monotonic() - start < 0.15 * 6  # returned before the 9 slow renames were done
    # Module-level reads wait for this process's pending commits, and so do the manager's own.
    assert read_metadata(tmp_path / "run" / "checkpoints" / "model_0003.pt")["score"] == 3
    assert torch.equal(load_agent_from(tmp_path / "run").weight, nets[2].weight)
    assert [i.epoch for i in manager.list_all_checkpoints()] == [1, 2, 3]
    state = manager.load_trainer_state()
    assert state is not None and state["epoch"] == 3
    manager.close()


def test_load_agent_raises_when_only_sidecars_remain(tmp_path: Path) -> None:
    """A run whose model files were lost is not a fresh run: load_agent raises instead of returning None."""
    manager = SimpleCheckpointManager(tmp_path / "run", "run")
    manager.save_agent(torch.nn.Linear(2, 2), 1, {"score": 1.0})
    (manager.checkpoint_dir / "model_0001.pt").unlink()
    with pytest.warns(UserWarning, match="without its model"), pytest.raises(CheckpointError) as info:
        manager.load_agent()
    assert "model_0001.yaml: its model file is missing" in str(info.value)


def test_retention_keeps_the_best_checkpoint_that_verifies(tmp_path: Path) -> None:
    manager = SimpleCheckpointManager(tmp_path / "run", "run")
    for epoch, score in ((1, 0.9), (2, 0.5), (3, 0.1)):
        manager.save_agent(torch.nn.Linear(2, 2), epoch, {"score": score})
    corrupt = manager.checkpoint_dir / "model_0001.pt"
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes: committed by size, but does not verify
    corrupt.write_bytes(bytes(data))
    deleted = manager.cleanup_old_checkpoints(keep_last_n=1, keep_best_k=1)
    assert [p.name for p in deleted] == []  # epoch 2 is the best that verifies; epoch 1 cannot be judged
    assert sorted(p.name for p in manager.checkpoint_dir.glob("model_*.pt")) == [
        "model_0001.pt",
        "model_0002.pt",
        "model_0003.pt",
    ]
