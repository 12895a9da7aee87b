"""The baseline for bench_codemod: a one-name rename codemod run by the stock `python -m libcst.tool`.

``PolicyStore`` -> ``SimpleCheckpointManager`` on every Name node, with no metadata: the cheapest useful
codemod the stock tool can run, so the comparison measures the tool's per-file cost (parse every file),
not an expensive rule.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import VisitorBasedCodemodCommand


class RenameLegacyName(VisitorBasedCodemodCommand):
    DESCRIPTION = "Rename PolicyStore to SimpleCheckpointManager (benchmark baseline)."

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == "PolicyStore":
            return updated_node.with_changes(value="SimpleCheckpointManager")
        return updated_node
