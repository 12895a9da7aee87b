"""The static stage shared by the two pickle containers (torch zip, torch.package archive).

Find the pickle members of an archive, list every global they name (`simple_ckpt.opcode_scan`), decide how each is
handled (`GlobalPolicy`, whose allowed prefixes include the file's own agent package) and refuse the
file before anything is unpickled if any global is refused. The container readers
(`torch_zip`, `torch_package`) then unpickle through the same policy.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from migrate.errors import CorruptFile, NotLegacyCheckpoint, RefusedFile
from migrate.model import GlobalUse, ReadOptions
from migrate.readers.common import read_member
from migrate.unpickler import HELPER_PREFIXES, GlobalPolicy
from simple_ckpt.opcode_scan import UNRESOLVED, PickleMalformed, PickleScan, scan_pickle

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
            raise NotLegacyCheckpoint(path, "a zip archive without a torch data.pkl")
        if len(wanted) > 1:
            raise CorruptFile(path, f"several data.pkl members: {', '.join(wanted)}")
        prefix = wanted[0].split("/", 1)[0]
    pickles = {name: read_member(zf, name, path) for name in wanted}
    scans = []
    for name, data in pickles.items():
        try:
            scans.append(scan_pickle(data, name))
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


def static_stage(
    zf: zipfile.ZipFile, path: Path, options: ReadOptions
) -> tuple[Members, GlobalPolicy, list[GlobalUse]]:
    """Members, the file's policy and its global inventory; raises RefusedFile before any unpickling."""
    members = pickle_members(zf, path)
    policy = policy_for(members, options)
    uses = global_uses(members.scans, policy)
    check_refused(path, uses)
    return members, policy, uses
