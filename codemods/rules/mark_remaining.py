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
from codemods.rules._resolve import iter_statements
from codemods.rules._shapes import DROP_KEYWORDS, FastVisitor

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
# Qualified definition names (Class.method / function) whose callers lose policy_store= in the callee table.
DROPPED_BY_CALLERS = frozenset(
    f"{name}.__init__" if name[:1].isupper() and "." not in name else name
    for name, keywords in DROP_KEYWORDS.items()
    if "policy_store" in keywords
)
# Attributes that exposed a record (pattern K3 and generation B trainer attributes), read or called.
RECORD_ATTRIBUTES = {
    "policy_record": "exposed the PolicyRecord; use the checkpoint path or agent the caller already holds",
    "initial_policy_record": "the initial PolicyRecord has no equivalent",
    "latest_saved_policy_record": "keep the latest saved epoch or path instead of a PolicyRecord",
}
RECORD_CLASSES = frozenset({"PolicyRecord", "MockPolicyRecord"})
RECORD_PRODUCERS = frozenset(
    {
        "policy_record",
        "policy_records",
        "policy_record_or_mock",
        "load_or_create_policy",
        "create_empty_policy_record",
    }
)
RECORD_READS = {
    "policy": "the record's agent: use the agent itself (load it with load_agent / load_agent_from)",
    "uri": "becomes the bare checkpoint path (no file:// or wandb:// scheme); check comparisons and keys",
    "run_name": "held the checkpoint file or artifact name, not the run: decide what is meant",
    "metadata": "metadata is a dict in the YAML sidecar: simple_ckpt.compat.checkpoint_metadata(path)",
    "name": "generation A record name: the checkpoint path or the run name",
    "file_path": "use the checkpoint path",
    "local_path": "use the checkpoint path",
    "num_params": "sum(p.numel() for p in agent.parameters() if p.requires_grad)",
    "policy_as_metta_agent": "use the agent itself",
    "extract_wandb_run_info": "wandb run info must come from the run config",
}
STORE_METHODS = {
    "policy": "generation A store.policy(uri): load with SimpleCheckpointManager(...).load_agent() or load_agent_from(path)",
    "policies": "generation A store.policies(selector): use list_all_checkpoints() or simple_ckpt.compat.select_checkpoints",
    "save": "save with checkpoint_manager.save_agent(agent, epoch, metadata)",
    "create": "build the agent and save it with checkpoint_manager.save_agent(...)",
    "": "a PolicyStore method: there is no store any more",
}
STATE_READS = {
    "agent_step": "st['agent_step'] on the dict from checkpoint_manager.load_trainer_state()",
    "epoch": "st['epoch'] on the dict from checkpoint_manager.load_trainer_state()",
    "optimizer_state_dict": "st['optimizer_state'] on the dict from checkpoint_manager.load_trainer_state()",
    "total_agent_step": "st['agent_step'] on the dict from checkpoint_manager.load_trainer_state()",
    "stopwatch_state": "the stopwatch state is not saved by simple_ckpt",
    "policy_path": "the policy path is not saved in the trainer state any more",
    "extra_args": "extra args are not saved in the trainer state any more",
}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MarkRemainingLegacy(LegacyRule):
    DESCRIPTION = "put # TODO(simple-ckpt): <what to decide> on every statement still using the legacy API"
    NEEDS_LEGACY_IMPORT = False

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._annotation = 0
        self._classes: list[str] = []
        self._records: list[dict[str, str]] = []
        self._self_records: list[set[str]] = []

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
        kind = self._kind_of_receiver(node.value)
        attr = node.attr.value
        if kind == "record" and attr in RECORD_READS:
            self.todo(f"{_code(node.value)}.{attr}: {RECORD_READS[attr]}")
        elif kind == "state" and attr in STATE_READS:
            self.todo(f"{_code(node.value)}.{attr}: {STATE_READS[attr]}")
        elif kind == "store" and attr not in LEGACY_METHODS:  # those get their own message in visit_Call
            self.todo(f"{_code(node.value)}.{attr}: {STORE_METHODS.get(attr, STORE_METHODS[''])}")
        if node.attr.value in RECORD_ATTRIBUTES:
            self.todo(f".{node.attr.value}: {RECORD_ATTRIBUTES[node.attr.value]}")
        if STORE_IDENTIFIER.search(node.attr.value):
            self.todo(
                "the policy store kept on an object: there is no store any more; keep a SimpleCheckpointManager or a path"
            )
        return True

    def _kind_of_receiver(self, node: cst.BaseExpression) -> str | None:
        if isinstance(node, cst.Name):
            return self._records[-1].get(node.value) if self._records else None
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == "self"
            and self._self_records
            and node.attr.value in self._self_records[-1]
        ):
            return "record"
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(node.name.value)
        self._self_records.append(self._class_records(node))

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        self._self_records.pop()
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._records.pop()
        return updated_node

    def _record_vars(self, node: cst.FunctionDef) -> dict[str, str]:
        """Names holding a legacy object in this function, by kind (record, store, state): annotated
        parameters, loads, factories, mocks, simple aliases."""
        found = dict(self._records[-1]) if self._records else {}
        for param in [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]:
            if param.annotation is None:
                continue
            annotation = param.annotation.annotation
            if names_record(annotation, self.bindings):
                found[param.name.value] = "record"
            elif self.bindings.is_legacy(annotation, "PolicyStore"):
                found[param.name.value] = "store"
        for statement in iter_statements(node.body):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                    kind = self._kind_of(small.value, found)
                    if kind is None:
                        continue
                    targets = small.targets if isinstance(small, cst.Assign) else [small]
                    for target in targets:
                        if isinstance(target.target, cst.Name):
                            found[target.target.value] = kind
        return found

    def _kind_of(self, value: cst.BaseExpression, known: dict[str, str]) -> str | None:
        if isinstance(value, cst.Name):
            return known.get(value.value)
        if isinstance(value, cst.Subscript):
            value = value.value
        if isinstance(value, cst.IfExp):
            return self._kind_of(value.body, known)
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        symbol = self.bindings.resolve(func)
        if symbol is not None:
            if symbol.name in RECORD_CLASSES:
                return "record"
            if symbol.name in ("PolicyStore", "get_policy_store_from_cfg"):
                return "store"
            return None
        if isinstance(func, cst.Attribute):
            receiver = func.value
            owner = self.bindings.resolve(receiver)
            if owner is not None:
                if owner.name in RECORD_CLASSES:
                    return "record"
                if owner.name == "PolicyStore" and func.attr.value == "create":
                    return "store"
                if owner.name == "TrainerCheckpoint" and func.attr.value == "load":
                    return "state"
            if func.attr.value in RECORD_PRODUCERS:
                return "record"
            if isinstance(receiver, cst.Name) and known.get(receiver.value) == "store":
                return "record" if func.attr.value in ("policy", "create", "save", "load_from_uri") else None
        return None

    def _class_records(self, node: cst.ClassDef) -> set[str]:
        """``self.X`` attributes of a class that hold a PolicyRecord (assigned from one in any method)."""
        attributes: set[str] = set()
        for statement in iter_statements(node.body):
            if not isinstance(statement, cst.FunctionDef):
                continue
            known = self._record_vars(statement)
            for inner in iter_statements(statement.body):
                if not isinstance(inner, cst.SimpleStatementLine):
                    continue
                for small in inner.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                        targets = small.targets if isinstance(small, cst.Assign) else [small]
                        if self._kind_of(small.value, known) == "record":
                            for target in targets:
                                t = target.target
                                if (
                                    isinstance(t, cst.Attribute)
                                    and isinstance(t.value, cst.Name)
                                    and t.value.value == "self"
                                ):
                                    attributes.add(t.attr.value)
        return attributes

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._records.append(self._record_vars(node))
        params = {p.name.value for p in [*node.params.params, *node.params.kwonly_params]}
        qualified = f"{self._classes[-1]}.{node.name.value}" if self._classes else node.name.value
        if "policy_store" in params and qualified in DROPPED_BY_CALLERS:
            self.todo(
                f"callers no longer pass policy_store to {node.name.value}() (the codemod drops it at call sites): "
                "remove this parameter and its uses"
            )

    def visit_Name(self, node: cst.Name) -> None:
        if self._symbol_todo(node):
            return
        if STORE_IDENTIFIER.search(node.value):
            self.todo(
                f"{node.value}: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)"
            )

    def visit_Arg(self, node: cst.Arg) -> None:
        if self._kind_of_receiver(node.value) == "record":
            self.todo(
                f"{node.value.value} is a PolicyRecord passed on: decide what replaces it (decision F1)"
            )
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


def names_record(node: cst.CSTNode, bindings: object) -> bool:
    """Does ``node`` (an annotation, usually) name a legacy record class, bare or through a module?"""
    finder = _RecordName(bindings)
    node.visit(finder)
    return finder.found


class _RecordName(FastVisitor):
    def __init__(self, bindings: object) -> None:
        self.bindings = bindings
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        symbol = self.bindings.resolve(node)  # type: ignore[attr-defined]
        if symbol is not None and symbol.name in RECORD_CLASSES:
            self.found = True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        symbol = self.bindings.resolve(node)  # type: ignore[attr-defined]
        if symbol is not None and symbol.name in RECORD_CLASSES:
            self.found = True
            return False
        return True


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
