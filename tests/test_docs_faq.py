"""The FAQ's claims that its console examples cannot show on a CPU-only machine: GPU-saved checkpoints.

A file saved on a GPU records ``cuda:0`` as its storages' location; we write one by saving on the CPU and
rewriting that location string in the pickle (what torch.save would have written on a GPU machine).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
import torch

from simple_ckpt import CheckpointError, SimpleCheckpointManager, load_agent_from
from simple_ckpt.journey import run_cli

_CPU = b"X\x03\x00\x00\x00cpu"


def _as_if_saved_on_gpu(path: Path) -> None:
    location = b"cuda:0"
    replacement = b"X" + struct.pack("<I", len(location)) + location
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info)) for info in src.infolist()]
    assert any(name.endswith("data.pkl") and _CPU in data for name, data in members)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for name, data in members:
            dst.writestr(name, data.replace(_CPU, replacement) if name.endswith("data.pkl") else data)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_gpu_saved_module_needs_map_location_and_show_maps_to_cpu(tmp_path: Path) -> None:
    path = tmp_path / "gpu.pt"
    torch.save(torch.nn.Linear(3, 2), path)
    _as_if_saved_on_gpu(path)
    with pytest.raises(CheckpointError, match="gpu.pt: .*CUDA"):
        load_agent_from(path)
    agent = load_agent_from(path, map_location="cpu")
    assert {p.device.type for p in agent.parameters()} == {"cpu"}
    code, out = run_cli(["show", str(path)])
    assert code == 0 and "weight  (2, 3)  float32" in out


def test_save_agent_unwraps_data_parallel(tmp_path: Path) -> None:
    inner = torch.nn.Linear(2, 2)
    manager = SimpleCheckpointManager(tmp_path / "run")
    path = manager.save_agent(torch.nn.DataParallel(torch.nn.DataParallel(inner)), 1)
    manager.close()
    loaded = torch.load(path, weights_only=False)
    assert type(loaded) is torch.nn.Linear
    assert list(loaded.state_dict()) == ["weight", "bias"]  # no "module." prefix
    assert torch.equal(loaded.weight, inner.weight)
