"""Readers for the two pickle containers: torch's zip format and torch.package archives (L5).

Both list every pickle member's globals statically first (refusing the file before anything is
unpickled), then unpickle through the restricted unpickler. Storages are read from the zip ourselves:
torch zip `<prefix>/data/<key>`, torch.package `<prefix>/.data/<key>.storage`; any location (`cuda:N`,
`mps`) becomes CPU. The code a torch.package archive carries is never imported or run.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.errors import CorruptFile, RefusedFile
from migrate.model import GlobalUse, LegacyPolicy, LegacyTrainerState, ReadOptions
from migrate.readers.common import StorageLoader, read_member, restricted_load
from migrate.readers.interpret import interpret
from migrate.scan import UNRESOLVED, PickleMalformed, PickleScan, scan_pickle
from migrate.unpickler import HELPER_PREFIXES, GlobalPolicy

PACKAGE_MARKERS = ("/.data/extern_modules", "/policy/model.pkl")


@dataclass
class Members:
    """The pickle members of one archive, their bytes and their static scans."""

    kind: str  # "torch-zip" | "torch.package"
    prefix: str
    pickles: dict[str, bytes]  # member name -> bytes
    scans: list[PickleScan]


def is_package(names: list[str]) -> bool:
    return any(name.endswith(marker) for name in names for marker in PACKAGE_MARKERS)


def pickle_members(zf: zipfile.ZipFile, path: Path) -> Members:
    names = zf.namelist()
    if is_package(names):
        record = [n for n in names if n.endswith("/policy_record/data.pkl")]
        model = [n for n in names if n.endswith("/policy/model.pkl")]
        wanted = record[:1] + model[:1]
        kind = "torch.package"
        if not wanted:
            raise CorruptFile(
                path, "torch.package archive without policy_record/data.pkl or policy/model.pkl"
            )
        prefix = wanted[0].split("/", 1)[0]
    else:
        wanted = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        kind = "torch-zip"
        if not wanted:
            from migrate.errors import NotLegacyCheckpoint

            raise NotLegacyCheckpoint(path, "a zip archive without a torch data.pkl")
        if len(wanted) > 1:
            raise CorruptFile(path, f"several data.pkl members: {', '.join(wanted)}")
        prefix = wanted[0].split("/", 1)[0]
    pickles = {name: read_member(zf, name, path) for name in wanted}
    scans = []
    for name, data in pickles.items():
        try:
            scans.append(scan_pickle(data, f"{path.name}/{name}"))
        except PickleMalformed as exc:
            raise CorruptFile(path, f"malformed pickle {name} ({exc})") from exc
    return Members(kind, prefix, pickles, scans)


def agent_package(scans: list[PickleScan], policy: GlobalPolicy) -> str | None:
    """The top-level package of the file's agent classes: the first legacy class that is not a helper."""
    for scan in scans:
        for module, name in scan.globals:
            qualified = f"{module}.{name}"
            if qualified in policy.standins or qualified in policy.concrete_for:
                continue
            if (
                policy.is_stub_prefix(module)
                and not module.startswith(HELPER_PREFIXES)
                and module != "typing"
            ):
                return module.split(".")[0]
    return None


def global_uses(scans: list[PickleScan], policy: GlobalPolicy) -> list[GlobalUse]:
    uses = []
    for scan in scans:
        for module, name in scan.globals:
            decision = policy.decide(module, name)
            uses.append(GlobalUse(module, name, decision.handling, decision.reason, scan.member))
        for _ in range(scan.unresolved_stack_globals):
            uses.append(GlobalUse(UNRESOLVED[0], UNRESOLVED[0], "refused", UNRESOLVED[1], scan.member))
        for code in scan.extension_codes:
            uses.append(
                GlobalUse(
                    "copyreg",
                    f"extension[{code}]",
                    "refused",
                    "extension registry codes are not allowed",
                    scan.member,
                )
            )
    return uses


def check_refused(path: Path, uses: list[GlobalUse]) -> None:
    for use in uses:
        if use.handling == "refused":
            name = use.reason if use.module == UNRESOLVED[0] else use.qualified_name
            raise RefusedFile(path, name, f"{use.reason}; in {use.member}")


def policy_for(members: Members, options: ReadOptions) -> GlobalPolicy:
    probe = GlobalPolicy(options)
    return GlobalPolicy(options, agent_package(members.scans, probe))


def read_pickled(
    zf: zipfile.ZipFile, path: Path, sha256: str, options: ReadOptions, count_tensors: bool = False
) -> LegacyPolicy | LegacyTrainerState:
    members = pickle_members(zf, path)
    policy = policy_for(members, options)
    uses = global_uses(members.scans, policy)
    check_refused(path, uses)
    if members.kind == "torch.package":
        return _read_package(zf, path, sha256, members, policy, uses, count_tensors)
    loader = StorageLoader(zf, path, lambda key: f"{members.prefix}/data/{key}")
    (data,) = members.pickles.values()
    top = restricted_load(data, path, policy, loader)
    return interpret(path, top, sha256, uses, policy, count_tensors=count_tensors)


def _read_package(
    zf: zipfile.ZipFile,
    path: Path,
    sha256: str,
    members: Members,
    policy: GlobalPolicy,
    uses: list[GlobalUse],
    count_tensors: bool,
) -> LegacyPolicy:
    loader = StorageLoader(zf, path, lambda key: f"{members.prefix}/.data/{key}.storage")
    objects: dict[str, Any] = {}
    for name, data in members.pickles.items():
        objects[name] = restricted_load(data, path, policy, loader)
    record = next((obj for name, obj in objects.items() if name.endswith("policy_record/data.pkl")), None)
    agent = next((obj for name, obj in objects.items() if name.endswith("policy/model.pkl")), None)
    if record is not None:
        record.__dict__["_cached_policy"] = agent
    top = agent if record is None else record
    result = interpret(path, top, sha256, uses, policy, "torch.package", "L5", count_tensors)
    if not isinstance(result, LegacyPolicy):
        raise CorruptFile(path, "torch.package archive does not hold a policy")
    return result
