"""Thread the new manager through a function that took the store (spec pairs 2 and 3).

``def train(..., policy_store: PolicyStore, ...)`` whose body built the legacy
``checkpoint_manager = CheckpointManager(policy_store=policy_store, checkpoint_config=c, ...)`` becomes
``def train(..., checkpoint_manager: SimpleCheckpointManager, ...)``: the construction is removed (the
manager is now the parameter), every remaining use of the parameter is renamed, and callers' keywords are
renamed by the keyword-plumbing rule (the callee table lists ``train``). A caller passing it positionally
keeps its position.

Only safe shapes are rewritten: the store parameter may only be passed on as a call argument, and the
legacy manager may only be used through methods SimpleCheckpointManager has (or ``load_or_create_policy``
and ``maybe_establish_checkpoint(checkpoint_manager=...)``, which later rules rewrite). Anything else -
the store kept on ``self``, store methods called on it - leaves the function as it is for the TODO pass.
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._resolve import iter_statements
from codemods.rules._shapes import (
    MANAGER_CLASS,
    MANAGER_METHODS,
    MANAGER_PARAM,
    RENAME_STORE_KEYWORD,
    KeywordOnlyUses,
    NameRenamer,
    StatementRemover,
    assigned_call,
    keyword,
    target_name,
    uses_of,
)

CHECKPOINT_CONFIG_KEY = "simple_ckpt.checkpoint_config"
LATER_RULE_METHODS = frozenset({"load_or_create_policy"})


class ThreadCheckpointManager(LegacyRule):
    DESCRIPTION = "def f(policy_store: PolicyStore) + legacy CheckpointManager(...) -> f(checkpoint_manager: SimpleCheckpointManager)"
    TRIGGERS = frozenset({"PolicyStore"})

    @classmethod
    def wants(cls, text: str) -> bool:
        return "PolicyStore" in text and any(f"def {name}(" in text for name in RENAME_STORE_KEYWORD)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        params = [*updated_node.params.params, *updated_node.params.kwonly_params]
        store_params = [
            p
            for p in params
            if p.annotation is not None and self.bindings.is_legacy(p.annotation.annotation, "PolicyStore")
        ]
        if len(store_params) != 1 or updated_node.name.value not in RENAME_STORE_KEYWORD:
            # Only callees of the table are threaded, so their call sites and definition agree.
            return updated_node
        param = store_params[0]
        old = param.name.value
        constructions = [
            statement
            for statement in iter_statements(updated_node.body)
            if (shape := assigned_call(statement)) is not None
            and self.bindings.is_legacy(shape[1].func, "CheckpointManager")
        ]
        if len(constructions) > 1:
            return updated_node
        legacy_var: str | None = None
        config: cst.BaseExpression | None = None
        if constructions:
            targets, call = assigned_call(constructions[0])  # type: ignore[misc]
            store_arg = keyword(call, "policy_store")
            if len(targets) != 1 or store_arg is None or not _is_name(store_arg.value, old):
                return updated_node
            legacy_var = target_name(targets[0])
            config_arg = keyword(call, "checkpoint_config")
            config = config_arg.value if config_arg is not None else None
        new = legacy_var or (MANAGER_PARAM if old == "policy_store" else old)
        if old == "policy_store" and new != MANAGER_PARAM:
            return updated_node
        remaining = updated_node.body
        if constructions:
            remaining = remaining.visit(StatementRemover({id(constructions[0])}))  # type: ignore[assignment]
        store_uses = KeywordOnlyUses(old, skip=None)
        remaining.visit(store_uses)
        if not store_uses.ok:
            return updated_node
        if legacy_var is not None:
            manager_uses = uses_of(remaining, legacy_var)
            if not set(manager_uses.attributes) <= MANAGER_METHODS | LATER_RULE_METHODS:
                return updated_node
            if manager_uses.total != manager_uses.arguments + len(manager_uses.attributes):
                return updated_node
        elif new != old and uses_of(remaining, new).total:
            return updated_node
        body = remaining.visit(NameRenamer(old, new)) if new != old else remaining
        new_param = param.with_changes(
            name=cst.Name(new),
            annotation=param.annotation.with_changes(annotation=cst.Name(MANAGER_CLASS)),  # type: ignore[union-attr]
        )
        params_node = updated_node.params.deep_replace(param, new_param)
        self.import_target(MANAGER_CLASS)
        self.counted()
        if config is not None:
            self.context.scratch.setdefault(CHECKPOINT_CONFIG_KEY, {})[updated_node.name.value] = config
        if constructions:
            self.report(
                f"{updated_node.name.value}(): the legacy CheckpointManager construction was removed; "
                f"callers now pass {new}=SimpleCheckpointManager(run_dir=..., run_name=...)"
            )
        return updated_node.with_changes(params=params_node, body=body)


def _is_name(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name
