"""Decision F1: a PolicyRecord at a function boundary becomes the checkpoint path string (what #2366 did).

The legacy record bundled an agent, a URI, a display name and metadata. This codemod decides (spec §1.5,
option b) that at eval/stats/logging boundaries it is replaced by the checkpoint path (``str``):

- annotations ``PolicyRecord``, ``PolicyRecord | None``, ``list[PolicyRecord]``, ``dict[PolicyRecord,
  float]`` of a function's parameters and return value -> the same with ``str``;
- inside that function, on such a parameter (or a plain alias ``pr = policy_record``):
  ``rec.uri`` -> ``rec``; ``rec.metadata`` -> ``read_metadata(rec)`` and ``rec.metadata.epoch`` ->
  ``read_metadata(rec)["epoch"]`` (``simple_ckpt.read_metadata``); ``rec.policy`` (read once) ->
  ``load_agent_from(rec)`` (``simple_ckpt.load_agent_from``); passing ``rec`` on passes the path on;
  any other attribute (``run_name``, ``extract_wandb_run_info()``, ...) keeps a TODO;
- ``cast(PolicyRecord, x)`` -> ``x``;
- ``MockPolicyRecord.from_key_and_version(k, v)`` (tests) -> ``make_test_checkpoint(k, v)``
  (``simple_ckpt.compat``): a real tmp run dir with ``model_{v:04d}.pt`` + YAML, returned as a path.

A function is rewritten only when every use of its record parameters has a rewrite above, the records
are not reassigned, no nested scope reads them, it produces no records itself and it returns nothing kept
on ``self`` (except an approved record attribute): otherwise it is left for the TODO pass. A container of
records (``list[PolicyRecord]``) may only be passed on or returned whole.

Records kept on the object (what #2366 did for Simulation: the agent and the URI): ``self.A = rec`` in
``__init__`` whose every other use in the class is ``self.A.policy`` / ``.uri`` / ``.metadata`` or
``return self.A`` -> ``self.A`` keeps the path, ``self.<A>_agent = load_agent_from(rec)`` is added right
after it (loaded once, eagerly, where the legacy record loaded lazily: reported) and ``self.A.policy``
-> ``self.<A>_agent``. Any other use (``self.A.run_name``, a second assignment) leaves the class TODO.

Hazard reported per rewrite: ``rec.uri`` carried a scheme (``file://``, ``wandb://``), the path does not,
so keys built from it change.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import RemoveImportsVisitor

from codemods.rules._base import LegacyRule
from codemods.rules._shapes import FastTransformer, FunctionScopedVisitor
from codemods.rules._uses import Use, all_params, collect, self_attribute
from codemods.rules.mark_remaining import RECORD_CLASSES, RECORD_PRODUCERS, RECORD_READS, names_record

LOAD_AGENT = "load_agent_from"
READ_METADATA = "read_metadata"
TEST_HELPER = "make_test_checkpoint"
SELECT_PATHS = "select_checkpoints"
DICT_METHODS = frozenset({"get", "items", "keys", "values", "copy", "setdefault", "pop", "update"})
_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class RecordToPath(LegacyRule):
    DESCRIPTION = "PolicyRecord at a function boundary -> checkpoint path str (decision F1)"
    TRIGGERS = frozenset({"PolicyRecord"})

    def __init__(self, context: cst.codemod.CodemodContext) -> None:  # type: ignore[name-defined]
        super().__init__(context)
        self._plans: list[frozenset[str] | None] = []
        self._everywhere = True
        self._holders: set[int] | None = None
        # Per class: record attributes `self.A = rec` approved for F1 -> the attribute holding the agent
        # (None when nothing reads `self.A.policy`).
        self._class_records: list[dict[str, str | None]] = []
        self._local_paths: set[int] = set()  # local AnnAssigns of selected paths typed with records

    # --- functions ----------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        text = self.source_text()
        # cast(PolicyRecord, x) and the mock factory can sit anywhere: one cheap walk finds the functions
        # holding them. Other functions are entered only when they have a plan (or their class does).
        self._everywhere = text is None or "cast" in text or "from_key_and_version" in text
        self._holders: set[int] | None = None
        if self._everywhere and text is not None:
            finder = _CastOrMockHolders()
            node.visit(finder)
            self._holders = finder.functions

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        plan = self._plan(node)
        self._plans.append(plan)
        if plan is not None or self._approved():
            return True
        return self._everywhere and (self._holders is None or id(node) in self._holders)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return self._everywhere or bool(self._plans)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._class_records.append(self._approve_class(node))

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        approved = self._class_records.pop()
        if approved:
            self.report(
                f"{original_node.name.value}: "
                + ", ".join(
                    f"self.{a} holds the checkpoint path"
                    + (
                        f" and self.{b} its agent (loaded in __init__, "
                        "where the legacy record loaded it on first use)"
                        if b
                        else ""
                    )
                    for a, b in sorted(approved.items())
                )
                + " (decision F1)"
            )
        return updated_node

    def _approve_class(self, node: cst.ClassDef) -> dict[str, str | None]:
        """``self.A = rec`` in ``__init__`` (rec a record parameter) whose every other use in the class is
        ``self.A.policy`` / ``.uri`` / ``.metadata`` or ``return self.A``: A -> the agent attribute."""
        methods = [m for m in node.body.body if isinstance(m, cst.FunctionDef)]
        init = next((m for m in methods if m.name.value == "__init__"), None)
        if init is None:
            return {}
        params = {
            p.name.value
            for p in all_params(init)
            if p.annotation is not None and self._direct_record(p.annotation.annotation)
        }
        if not params:
            return {}
        candidates: dict[str, str] = {}
        for statement in init.body.body:
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                small = statement.body[0]
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and self_attribute(small.targets[0].target) is not None
                    and isinstance(small.value, cst.Name)
                    and small.value.value in params
                ):
                    candidates[self_attribute(small.targets[0].target)] = small.value.value  # type: ignore[index]
        if not candidates:
            return {}
        uses = collect(node, {"self"}).uses
        taken = {u.parent.attr.value for u in uses if isinstance(u.parent, cst.Attribute)}
        approved: dict[str, str | None] = {}
        for attr in candidates:
            agent_attr = _agent_attribute(attr)
            ok, policy_reads, assignments = True, 0, 0
            for use in uses:
                parent = use.parent
                if not (
                    isinstance(parent, cst.Attribute)
                    and parent.value is use.name
                    and parent.attr.value == attr
                ):
                    continue
                if use.is_target(parent):
                    assignments += 1
                    continue
                if (
                    sum(isinstance(a, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) for a in use.ancestors)
                    != 2
                ):
                    ok = False  # inside a nested scope of a method
                    break
                grand = use.ancestors[-2] if len(use.ancestors) >= 2 else None
                if isinstance(grand, cst.Attribute) and grand.value is parent:
                    if use.is_target(grand) or grand.attr.value not in ("policy", "uri", "metadata"):
                        ok = False
                        break
                    policy_reads += grand.attr.value == "policy"
                elif not (isinstance(grand, cst.Return) and grand.value is parent):
                    ok = False
                    break
            if not ok or assignments != 1 or (policy_reads and agent_attr in taken):
                continue
            approved[attr] = agent_attr if policy_reads else None
        if approved:
            # __init__ itself must be rewritable with those attributes allowed to hold the parameter.
            self._class_records.append(approved)
            plan = self._plan(init)
            self._class_records.pop()
            if plan is None:
                return {}
        return approved

    def _approved(self) -> dict[str, str | None]:
        return self._class_records[-1] if self._class_records else {}

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.BaseStatement]:
        """After ``self.A = rec`` in ``__init__``: ``self.<A's agent> = load_agent_from(rec)``."""
        approved = self._approved()
        if not approved or len(original_node.body) != 1 or not isinstance(original_node.body[0], cst.Assign):
            return updated_node
        assign = original_node.body[0]
        attr = self_attribute(assign.targets[0].target) if len(assign.targets) == 1 else None
        agent_attr = approved.get(attr) if attr is not None else None
        if agent_attr is None or not isinstance(assign.value, cst.Name) or not self._current():
            return updated_node
        self.import_target(LOAD_AGENT)
        load = cst.SimpleStatementLine(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(target=_self_attr(agent_attr))],
                    value=_call(LOAD_AGENT, cst.Name(assign.value.value)),
                )
            ]
        )
        return cst.FlattenSentinel([updated_node, load])

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        if id(original_node) not in self._local_paths:
            return updated_node
        rewriter = _AnnotationToStr(self.bindings)
        rewriter.depth = 1
        annotation = updated_node.annotation.visit(rewriter)
        self.counted(rewriter.count)
        return updated_node.with_changes(annotation=annotation)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        plan = self._plans.pop()
        if plan is None:
            return updated_node
        rewriter = _AnnotationToStr(self.bindings)
        params = updated_node.params.visit(rewriter)
        returns = updated_node.returns.visit(rewriter) if updated_node.returns is not None else None
        self.counted(rewriter.count)
        if plan:
            self.report(
                f"{original_node.name.value}(): {', '.join(sorted(plan))} now hold the checkpoint path (decision "
                "F1); a legacy URI carried a scheme (file://, wandb://), the path does not: check keys built from it"
            )
        return updated_node.with_changes(params=params, returns=returns)

    def _plan(self, node: cst.FunctionDef) -> frozenset[str] | None:
        """The record names of a function when it can be rewritten as a whole, else None."""
        records: set[str] = set()
        containers: set[str] = set()  # list[PolicyRecord], dict[PolicyRecord, float], ...
        for param in all_params(node):
            if param.annotation is None or not self._names_record(param.annotation):
                continue
            if self._direct_record(param.annotation.annotation):
                records.add(param.name.value)
            else:
                containers.add(param.name.value)
        params = frozenset(records)
        returns_record = node.returns is not None and self._names_record(node.returns)
        if not records and not containers and not returns_record:
            return None
        found = collect(node.body, records | containers)
        # A container of records may only be passed on or returned as a whole: its elements would flow
        # into loop variables whose attribute reads nothing here can follow.
        for use in found.uses:
            if use.name.value in containers:
                if not isinstance(use.parent, (cst.Arg, cst.Return)) or use.nested_scope:
                    return None
        # Simple aliases `pr = policy_record` (assigned once) are records too.
        aliases = {a for a in map(_alias_target, found.uses) if a is not None}
        if aliases:
            records |= aliases
            found = collect(node.body, records | containers)
        found.uses = [u for u in found.uses if u.name.value in records]
        if any(self._produces_record(call) for call in found.calls):
            return None
        local_paths: set[int] = set()
        for assign in found.ann_assigns:
            if self._names_record(assign.annotation):
                if not _holds_selected_paths(assign.value):
                    return None
                local_paths.add(id(assign))  # `x: list[PolicyRecord] = select_checkpoints(...)`: paths
        self._local_paths |= local_paths
        approved = self._approved()
        if returns_record and any(_reads_self(r, approved) for r in found.returns):
            return None  # returns something kept on the object (a record the class still holds)
        policy_reads = 0
        aliases_seen: set[str] = set()
        for use in found.uses:
            if use.nested_scope:
                return None
            parent = use.parent
            if isinstance(parent, cst.Attribute) and parent.value is use.name:
                if use.is_target(parent):
                    return None
                if parent.attr.value == "policy":
                    policy_reads += 1
                    if any(isinstance(a, _LOOPS) for a in use.ancestors):
                        return None  # a load per iteration: the legacy record loaded once
                continue
            alias = _alias_target(use)
            if alias is not None:
                if alias in aliases_seen:
                    return None
                aliases_seen.add(alias)
                continue
            if use.is_target():
                if use.name.value in params:
                    return None  # a record parameter rebound to something else
                continue  # an alias's own assignment (counted below)
            if _stored_on_object(use, approved):
                return None
        if policy_reads > 1:
            return None  # one load per read would hand out different agent objects
        # An alias must not be assigned anywhere else either.
        for alias in aliases_seen:
            targets = [u for u in found.uses if u.name.value == alias and u.is_target()]
            if len(targets) > 1:
                return None
        return frozenset(records)

    def _direct_record(self, annotation: cst.BaseExpression) -> bool:
        """``PolicyRecord``, ``PolicyRecord | None``, ``Optional[PolicyRecord]``: the value is one record."""
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            sides = [annotation.left, annotation.right]
            records = [side for side in sides if not (isinstance(side, cst.Name) and side.value == "None")]
            return len(records) == 1 and self._direct_record(records[0])
        if isinstance(annotation, cst.Subscript) and isinstance(annotation.value, cst.Name):
            if annotation.value.value == "Optional" and len(annotation.slice) == 1:
                inner = annotation.slice[0].slice
                return isinstance(inner, cst.Index) and self._direct_record(inner.value)
            return False
        return self._is_record_class(annotation)

    def _names_record(self, node: cst.CSTNode) -> bool:
        return names_record(node, self.bindings)

    def _produces_record(self, call: cst.Call) -> bool:
        func = call.func
        if self.bindings.resolve(func) is not None and self.bindings.resolve(func).name in RECORD_CLASSES:  # type: ignore[union-attr]
            return True
        if isinstance(func, cst.Attribute):
            if func.attr.value in RECORD_PRODUCERS:
                return True
            owner = self.bindings.resolve(func.value)
            if owner is not None and owner.name in RECORD_CLASSES:
                # This rule rewrites the mock factory itself: counting it would make a second run differ.
                return func.attr.value != "from_key_and_version"
        return False

    # --- uses ---------------------------------------------------------------------------------------

    def _current(self) -> frozenset[str]:
        plan = self._plans[-1] if self._plans else None
        return plan or frozenset()

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        approved = self._approved()
        value = original_node.value
        attr = original_node.attr.value
        if approved and self._plans and self_attribute(value) in approved:
            holder = self_attribute(value)
            if attr == "policy" and approved[holder] is not None:  # type: ignore[index]
                self.counted()
                return _self_attr(approved[holder])  # type: ignore[index, arg-type]
            if attr == "uri":
                self.counted()
                return updated_node.value
            if attr == "metadata":
                self.counted()
                self.import_target(READ_METADATA)
                return _call(READ_METADATA, updated_node.value)
        if (
            approved
            and isinstance(value, cst.Attribute)
            and value.attr.value == "metadata"
            and self_attribute(value.value) in approved
            and attr not in DICT_METHODS
        ):
            return cst.Subscript(
                value=updated_node.value,
                slice=[cst.SubscriptElement(slice=cst.Index(value=cst.SimpleString(f'"{attr}"')))],
            )
        records = self._current()
        if not records:
            return updated_node
        if isinstance(value, cst.Name) and value.value in records:
            if attr == "uri":
                self.counted()
                return updated_node.value
            if attr == "policy":
                self.counted()
                self.import_target(LOAD_AGENT)
                return _call(LOAD_AGENT, updated_node.value)
            if attr == "metadata":
                self.counted()
                self.import_target(READ_METADATA)
                return _call(READ_METADATA, updated_node.value)
            message = RECORD_READS.get(attr, "the record is now the checkpoint path: decide what is meant")
            self.todo(
                f"{value.value}.{attr}: {message} ({value.value} is the checkpoint path now, decision F1)"
            )
            return updated_node
        if (
            isinstance(value, cst.Attribute)
            and value.attr.value == "metadata"
            and isinstance(value.value, cst.Name)
            and value.value.value in records
            and attr not in DICT_METHODS
        ):
            return cst.Subscript(
                value=updated_node.value,
                slice=[cst.SubscriptElement(slice=cst.Index(value=cst.SimpleString(f'"{attr}"')))],
            )
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        args = original_node.args
        positional = [a for a in args if a.keyword is None and not a.star]
        # cast(PolicyRecord, x) -> x
        if (
            isinstance(func, cst.Name)
            and func.value == "cast"
            and len(args) == 2
            and len(positional) == 2
            and self._is_record_class(args[0].value)
        ):
            self.counted()
            RemoveImportsVisitor.remove_unused_import(self.context, "typing", "cast")
            return updated_node.args[1].value
        # MockPolicyRecord.from_key_and_version(k, v) -> make_test_checkpoint(k, v)
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "from_key_and_version"
            and self.bindings.is_legacy(func.value, "MockPolicyRecord")
            and len(args) == 2
            and len(positional) == 2
        ):
            self.counted()
            self.add_needed_import(f"{self.target_module}.compat", TEST_HELPER)
            return updated_node.with_changes(func=cst.Name(TEST_HELPER))
        return updated_node

    def _is_record_class(self, node: cst.BaseExpression) -> bool:
        symbol = self.bindings.resolve(node)
        return symbol is not None and symbol.name in RECORD_CLASSES


def _holds_selected_paths(value: cst.BaseExpression | None) -> bool:
    """``select_checkpoints(...)`` (already rewritten from ``policy_records``), or a list/dict comprehension
    of such calls: the value is paths, whatever record annotation it still carries."""
    if isinstance(value, cst.DictComp):
        value = value.value
    elif isinstance(value, cst.ListComp):
        value = value.elt
    return (
        isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == SELECT_PATHS
    )


def _call(name: str, argument: cst.BaseExpression) -> cst.Call:
    return cst.Call(func=cst.Name(name), args=[cst.Arg(value=argument)])


def _alias_target(use: Use) -> str | None:
    """``a`` when the use is the value of ``a = name`` (one Name target)."""
    if len(use.ancestors) < 1:
        return None
    parent = use.parent
    if isinstance(parent, cst.Assign) and parent.value is use.name and len(parent.targets) == 1:
        target = parent.targets[0].target
        if isinstance(target, cst.Name):
            return target.value
    return None


def _stored_on_object(use: Use, approved: dict[str, str | None]) -> bool:
    """``self.x = rec`` / ``obj.x = rec`` / ``d[k] = rec``: the record escapes into an object (unless
    ``self.x`` is a record attribute the class-level analysis approved)."""
    parent = use.parent
    if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is use.name:
        targets = parent.targets if isinstance(parent, cst.Assign) else [parent]
        return any(
            not isinstance(t.target, cst.Name) and self_attribute(t.target) not in approved for t in targets
        )
    return False


def _agent_attribute(attr: str) -> str:
    """``_policy_pr`` -> ``_policy_agent``: where the loaded agent of a record attribute is kept."""
    for suffix in ("_policy_record", "_record", "_pr"):
        if attr.endswith(suffix) and len(attr) > len(suffix):
            return attr[: -len(suffix)] + "_agent"
    return attr + "_agent"


def _self_attr(name: str) -> cst.Attribute:
    return cst.Attribute(value=cst.Name("self"), attr=cst.Name(name))


def _reads_self(node: cst.Return, approved: dict[str, str | None]) -> bool:
    if node.value is None:
        return False
    if self_attribute(node.value) in approved:
        return False  # an approved record attribute: the path
    return bool(collect(node.value, {"self"}).uses)


class _AnnotationToStr(FastTransformer):
    """Inside annotations only: a name resolving to a record class becomes ``str``."""

    def __init__(self, bindings: object) -> None:
        self.bindings = bindings
        self.depth = 0
        self.count = 0

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self.depth += 1

    def leave_Annotation(self, original_node: cst.Annotation, updated_node: cst.Annotation) -> cst.Annotation:
        self.depth -= 1
        return updated_node

    def _is_record(self, node: cst.CSTNode) -> bool:
        symbol = self.bindings.resolve(node)  # type: ignore[attr-defined]
        return symbol is not None and symbol.name in RECORD_CLASSES

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if self.depth and self._is_record(original_node):
            self.count += 1
            return cst.Name("str")
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if self.depth and self._is_record(original_node):
            self.count += 1
            return cst.Name("str")
        return updated_node


class _CastOrMockHolders(FunctionScopedVisitor):
    """Ids of the functions (with their enclosing ones) holding a ``cast(...)`` or ``X.from_key_and_version(...)``
    call."""

    def __init__(self) -> None:
        super().__init__()
        self.functions: set[int] = set()

    def see(self, node: cst.CSTNode, kind: type[cst.CSTNode]) -> None:
        if kind is cst.Call and self.stack:
            func = node.func  # type: ignore[attr-defined]
            if (type(func) is cst.Name and func.value == "cast") or (
                type(func) is cst.Attribute and func.attr.value == "from_key_and_version"
            ):
                self.functions.update(self.stack)
