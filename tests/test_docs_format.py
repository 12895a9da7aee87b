"""docs/format.md is a spec another tool can implement: a reader written from it alone reads what we write.

`spec_reader` below uses only the standard library, PyYAML, hashlib/blake3 and torch, following the steps
of "Reading without simple_ckpt" in docs/format.md; it must agree with `simple_ckpt` on the demo's
migrated runs and on a run saved by `SimpleCheckpointManager`, and must notice what the doc says it must
(a size or hash mismatch, a model without sidecar). Python blocks in the docs must at least parse.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from simple_ckpt import CheckpointError, SimpleCheckpointManager
from simple_ckpt.journey import run_cli

ROOT = Path(__file__).resolve().parent.parent
SIDECAR = re.compile(r"^model_(\d+)\.yaml$")


def _digest(algorithm: str, data: bytes) -> str:
    if algorithm == "blake3":
        import blake3

        return blake3.blake3(data).hexdigest()
    return hashlib.new(algorithm, data).hexdigest()


def spec_reader(checkpoint_dir: Path) -> list[dict[str, Any]]:
    """The reader format.md describes: sidecars in numeric order, verified models, payload kind."""
    found = []
    for path in checkpoint_dir.iterdir():
        match = SIDECAR.match(path.name)
        if match and not path.name.startswith("."):
            found.append((int(match.group(1)), path))
    entries = []
    for epoch, sidecar in sorted(found):
        document = yaml.safe_load(sidecar.read_text())
        block = document["simple_ckpt"]
        assert block["format_version"] == 1
        model = checkpoint_dir / block["model_file"]
        data = model.read_bytes()
        verified = len(data) == block["size"] and _digest(block["hash_algorithm"], data) == block["hash"]
        metadata = {k: v for k, v in document.items() if k != "simple_ckpt"}
        entries.append(
            {
                "epoch": epoch,
                "model": model,
                "payload": block["payload"],
                "verified": verified,
                "metadata": metadata,
            }
        )
    return entries


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from simple_ckpt.journey import prepare_workspace

    root = tmp_path_factory.mktemp("format")
    prepare_workspace(root)
    code, _ = run_cli(["migrate", str(root / "train_dir"), "--out", str(root / "new"), "--quiet"])
    assert code == 0
    return root / "new"


def test_spec_reader_agrees_with_simple_ckpt_on_migrated_runs(migrated: Path) -> None:
    for run_dir in sorted(migrated.iterdir()):
        entries = spec_reader(run_dir / "checkpoints")
        infos = SimpleCheckpointManager(run_dir).list_all_checkpoints()
        assert [e["epoch"] for e in entries] == [i.epoch for i in infos]
        assert [e["metadata"] for e in entries] == [dict(i.metadata) for i in infos]
        assert all(e["verified"] for e in entries)
        for entry in entries:
            assert entry["model"].name == f"model_{entry['epoch']:04d}.pt"
            assert entry["payload"] == "weights_only"  # the legacy classes are gone: format.md's payload
            payload = torch.load(entry["model"], weights_only=True)
            assert payload["format"] == "simple_ckpt.weights_only" and payload["format_version"] == 1
            assert payload["agent_class"] == entry["metadata"]["source"]["agent_class"]
            assert payload["source_sha256"] == entry["metadata"]["source"]["sha256"]
            assert all(isinstance(t, torch.Tensor) for t in payload["state_dict"].values())
            assert entry["metadata"]["source"]["migrated_by"] == "simple-ckpt migrate"
        state = torch.load(run_dir / "checkpoints" / "trainer_state.pt", weights_only=True)
        assert {"optimizer_state", "epoch", "agent_step", "migration_source"} <= set(state)
        assert state["epoch"] == entries[-1]["epoch"]
        assert "optimizer_state_dict" not in state and "optimizer" not in state


def test_spec_reader_on_a_saved_run_and_the_failures_it_must_notice(tmp_path: Path) -> None:
    manager = SimpleCheckpointManager(tmp_path / "run")
    for epoch in (1, 10, 12345):
        manager.save_agent(torch.nn.Linear(3, 2), epoch, {"score": epoch / 10, "evals": {"a": 1.0}})
    manager.save_trainer_state(None, 12345, 99, stopwatch_state={"t": 1.0})
    manager.close()
    ckpt = tmp_path / "run" / "checkpoints"
    entries = spec_reader(ckpt)
    assert [(e["epoch"], e["model"].name) for e in entries] == [
        (1, "model_0001.pt"),
        (10, "model_0010.pt"),
        (12345, "model_12345.pt"),
    ]
    assert all(e["verified"] and e["payload"] == "module" for e in entries)
    assert entries[0]["metadata"] == {"epoch": 1, "run": "run", "score": 0.1, "evals": {"a": 1.0}}
    state = torch.load(ckpt / "trainer_state.pt", weights_only=True)
    assert state == {"optimizer_state": None, "epoch": 12345, "agent_step": 99, "stopwatch_state": {"t": 1.0}}

    # A flipped byte: the spec reader and simple_ckpt both refuse to trust the model.
    model = ckpt / "model_0010.pt"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    model.write_bytes(bytes(data))
    assert [e["verified"] for e in spec_reader(ckpt)] == [True, False, True]
    with pytest.raises(CheckpointError, match="model_0010"):
        manager.load_agent(epoch=10, strict=True)
    # A model without sidecar is not a checkpoint for the spec reader (uncommitted).
    (ckpt / "model_0020.pt").write_bytes(b"partial")
    assert 20 not in [e["epoch"] for e in spec_reader(ckpt)]


def test_python_blocks_in_the_docs_parse() -> None:
    docs = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
    blocks = 0
    for doc in docs:
        for block in re.findall(r"^```python\n(.*?)^```", doc.read_text(), flags=re.S | re.M):
            ast.parse(block, filename=doc.name)
            blocks += 1
    assert blocks >= 3
