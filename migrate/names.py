"""Parse post-refactor checkpoint file names: `<run>__e<epoch>__s<step>__t<secs>__sc<score>.pt`.

Shared by the reader (to report generation "N") and the converter (metadata from the name). The rule is
the one the 5eb9839a3a loader applied: exactly five `__`-separated parts and digits-only fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD = re.compile(r"^(e|s|t|sc)(\d+)$")


@dataclass(frozen=True)
class UriName:
    run: str
    epoch: int
    agent_step: int
    total_time: int
    score: float  # the name stores int(score * 10000)


def parse_uri_name(filename: str) -> UriName | None:
    """The fields of a post-refactor checkpoint name, or None when the name does not follow the rule."""
    if not filename.endswith(".pt"):
        return None
    parts = filename[: -len(".pt")].split("__")
    if len(parts) != 5 or not parts[0]:
        return None
    fields: dict[str, int] = {}
    for part, expected in zip(parts[1:], ("e", "s", "t", "sc"), strict=True):
        match = _FIELD.match(part)
        if match is None or match.group(1) != expected:
            return None
        fields[expected] = int(match.group(2))
    return UriName(parts[0], fields["e"], fields["s"], fields["t"], fields["sc"] / 10000)
