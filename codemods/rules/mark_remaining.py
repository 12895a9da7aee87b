"""The last rule: every legacy reference no rule could rewrite gets the TODO marker on its statement.

Marked: statements naming a legacy symbol (resolved through imports, string annotations included),
identifiers that carry the store around (``policy_store``, ``mock_policy_store``, ``self.policy_store``),
keyword arguments ``policy_store=``/``policy_record=``, and calls of methods only the legacy API had
(``.policy_record(...)``, ``.policy_records(...)``, ...). The message is the table's ``why`` for the
symbol: what a person has to decide. Imports are not marked here (the import pass removes the unused ones
and marks the ones kept alive by marked code). Statements already carrying the marker are left as they are.
"""

from __future__ import annotations

import re

import libcst as cst

from codemods.rules._base import LegacyRule

STORE_IDENTIFIER = re.compile(r"(?:^|_)policy_store$")
LEGACY_KEYWORDS = {
    "policy_store": "pass a SimpleCheckpointManager (checkpoint_manager=...) or drop the argument",
    "policy_record": "pass the agent or the checkpoint path instead of a PolicyRecord (decision F1)",
    "policy_pr": "pass the agent or the checkpoint path instead of a PolicyRecord (decision F1)",
    "initial_policy_record": "the initial PolicyRecord has no equivalent; drop it",
    "latest_saved_policy_record": "pass the latest saved epoch (an int) instead of the PolicyRecord",
}
LEGACY_METHODS = {
    "policy_record": "load with SimpleCheckpointManager(...).load_agent() (latest) or find_best_checkpoint(metric) + load_agent_from(path); wandb:// URIs have no equivalent",
    "policy_records": "latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent",
    "policy_record_or_mock": "load the agent when a URI is set (load_agent_from), else use a mock agent",
    "load_or_create_policy": "agent = checkpoint_manager.load_agent(); if agent is None: build a fresh agent",
    "make_model_name": "checkpoint file names are model_NNNN.pt, chosen by save_agent()",
    "create_empty_policy_record": "there are no records: save the agent with save_agent()",
    "add_to_wandb_run": "wandb upload is not part of simple_ckpt",
    "add_to_wandb_sweep": "wandb upload is not part of simple_ckpt",
    "policy_as_metta_agent": "use the agent itself",
    "extract_wandb_run_info": "wandb run info must come from the run config",
}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MarkRemainingLegacy(LegacyRule):
    DESCRIPTION = "put # TODO(simple-ckpt): <what to decide> on every statement still using the legacy API"
    NEEDS_LEGACY_IMPORT = False

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._annotation = 0

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self._annotation += 1

    def leave_Annotation(self, original_node: cst.Annotation, updated_node: cst.Annotation) -> cst.Annotation:
        self._annotation -= 1
        return updated_node

    def _symbol_todo(self, node: cst.CSTNode) -> bool:
        symbol = self.bindings.resolve(node)
        if symbol is None:
            return False
        self.todo(f"{symbol.name}: {symbol.why}")
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self._symbol_todo(node):
            return False
        if STORE_IDENTIFIER.search(node.attr.value):
            self.todo(
                "the policy store kept on an object: there is no store any more; keep a SimpleCheckpointManager or a path"
            )
        return True

    def visit_Name(self, node: cst.Name) -> None:
        if self._symbol_todo(node):
            return
        if STORE_IDENTIFIER.search(node.value):
            self.todo(
                f"{node.value}: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)"
            )

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value in LEGACY_KEYWORDS:
            self.todo(f"{node.keyword.value}=: {LEGACY_KEYWORDS[node.keyword.value]}")

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in LEGACY_METHODS:
            self.todo(f".{node.func.attr.value}(): {LEGACY_METHODS[node.func.attr.value]}")

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if not self._annotation:
            return
        for word in _WORD.findall(node.value):
            symbol = self.bindings.names.get(word)
            if symbol is not None:
                self.todo(f"{symbol.name}: {symbol.why}")
