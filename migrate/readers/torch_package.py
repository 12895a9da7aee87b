"""Reader for L5 torch.package archives (`policy_record/data.pkl` + `policy/model.pkl`, protocol 3).

torch.load cannot read these and PackageImporter would import the archive's interned source. Instead both
pickles are unpickled through the restricted unpickler, with storages read from `.data/<key>.storage`;
the source files the archive carries are never imported or run.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from migrate.errors import CorruptFile
from migrate.model import LegacyPolicy, ReadOptions
from migrate.readers.common import StorageLoader, note_locations, restricted_load
from migrate.readers.interpret import interpret
from migrate.readers.pickled import static_stage


def read_torch_package(
    zf: zipfile.ZipFile, path: Path, sha256: str, options: ReadOptions, count_tensors: bool = False
) -> LegacyPolicy:
    members, policy, uses = static_stage(zf, path, options)
    loader = StorageLoader(zf, path, lambda key: f"{members.prefix}/.data/{key}.storage")
    objects: dict[str, Any] = {
        name: restricted_load(data, path, policy, loader) for name, data in members.pickles.items()
    }
    record = next((obj for name, obj in objects.items() if name.endswith("policy_record/data.pkl")), None)
    agent = next((obj for name, obj in objects.items() if name.endswith("policy/model.pkl")), None)
    if record is not None:
        record.__dict__["_cached_policy"] = agent
    top = agent if record is None else record
    result = interpret(path, top, sha256, uses, policy, "torch.package", "L5", count_tensors)
    if not isinstance(result, LegacyPolicy):
        raise CorruptFile(path, "torch.package archive does not hold a policy")
    note_locations(result, loader)
    return result
