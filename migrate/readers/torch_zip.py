"""Reader for torch's zip format (`<prefix>/data.pkl` + `<prefix>/data/<key>` storages): L0-L4, L6-L9, N, T*.

Storages are read from the zip ourselves and every location (`cpu`, `cuda:N`, `mps`) becomes CPU, so files
saved on a GPU machine load on a CPU-only one. The prefix is taken from the archive, never from the file
name (legacy writers saved to `<name>.tmp` and renamed).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from migrate.model import LegacyPolicy, LegacyTrainerState, ReadOptions
from migrate.readers.common import StorageLoader, note_locations, restricted_load
from migrate.readers.interpret import interpret
from migrate.readers.pickled import static_stage


def read_torch_zip(
    zf: zipfile.ZipFile,
    path: Path,
    sha256: str,
    options: ReadOptions,
    count_tensors: bool = False,
    whole_file: bytearray | None = None,
) -> LegacyPolicy | LegacyTrainerState:
    """``whole_file``: the file's bytes when the caller already read them (storages are then views of it)."""
    members, policy, uses = static_stage(zf, path, options)
    loader = StorageLoader(zf, path, lambda key: f"{members.prefix}/data/{key}", whole_file)
    (data,) = members.pickles.values()
    top = restricted_load(data, path, policy, loader)
    result = interpret(path, top, sha256, uses, policy, count_tensors=count_tensors)
    note_locations(result, loader)
    return result
