"""Loading and selecting through the store by URI (S1, S2), under decision F1 (records become paths).

- ``rec = store.policy_record(u)`` whose every other use is ``rec.policy`` -> ``rec = load_agent_from(u)``
  and ``rec.policy`` -> ``rec`` (also ``self.x = store.policy_record(u) if u else None`` when every read
  of ``self.x`` in the class is ``self.x.policy``, and ``store.policy_record(u).policy`` in one
  expression). Helper: ``simple_ckpt.load_agent_from``, which loads a model file, a run dir or its
  ``checkpoints/`` dir (newest checkpoint) and raises a one-line error for ``wandb://`` URIs.
  Behaviour note (reported): the legacy default selector was "top"; for a directory URI
  ``load_agent_from`` takes the newest checkpoint.
- ``store.policy_records(u, s, n, metric)`` (``s`` a literal ``"latest"|"top"|"all"`` or a runtime value
  such as ``args.selector``; no ``stats_client=`` / ``eval_name=``), passed straight on as an argument or
  returned -> ``select_checkpoints(u, selector=s, n=..., metric=...)`` (``simple_ckpt.compat``), which
  returns checkpoint path strings and raises a one-line ``CheckpointError`` for a selector it does not
  support (``rand``) or a ``wandb://`` URI, ``CheckpointNotFound`` when nothing is selected.
- a store variable built in the function, or a store kept on ``self``, that nothing reads any more after
  those rewrites is removed (its construction or its ``self.x = store`` assignment).

Never rewritten (left to the TODO pass): a ``wandb://`` literal URI, a ``"rand"`` literal selector, a record
used for anything but ``.policy``, server-side ranking (``stats_client=``), ``*args``/``**kwargs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._resolve import iter_statements
from codemods.rules._shapes import FunctionScopedVisitor
from codemods.rules._uses import all_params, collect, self_attribute

LOAD_AGENT = "load_agent_from"
SELECT = "select_checkpoints"
SELECTORS = frozenset({"latest", "top", "all"})
SELECT_PARAMS = ("uri_or_config", "selector_type", "n", "metric")
_METHODS = frozenset({"policy_record", "policy_records"})
STORE_FACTORIES = frozenset({"PolicyStore", "get_policy_store_from_cfg"})
_REWRITABLE = re.compile(
    r"\.policy_record\(\s*(?:uri_or_config\s*=\s*)?[^,()\n]*(?:\([^()\n]*\))?[^,()\n]*\)"
    r"|\.policy_records\([^;]*?(?:[\"'](?:latest|top|all)[\"']|selector_type\s*=\s*[\w.]+\s*[,)])"
)
# `self.x = policy_store` / `self.x: T = policy_store`: a store kept on an object (maybe never read).
_STORE_ON_SELF = re.compile(r"self\.\w+\s*(?::[^=\n]*)?=\s*\w*policy_store\s*$", re.MULTILINE)


@dataclass
class _Plan:
    loads: dict[int, cst.BaseExpression] = field(default_factory=dict)  # call id -> uri
    unwrap: set[int] = field(default_factory=set)  # `rec.policy` attribute ids -> `rec`
    direct: dict[int, cst.BaseExpression] = field(default_factory=dict)  # `call(...).policy` id -> uri
    selects: dict[int, list[cst.Arg]] = field(default_factory=dict)  # call id -> new args
    remove: set[int] = field(default_factory=set)  # statement ids
    receivers: set[int] = field(default_factory=set)  # receiver nodes of rewritten calls


class LoadByUri(LegacyRule):
    DESCRIPTION = "store.policy_record(u) -> load_agent_from(u); literal policy_records -> select_checkpoints"
    TRIGGERS = frozenset({".policy_record(", ".policy_records("})

    @classmethod
    def wants(cls, text: str) -> bool:
        # Only the shapes this rule can rewrite: a one-argument load, a literal-selector selection, or a
        # store kept on self (maybe dead). Anything else is the TODO pass's.
        return _REWRITABLE.search(text) is not None or _STORE_ON_SELF.search(text) is not None

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._plans: list[_Plan] = []
        self._class_plans: dict[int, _Plan] = {}
        self._active = _Plan()
        self._candidates: set[int] = set()
        self._scan = _Scan()
        self._unwrap_all: set[int] = set()
        self._enclosing: dict[int, list[int]] = {}
        self._enter: set[int] = set()

    # --- analysis -----------------------------------------------------------------------------------

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        # One walk finds the `.policy_record(...)`/`.policy_records(...)` calls, the functions holding
        # them and how their results are used; only those functions are analysed, all before rewriting,
        # and the rewriting walk is skipped when no plan has anything to do (the common case).
        text = self.source_text()
        if text is None or ".policy_record" in text:
            self._scan = _Scan()
            tree.visit(self._scan)
            self._candidates = self._scan.functions
        for statement in iter_statements(tree):
            if isinstance(statement, cst.ClassDef):
                self._plan_class(statement)
        for statement in iter_statements(tree):
            if (
                isinstance(statement, cst.FunctionDef)
                and id(statement) not in self._class_plans
                and id(statement) in self._candidates
            ):
                self._class_plans[id(statement)] = self._analyse(statement, set(), {})
        if not any(_has_work(plan) for plan in self._class_plans.values()):
            return tree
        # `self.x.policy` reads rewritten for a load in another method of the class: known to every plan.
        self._unwrap_all = {i for plan in self._class_plans.values() for i in plan.unwrap}
        # Walk only into the functions with something to rewrite (and the functions around them).
        targets = {i for i, plan in self._class_plans.items() if _has_work(plan)}
        targets |= {f for i in self._unwrap_all for f in self._enclosing.get(i, ())}
        self._enter = _functions_around(tree, targets)
        return super().transform_module_impl(tree)

    def _plan_class(self, node: cst.ClassDef) -> None:
        methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        if not any(id(m) in self._candidates for m in methods) and "PolicyStore" not in _annotations_text(
            node
        ):
            return
        store_attrs: set[str] = set()
        for method in methods:
            stores = self._store_params(method)
            for statement in iter_statements(method.body):
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    target, value = _single_assignment(small)
                    attr = self_attribute(target) if target is not None else None
                    if attr is None:
                        continue
                    annotation = small.annotation.annotation if isinstance(small, cst.AnnAssign) else None
                    if (isinstance(value, cst.Name) and value.value in stores) or (
                        annotation is not None and self.bindings.is_legacy(annotation, "PolicyStore")
                    ):
                        store_attrs.add(attr)
        if not store_attrs and not any(id(m) in self._candidates for m in methods):
            return
        self_uses = collect(node, {"self"}).uses
        loadable = _self_loadable(self_uses)
        for use in self_uses:  # where each `self.x.policy` read sits (to walk into those methods)
            if len(use.ancestors) >= 2:
                self._enclosing[id(use.ancestors[-2])] = [
                    id(a) for a in use.ancestors if isinstance(a, cst.FunctionDef)
                ]
        plans = {
            id(m): self._analyse(m, store_attrs, loadable) if id(m) in self._candidates else _Plan()
            for m in methods
        }
        # Store attributes that nothing reads any more (or never did): drop their assignments.
        rewritten = {i for plan in plans.values() for i in plan.receivers}
        for attr in store_attrs:
            reads = [
                u
                for u in self_uses
                if isinstance(u.parent, cst.Attribute)
                and u.parent.attr.value == attr
                and not u.is_target(u.parent)
            ]
            if any(id(u.parent) not in rewritten for u in reads):
                continue
            for method in methods:
                for statement in iter_statements(method.body):
                    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                        target, _ = _single_assignment(statement.body[0])
                        if target is not None and self_attribute(target) == attr:
                            plans[id(method)].remove.add(id(statement))
                            self.report(
                                f"{node.name.value}: self.{attr} held the policy store and nothing reads it any more; "
                                "its assignment was removed"
                            )
        self._class_plans.update(plans)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        plan = self._class_plans.get(id(node)) or _Plan()
        self._plans.append(plan)
        self._active = plan
        return id(node) in self._enter

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return bool(self._plans)  # module-level statements have nothing this rule rewrites

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._plans.pop()
        self._active = self._plans[-1] if self._plans else _Plan()
        return updated_node

    def _store_params(self, function: cst.FunctionDef) -> set[str]:
        return {
            p.name.value
            for p in all_params(function)
            if p.annotation is not None and self.bindings.is_legacy(p.annotation.annotation, "PolicyStore")
        }

    def _is_factory(self, value: cst.BaseExpression | None) -> bool:
        if not isinstance(value, cst.Call):
            return False
        symbol = self.bindings.resolve(value.func)
        if symbol is not None and symbol.name in STORE_FACTORIES:
            return True
        func = value.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value == "create"
            and self.bindings.is_legacy(func.value, "PolicyStore")
        )

    def _analyse(
        self, function: cst.FunctionDef, store_attrs: set[str], loadable: dict[str, set[int]]
    ) -> _Plan:
        plan = _Plan()
        scan = self._scan
        stores = self._store_params(function)
        built: dict[str, cst.SimpleStatementLine] = {}
        assignments: list[cst.BaseSmallStatement] = []
        for statement in iter_statements(function.body):
            if isinstance(statement, cst.SimpleStatementLine):
                assignments.extend(statement.body)
                if len(statement.body) == 1:
                    target, value = _single_assignment(statement.body[0])
                    if isinstance(target, cst.Name) and self._is_factory(value):
                        stores.add(target.value)
                        built[target.value] = statement

        def is_store(receiver: cst.BaseExpression) -> bool:
            if isinstance(receiver, cst.Name):
                return receiver.value in stores
            return self_attribute(receiver) in store_attrs

        loads: dict[int, cst.BaseExpression] = {}
        calls = [c for c in scan.calls.get(id(function), []) if is_store(c.func.value)]  # type: ignore[attr-defined]
        for call in calls:
            if call.func.attr.value == "policy_record":  # type: ignore[attr-defined]
                uri = _single_uri(call)
                if uri is not None:
                    loads[id(call)] = uri
            elif id(call) in scan.passed or self._returned_whole(function, scan.comprehended.get(id(call))):
                args = _select_args(call)
                if args is not None:
                    plan.selects[id(call)] = args
        # Loads are kept where the result is used as an agent only (`rec.policy`, `call(...).policy`).
        for small in assignments:
            target, value = _single_assignment(small)
            call = value.body if isinstance(value, cst.IfExp) else value
            if target is None or not isinstance(call, cst.Call) or id(call) not in loads:
                continue
            reads = self._policy_reads(function, target, loadable)
            if reads is not None:
                plan.loads[id(call)] = loads[id(call)]
                plan.unwrap |= reads
        for call_id, uri in loads.items():
            attribute_id = scan.direct.get(call_id)
            if attribute_id is not None:
                plan.direct[attribute_id] = uri
                plan.loads[call_id] = uri
        for call in calls:
            if id(call) in plan.loads or id(call) in plan.selects:
                plan.receivers.add(id(call.func.value))  # type: ignore[attr-defined]
        # Stores built here that nothing else uses any more.
        if built and plan.receivers:
            found = collect(function.body, set(built))
            for name, statement in built.items():
                uses = [u for u in found.uses if u.name.value == name]
                rewritten = [u for u in uses if id(u.name) in plan.receivers]
                others = [u for u in uses if id(u.name) not in plan.receivers and not u.is_target()]
                if rewritten and not others:
                    plan.remove.add(id(statement))
        return plan

    def _returned_whole(self, function: cst.FunctionDef, comprehension: int | None) -> bool:
        """Is this comprehension (of selections) returned whole: ``return {...}`` or ``x = {...}`` whose only
        other use is ``return x``? Then its records are a boundary value and become paths (decision F1)."""
        if comprehension is None:
            return False
        for statement in iter_statements(function.body):
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                continue
            small = statement.body[0]
            if isinstance(small, cst.Return) and small.value is not None and id(small.value) == comprehension:
                return True
            target, value = _single_assignment(small)
            if value is None or id(value) != comprehension or not isinstance(target, cst.Name):
                continue
            uses = collect(function.body, {target.value}).uses
            reads = [u for u in uses if not u.is_target()]
            return (
                len(uses) == 2
                and len(reads) == 1
                and not reads[0].nested_scope
                and isinstance(reads[0].parent, cst.Return)
            )
        return False

    def _policy_reads(
        self, function: cst.FunctionDef, target: cst.BaseExpression, loadable: dict[str, set[int]]
    ) -> set[int] | None:
        """Ids of the ``.policy`` reads of ``target`` when they are its only uses (else None)."""
        if isinstance(target, cst.Name):
            uses = collect(function.body, {target.value}).uses
            reads: set[int] = set()
            assignments = 0
            for use in uses:
                parent = use.parent
                if use.is_target():
                    assignments += 1
                elif (
                    isinstance(parent, cst.Attribute)
                    and parent.value is use.name
                    and parent.attr.value == "policy"
                    and not use.is_target(parent)
                    and not use.nested_scope
                ):
                    reads.add(id(parent))
                else:
                    return None
            return reads if assignments == 1 else None
        attr = self_attribute(target)
        if attr is not None and attr in loadable:
            return loadable[attr]
        return None

    # --- rewriting ----------------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        plan = self._active
        uri = plan.loads.get(id(original_node))
        if uri is not None:
            self.counted()
            self.import_target(LOAD_AGENT)
            return cst.Call(func=cst.Name(LOAD_AGENT), args=[cst.Arg(value=uri)])
        args = plan.selects.get(id(original_node))
        if args is not None:
            self.counted()
            self.add_needed_import(f"{self.target_module}.compat", SELECT)
            return cst.Call(func=cst.Name(SELECT), args=args)
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        plan = self._active
        if id(original_node) in self._unwrap_all or id(original_node) in plan.direct:
            return updated_node.value
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if id(original_node) in self._active.remove:
            self.counted()
            return cst.RemovalSentinel.REMOVE
        return updated_node


def _functions_around(tree: cst.Module, targets: set[int]) -> set[int]:
    """The target functions and every function containing one of them (at any depth), by id."""
    around = set(targets)
    for function in iter_statements(tree):
        if isinstance(function, cst.FunctionDef) and id(function) not in around:
            inner = {id(s) for s in iter_statements(function.body) if isinstance(s, cst.FunctionDef)}
            if inner & targets:
                around.add(id(function))
    return around


def _has_work(plan: _Plan) -> bool:
    return bool(plan.loads or plan.selects or plan.remove)


def _single_assignment(
    small: cst.BaseSmallStatement,
) -> tuple[cst.BaseExpression | None, cst.BaseExpression | None]:
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        return small.targets[0].target, small.value
    if isinstance(small, cst.AnnAssign) and small.value is not None:
        return small.target, small.value
    return None, None


def _is_wandb_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return node.raw_value.startswith(("wandb://", "pytorch://"))
    if isinstance(node, cst.FormattedString) and node.parts:
        first = node.parts[0]
        return isinstance(first, cst.FormattedStringText) and first.value.startswith(
            ("wandb://", "pytorch://")
        )
    return False


def _single_uri(call: cst.Call) -> cst.BaseExpression | None:
    """The URI of ``store.policy_record(u)`` / ``(uri_or_config=u)`` with nothing else passed."""
    if len(call.args) != 1 or call.args[0].star:
        return None
    arg = call.args[0]
    if arg.keyword is not None and arg.keyword.value != "uri_or_config":
        return None
    return None if _is_wandb_literal(arg.value) else arg.value


def _select_args(call: cst.Call) -> list[cst.Arg] | None:
    """``select_checkpoints`` arguments for a literal-selector ``policy_records`` call, else None."""
    values: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is None:
            if index >= len(SELECT_PARAMS) or any(a.keyword is not None for a in call.args[:index]):
                return None
            values[SELECT_PARAMS[index]] = arg.value
        elif arg.keyword.value in SELECT_PARAMS:
            values[arg.keyword.value] = arg.value
        else:
            return None  # stats_client=, eval_name=: server-side ranking has no equivalent
    uri = values.get("uri_or_config")
    selector = values.get("selector_type")
    if uri is None or selector is None or _is_wandb_literal(uri):
        return None
    if isinstance(selector, cst.SimpleString):
        if selector.raw_value not in SELECTORS:
            return None  # "rand" and other legacy selectors have no equivalent
    elif isinstance(selector, (cst.ConcatenatedString, cst.FormattedString)):
        return None
    # else a runtime selector (`args.selector`, `self.selector_type`): select_checkpoints checks it and
    # raises a one-line error for "rand" or anything it does not support.
    args = [cst.Arg(value=uri), _keyword("selector", selector)]
    for name in ("n", "metric"):
        if name in values:
            args.append(_keyword(name, values[name]))
    return args


_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(keyword=cst.Name(name), value=value, equal=_EQ)


def _self_loadable(self_uses: list) -> dict[str, set[int]]:
    """``self.x`` attributes assigned exactly once and otherwise only read as ``self.x.policy``:
    attribute -> ids of those ``self.x.policy`` nodes."""
    by_attr: dict[str, list] = {}
    for use in self_uses:
        parent = use.parent
        if isinstance(parent, cst.Attribute) and parent.value is use.name:
            by_attr.setdefault(parent.attr.value, []).append(use)
    loadable: dict[str, set[int]] = {}
    for attr, uses in by_attr.items():
        assignments = 0
        reads: set[int] = set()
        ok = True
        for use in uses:
            if use.is_target(use.parent):
                assignments += 1
                continue
            chain = use.ancestors
            grand = chain[-2] if len(chain) >= 2 else None
            if (
                isinstance(grand, cst.Attribute)
                and grand.value is use.parent
                and grand.attr.value == "policy"
                and not use.is_target(grand)
            ):
                reads.add(id(grand))
            else:
                ok = False
                break
        if ok and assignments == 1:
            loadable[attr] = reads
    return loadable


_COMPREHENSIONS = frozenset({cst.ListComp, cst.DictComp})


class _Scan(FunctionScopedVisitor):
    """One walk: the candidate calls by innermost function, the functions enclosing them, the calls read
    as ``call(...).policy`` and the calls passed straight on as an argument or returned."""

    def __init__(self) -> None:
        super().__init__()
        self.functions: set[int] = set()
        self.calls: dict[int, list[cst.Call]] = {}
        self.direct: dict[int, int] = {}  # call id -> id of the `.policy` attribute reading it
        self.passed: set[int] = set()
        self.comprehended: dict[int, int] = {}  # call id -> id of the comprehension it builds
        self.comprehensions: set[int] = set()  # comprehensions passed on, returned or assigned

    def see(self, node: cst.CSTNode, kind: type[cst.CSTNode]) -> None:
        if kind is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            if self.stack and type(func) is cst.Attribute and func.attr.value in _METHODS:
                self.functions.update(self.stack)
                self.calls.setdefault(self.stack[-1], []).append(node)  # type: ignore[arg-type]
        elif kind is cst.Attribute:
            if node.attr.value == "policy" and type(node.value) is cst.Call:  # type: ignore[attr-defined]
                self.direct[id(node.value)] = id(node)  # type: ignore[attr-defined]
        elif kind is cst.Arg:
            if type(node.value) is cst.Call and not node.star:  # type: ignore[attr-defined]
                self.passed.add(id(node.value))  # type: ignore[attr-defined]
        elif kind is cst.Return:
            if type(node.value) is cst.Call:  # type: ignore[attr-defined]
                self.passed.add(id(node.value))  # type: ignore[attr-defined]
        elif kind in _COMPREHENSIONS:
            element = node.value if kind is cst.DictComp else node.elt  # type: ignore[attr-defined]
            if type(element) is cst.Call:
                self.comprehended[id(element)] = id(node)


def _annotations_text(node: cst.ClassDef) -> str:
    """The class's method parameter annotations as text (does any parameter take a store?)."""
    parts = []
    for item in node.body.body:
        if isinstance(item, cst.FunctionDef):
            for param in all_params(item):
                if param.annotation is not None:
                    parts.append(_code(param.annotation.annotation))
    return " ".join(parts)


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
