"""The precise pass of `simple-ckpt check` over one Python source: find legacy references by import source.

Built on the standard library's ``ast`` (an order of magnitude faster than libcst, and check never
rewrites anything). Names are resolved through the imports of the scope they are used in (module,
function and class scopes, with function-local and ``TYPE_CHECKING`` imports, aliases, ``import a.b``
attribute chains, star and relative imports), so a local class that happens to be called
``MockPolicyRecord`` is not legacy, and neither is code inside comments or strings (except string
annotations, which are parsed). Legacy methods are recognised on receivers whose legacy kind is known:
a variable bound from a legacy constructor, factory or method, a parameter or variable annotated with a
legacy class, a ``self`` attribute assigned from one of those, or an identifier that is itself legacy
(``policy_store``, ``policy_record``). Everything comes from the legacy table.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

from codemods.findings import Finding
from codemods.legacy_table import LegacyModule, LegacySymbol, LegacyTable
from codemods.markers import TODO_TAG
from codemods.prefilter import minimal_words, trie_regex

_CONTAINERS = frozenset({"list", "List", "Sequence", "Iterable", "Iterator", "set", "Set", "tuple", "Tuple"})
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_comment"})
_UNIONS = frozenset({"Optional", "Union", "Annotated", "Final", "ClassVar"})


@dataclass
class _Binding:
    """What a local name stands for: an imported dotted name, and/or a value of a legacy kind."""

    qname: str | None = None
    kind: str | None = None


_SHADOW = _Binding()


@dataclass
class _Scope:
    kind: str  # "module" | "function" | "class"
    names: dict[str, _Binding] = field(default_factory=dict)
    self_name: str | None = None  # the first parameter of a method
    self_attrs: dict[str, str] | None = None  # kinds of self.<attr>, for a class scope


class LegacyReferenceFinder(ast.NodeVisitor):
    """Collect the legacy references of one module (see the module docstring for what is resolved)."""

    def __init__(self, table: LegacyTable, path: str, lines: list[str]) -> None:
        self.table = table
        self.path = path
        self.lines = lines
        self.findings: list[Finding] = []
        self._scopes: list[_Scope] = []
        self._stmts: list[ast.stmt | ast.excepthandler] = []
        self._call_func: ast.expr | None = None  # the callee being visited, to tell `x.f()` from `x.f`
        self._in_annotation = 0
        self._text_pattern = _text_pattern(table)
        self._location: tuple[int, int] | None = None
        self._all_strings: list[ast.Constant] = []
        self._cell_exports: dict[str, str] = {}
        self._package = tuple(PurePath(path).parent.parts)
        known = set(table.deleted_modules) | set(table.modules)
        self._known_modules = sorted(known, key=len, reverse=True)

    # --- entry -------------------------------------------------------------------------------------------

    def run(self, tree: ast.Module) -> list[Finding]:
        scope = _Scope("module")
        self._scopes.append(scope)
        self._prescan(tree.body, scope)
        self._cell_exports = self._marimo_cell_imports(tree)
        for stmt in tree.body:
            self.visit(stmt)
        for constant in self._all_strings:
            binding = scope.names.get(constant.value)
            symbol = self._symbol(binding.qname) if binding and binding.qname else None
            if symbol is not None and not symbol.ambiguous:
                self._report(constant, "SC006", f"`{constant.value}` exported in __all__: {symbol.why}")
        self._scopes.pop()
        return self.findings

    def _marimo_cell_imports(self, tree: ast.Module) -> dict[str, str]:
        """Names a marimo cell imports: other cells receive them as parameters of the same name (M1)."""
        exports: dict[str, str] = {}
        for stmt in tree.body:
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) or not _is_marimo_cell(stmt):
                continue
            cell = _Scope("function")
            for node in ast.walk(stmt):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        self._bind_import(alias, cell)
                elif isinstance(node, ast.ImportFrom):
                    for alias in node.names:
                        self._bind_from(node, self._from_module(node), alias, cell)
            exports.update({name: b.qname for name, b in cell.names.items() if b.qname})
        return exports

    # --- scopes and resolution ---------------------------------------------------------------------------

    def _prescan(self, body: list[ast.stmt], scope: _Scope) -> None:
        """Bind the imports and def/class names of a scope before visiting it (uses may precede them)."""
        for stmt in body:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    self._bind_import(alias, scope)
            elif isinstance(stmt, ast.ImportFrom):
                module = self._from_module(stmt)
                for alias in stmt.names:
                    self._bind_from(stmt, module, alias, scope)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                scope.names[stmt.name] = _SHADOW
            else:
                for child_body in _child_bodies(stmt):
                    self._prescan(child_body, scope)

    def _lookup(self, name: str) -> _Binding | None:
        current = self._scopes[-1]
        if name in current.names:
            return current.names[name]
        for scope in reversed(self._scopes[:-1]):
            if scope.kind == "class":
                continue  # class bodies are not enclosing scopes of their methods
            if name in scope.names:
                return scope.names[name]
        return None

    def _bind(self, name: str, binding: _Binding) -> None:
        self._scopes[-1].names[name] = binding

    def _qualified(self, node: ast.expr) -> str | None:
        """The dotted import path an expression names (``ps.PolicyStore`` -> ``metta...PolicyStore``)."""
        if isinstance(node, ast.Name):
            binding = self._lookup(node.id)
            return binding.qname if binding else None
        if isinstance(node, ast.Attribute):
            base = self._qualified(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def _symbol(self, qname: str | None) -> LegacySymbol | None:
        return self.table.by_qualified_name().get(qname) if qname else None

    def _self_attrs(self) -> dict[str, str] | None:
        """The self-attribute kinds of the class whose method is being visited, if any."""
        scope = self._scopes[-1]
        if scope.kind != "function" or scope.self_name is None or len(self._scopes) < 2:
            return None
        return self._scopes[-2].self_attrs

    def _kind(self, node: ast.expr | None) -> str | None:
        """The legacy kind of the value of an expression (store, record, ...), when it is known."""
        if node is None:
            return None
        if isinstance(node, ast.Name):
            binding = self._lookup(node.id)
            if binding is not None and (binding.kind or binding.qname):
                return binding.kind
            return self.table.identifier_kinds.get(node.id.lstrip("_"))
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == self._scopes[-1].self_name:
                attrs = self._self_attrs()
                if attrs and node.attr in attrs:
                    return attrs[node.attr]
            base = self._kind(node.value)
            method = self.table.method(node.attr, base) if base else None
            if method is not None and not method.call:
                return method.returns
            return self.table.identifier_kinds.get(node.attr.lstrip("_"))
        if isinstance(node, ast.Call):
            return self._call_kind(node)
        if isinstance(node, ast.Subscript):
            base = self._kind(node.value)
            return "record" if base in ("records", "checkpoint_result") else None
        if isinstance(node, ast.IfExp):
            return self._kind(node.body) or self._kind(node.orelse)
        if isinstance(node, ast.BoolOp):
            return next((k for k in map(self._kind, node.values) if k), None)
        if isinstance(node, ast.NamedExpr):
            return self._kind(node.value)
        return None

    def _call_kind(self, node: ast.Call) -> str | None:
        func = node.func
        symbol = self._symbol(self._qualified(func))
        if symbol is not None:
            if symbol.legacy_when is not None and not self._legacy_call(node, symbol):
                return None
            return symbol.produces
        if isinstance(func, ast.Attribute):
            owner = self._symbol(self._qualified(func.value))
            if owner is not None and not owner.ambiguous:
                return owner.produces  # a classmethod: PolicyStore.create, TrainerCheckpoint.load, ...
            base = self._kind(func.value)
            method = self.table.method(func.attr, base) if base else None
            if method is None:
                method = self.table.distinctive_methods.get(func.attr)
            return method.returns if method else None
        return None

    def _annotation_kind(self, node: ast.expr | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            parsed = _parse_string_annotation(node.value)
            return self._annotation_kind(parsed) if parsed is not None else None
        if isinstance(node, (ast.Name, ast.Attribute)):
            symbol = self._symbol(self._qualified(node))
            return symbol.produces if symbol and not symbol.ambiguous else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._annotation_kind(node.left) or self._annotation_kind(node.right)
        if isinstance(node, ast.Subscript):
            outer = (
                node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
            )
            inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            kinds = [k for k in map(self._annotation_kind, inner) if k]
            if not kinds:
                return None
            if outer in _UNIONS:
                return kinds[0]
            if outer in _CONTAINERS and kinds[0] == "record":
                return "records"
        return None

    def _legacy_call(self, node: ast.Call, symbol: LegacySymbol) -> bool:
        assert symbol.legacy_when is not None
        keywords = {kw.arg for kw in node.keywords if kw.arg}
        positional = sum(1 for arg in node.args if not isinstance(arg, ast.Starred))
        return symbol.legacy_when.call_is_legacy(keywords, positional)  # type: ignore[arg-type]

    # --- imports -----------------------------------------------------------------------------------------

    def _normalise_module(self, dotted: str) -> str:
        """Map a relative import resolved against the file's directory onto a known legacy module path."""
        for known in self._known_modules:
            if dotted == known or dotted.endswith("." + known):
                return known
            prefix_end = dotted.find("." + known + ".")
            if prefix_end >= 0:
                return dotted[prefix_end + 1 :]
        return dotted

    def _from_module(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = self._package[: len(self._package) - (node.level - 1)] if node.level > 1 else self._package
        dotted = ".".join(p for p in parts if p not in ("/", "")) + (f".{node.module}" if node.module else "")
        return dotted

    def _bind_import(self, alias: ast.alias, scope: _Scope) -> None:
        if alias.asname:
            scope.names[alias.asname] = _Binding(qname=alias.name)
        else:
            top = alias.name.split(".", 1)[0]
            scope.names[top] = _Binding(qname=top)

    def _bind_from(self, node: ast.ImportFrom, module: str, alias: ast.alias, scope: _Scope) -> None:
        # Only relative imports are mapped onto known module paths: an absolute import is what it says.
        normalise = self._normalise_module if node.level else _identity
        if alias.name == "*":
            normal = normalise(module)
            for symbol in self.table.symbols:
                if normal in symbol.modules:
                    scope.names[symbol.name] = _Binding(qname=f"{normal}.{symbol.name}")
            return
        full = normalise(f"{module}.{alias.name}" if module else alias.name)
        scope.names[alias.asname or alias.name] = _Binding(qname=full)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind_import(alias, self._scopes[-1])
            legacy = self.table.deleted_module_of(alias.name)
            if legacy is not None:
                self._report(alias, "SC001", f"legacy module {alias.name} imported: {legacy.why}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = self._from_module(node)
        normal = self._normalise_module(module) if node.level else module
        for alias in node.names:
            self._bind_from(node, module, alias, self._scopes[-1])
            if alias.name == "*":
                legacy = self.table.deleted_module_of(normal)
                if legacy is not None:
                    self._report(alias, "SC001", f"star import from legacy module {normal}: {legacy.why}")
                continue
            full = self._scopes[-1].names[alias.asname or alias.name].qname or ""
            symbol = self._symbol(full)
            if symbol is not None:
                if not symbol.ambiguous:
                    self._report(alias, "SC001", f"`{symbol.name}` imported from {normal}: {_advice(symbol)}")
                continue
            legacy = self.table.deleted_module_of(full) or self.table.deleted_module_of(normal)
            if legacy is not None:
                self._report(
                    alias, "SC001", f"`{alias.name}` imported from legacy module {legacy.name}: {legacy.why}"
                )

    # --- statements that open scopes or bind kinds ---------------------------------------------------------

    # Dispatch and child iteration are hand-rolled: on a large tree this visitor is the hot loop, and
    # ast.NodeVisitor's per-node getattr and its visits of context/operator nodes double its cost.
    _dispatch: dict[type, Callable[[LegacyReferenceFinder, ast.AST], None]] = {}

    def visit(self, node: ast.AST) -> None:
        cls = node.__class__
        method = self._dispatch.get(cls)
        if method is None:
            method = getattr(
                LegacyReferenceFinder, "visit_" + cls.__name__, LegacyReferenceFinder.generic_visit
            )
            self._dispatch[cls] = method
        if isinstance(node, (ast.stmt, ast.excepthandler)):  # `except X:` has its own line and marker
            self._stmts.append(node)
            try:
                method(self, node)
            finally:
                self._stmts.pop()
        else:
            method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        visit = self.visit
        for name in node._fields:
            if name in _SKIPPED_FIELDS:
                continue
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item)
            elif isinstance(value, ast.AST):
                visit(value)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        args = node.args
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.visit(default)
        all_args = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        all_args += [a for a in (args.vararg, args.kwarg) if a is not None]
        for arg in all_args:
            self._visit_annotation(arg.annotation)
            keyword = self.table.keyword_by_name.get(arg.arg)
            if keyword is not None:
                self._report(arg, "SC004", f"parameter `{arg.arg}`: {keyword.why}")
        self._visit_annotation(node.returns)
        enclosing = self._scopes[-1]
        scope = _Scope("function")
        positional = [*args.posonlyargs, *args.args]
        is_static = any(_decorator_name(d) == "staticmethod" for d in node.decorator_list)
        if enclosing.kind == "class" and positional and not is_static:
            scope.self_name = positional[0].arg
        is_cell = enclosing.kind == "module" and _is_marimo_cell(node)
        for arg in all_args:
            kind = self._annotation_kind(arg.annotation)
            scope.names[arg.arg] = _Binding(kind=kind)
            exported = self._cell_exports.get(arg.arg) if is_cell else None
            symbol = self._symbol(exported)
            if exported is not None and (symbol is None or not symbol.ambiguous):
                scope.names[arg.arg] = _Binding(qname=exported)
                if symbol is not None:
                    self._report(arg, "SC002", f"`{arg.arg}` received from a marimo cell: {_advice(symbol)}")
        self._scopes.append(scope)
        if self._body_may_matter(node):
            self._prescan(node.body, scope)
            for stmt in node.body:
                self.visit(stmt)
        self._scopes.pop()

    def _body_may_matter(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """False when a function body provably holds no legacy reference, so it need not be visited.

        A reference in the body needs either a word of the prefilter (legacy names, module leaves,
        distinctive methods, legacy identifiers, the TODO tag) or a name that some enclosing scope binds
        to a legacy object or alias (``store``, ``Store = PolicyStore``, ``self.store``). Skipping the
        plain functions of a candidate file halves the cost of the precise pass on real trees."""
        first, last = node.body[0].lineno, node.end_lineno or node.body[-1].lineno
        text = "\n".join(self.lines[first - 1 : last])
        if self._text_pattern.search(text) is not None:
            return True
        interesting: set[str] = set(self._cell_exports)
        for scope in self._scopes:
            for name, binding in scope.names.items():
                if binding.kind is not None or (binding.qname is not None and self._symbol(binding.qname)):
                    interesting.add(name)
            if scope.self_attrs:
                interesting.update(scope.self_attrs)
        return bool(interesting) and not interesting.isdisjoint(_WORD.findall(text))

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
            self.visit(default)
        scope = _Scope("function")
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            scope.names[arg.arg] = _SHADOW
        self._scopes.append(scope)
        self.visit(node.body)
        self._scopes.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(kw.value for kw in node.keywords)]:
            self.visit(expr)
        scope = _Scope("class", self_attrs={})
        self._scopes.append(scope)
        self._prescan(node.body, scope)
        for stmt in node.body:
            self.visit(stmt)
        self._scopes.pop()

    def _assign_target(self, target: ast.expr, kind: str | None, qname: str | None = None) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, _Binding(qname=qname, kind=kind))
            scope = self._scopes[-1]
            if scope.self_attrs is not None and kind is not None:  # a class-level field: self.<name>
                scope.self_attrs[target.id] = kind
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                sub = "record" if kind == "checkpoint_result" and index == 0 else None
                self._assign_target(element.value if isinstance(element, ast.Starred) else element, sub)
            return
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            attrs = self._self_attrs()
            if attrs is not None and target.value.id == self._scopes[-1].self_name and kind is not None:
                attrs[target.attr] = kind
        self.visit(target)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        self._collect_all(node.targets, node.value)
        kind = self._kind(node.value)
        # `Store = PolicyStore` / `pm = policy_management`: the alias resolves like the original.
        qname = self._qualified(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
        for target in node.targets:
            self._assign_target(target, kind, qname)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self._collect_all([node.target], node.value)
        self.visit(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._visit_annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self._collect_all([node.target], node.value)
        kind = self._annotation_kind(node.annotation) or self._kind(node.value)
        self._assign_target(node.target, kind)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target.id, _Binding(kind=self._kind(node.value)))

    def _visit_for(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._assign_target(node.target, "record" if self._kind(node.iter) == "records" else None)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_For = _visit_for
    visit_AsyncFor = _visit_for

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)
        self._assign_target(node.target, "record" if self._kind(node.iter) == "records" else None)
        for condition in node.ifs:
            self.visit(condition)

    def _visit_comprehension_expr(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        for generator in node.generators:
            self.visit(generator)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)

    visit_ListComp = _visit_comprehension_expr
    visit_SetComp = _visit_comprehension_expr
    visit_GeneratorExp = _visit_comprehension_expr
    visit_DictComp = _visit_comprehension_expr

    def _collect_all(self, targets: list[ast.expr], value: ast.expr) -> None:
        if len(self._scopes) != 1 or not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return
        if isinstance(value, (ast.List, ast.Tuple)):
            self._all_strings.extend(
                e for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )

    # --- uses ---------------------------------------------------------------------------------------------

    def _visit_annotation(self, node: ast.expr | None) -> None:
        if node is None:
            return
        self._in_annotation += 1
        try:
            self.visit(node)
        finally:
            self._in_annotation -= 1

    def visit_Constant(self, node: ast.Constant) -> None:
        if not self._in_annotation or not isinstance(node.value, str):
            return
        parsed = _parse_string_annotation(node.value)
        if parsed is None:
            return
        outer = self._location
        self._location = outer or (node.lineno, node.col_offset)
        try:
            self.visit(parsed)
        finally:
            self._location = outer

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.visit(node.value)
        # Literal["..."] holds values, not forward references.
        if self._in_annotation and _subscript_name(node) == "Literal":
            self._in_annotation -= 1
            try:
                self.visit(node.slice)
            finally:
                self._in_annotation += 1
        else:
            self.visit(node.slice)

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        binding = self._lookup(node.id)
        symbol = self._symbol(binding.qname) if binding else None
        if symbol is not None and not symbol.ambiguous:
            self._report(node, "SC002", f"`{symbol.name}` used: {_advice(symbol)}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        symbol = self._symbol(self._qualified(node))
        if symbol is not None:
            if not symbol.ambiguous:
                self._report(node, "SC002", f"`{self._qualified(node)}` used: {_advice(symbol)}")
            return
        is_call = node is self._call_func
        kind = self._kind(node.value)
        method = self.table.method(node.attr, kind) if kind else None
        if method is not None and (is_call or not method.call):
            shape = f".{node.attr}()" if is_call else f".{node.attr}"
            self._report_attr(node, "SC003", f"`{shape}` on a legacy {kind}: {method.why}")
        elif is_call and node.attr in self.table.distinctive_methods:
            distinctive = self.table.distinctive_methods[node.attr]
            self._report_attr(
                node, "SC003", f"`.{node.attr}()` exists only in the legacy API: {distinctive.why}"
            )
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        symbol = self._symbol(self._qualified(node.func))
        legacy_ctor = symbol is not None and symbol.ambiguous and self._legacy_call(node, symbol)
        if legacy_ctor:
            assert symbol is not None
            self._report(node, "SC005", f"legacy `{symbol.name}(...)` call: {symbol.why}")
        if not legacy_ctor:
            for keyword in node.keywords:
                legacy_kw = self.table.keyword_by_name.get(keyword.arg or "")
                if legacy_kw is not None:
                    self._report(keyword, "SC004", f"keyword `{keyword.arg}=`: {legacy_kw.why}")
        self._call_func = node.func
        self.visit(node.func)
        self._call_func = None
        if _is_cast(node) and node.args:
            self._visit_annotation(node.args[0])
            rest = node.args[1:]
        else:
            rest = node.args
        for arg in rest:
            name = _identifier(arg)
            legacy_kw = self.table.keyword_by_name.get(name) if name and not legacy_ctor else None
            if legacy_kw is not None:
                self._report(arg, "SC004", f"`{name}` passed positionally: {legacy_kw.why}")
            self.visit(arg)
        for keyword in node.keywords:
            self.visit(keyword.value)

    # --- reporting ------------------------------------------------------------------------------------------

    def _report(self, node: ast.AST, rule: str, message: str) -> None:
        if self._location is not None:
            line, col = self._location
        else:
            line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        self._add(line, col, rule, message)

    def _report_attr(self, node: ast.Attribute, rule: str, message: str) -> None:
        if self._location is not None or node.end_lineno is None or node.end_col_offset is None:
            self._report(node, rule, message)
            return
        self._add(node.end_lineno, node.end_col_offset - len(node.attr.encode()), rule, message)

    def _add(self, line: int, byte_col: int, rule: str, message: str) -> None:
        start, end = _header_span(self._stmts[-1], self.lines) if self._stmts else (line, line)
        self.findings.append(
            Finding(self.path, line, self._char_col(line, byte_col) + 1, rule, message, start, end)
        )

    def _char_col(self, line: int, byte_col: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEXT_PATTERNS: dict[int, tuple[LegacyTable, re.Pattern[str]]] = {}


def _text_pattern(table: LegacyTable) -> re.Pattern[str]:
    """The prefilter's words as a str regex (compiled once per table)."""
    cached = _TEXT_PATTERNS.get(id(table))
    if cached is None or cached[0] is not table:
        words = minimal_words(set(table.prefilter_words) | {TODO_TAG})
        cached = (table, re.compile(trie_regex(words)))
        _TEXT_PATTERNS[id(table)] = cached
    return cached[1]


def _identity(dotted: str) -> str:
    return dotted


def _advice(symbol: LegacySymbol) -> str:
    if symbol.action == "rewrite" and symbol.becomes:
        return f"becomes {symbol.becomes} ({symbol.why})"
    return symbol.why


def _child_bodies(stmt: ast.stmt | ast.excepthandler) -> list[list[ast.stmt]]:
    bodies: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            bodies.append(value)
    for handler in getattr(stmt, "handlers", ()):
        bodies.append(handler.body)
    for case in getattr(stmt, "cases", ()):
        bodies.append(case.body)
    return bodies


def _header_span(stmt: ast.stmt | ast.excepthandler, lines: list[str]) -> tuple[int, int]:
    """First and last line of a statement's own text (a compound statement's header, not its body, nor
    the comments that open its body)."""
    start = stmt.lineno
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.decorator_list:
        start = min(start, *(d.lineno for d in stmt.decorator_list))
    bodies = _child_bodies(stmt)
    if not bodies:
        return start, stmt.end_lineno or stmt.lineno
    end = bodies[0][0].lineno - 1
    while end > stmt.lineno and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return start, max(stmt.lineno, end)


def _parse_string_annotation(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_marimo_cell(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "cell":
            return True
    return False


def _subscript_name(node: ast.Subscript) -> str:
    return _decorator_name(node.value)


def _identifier(node: ast.expr) -> str | None:
    """``x`` for ``x`` and ``self.x`` (argument values named like a legacy identifier)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr.lstrip("_")
    return None


def _is_cast(node: ast.Call) -> bool:
    return _decorator_name(node.func) == "cast"


def legacy_module_of_file(table: LegacyTable, path: str) -> LegacyModule | None:
    """The deleted legacy module a file is, judged by its path (``.../metta/agent/policy_store.py``)."""
    stem, dot, suffix = os.path.basename(path).rpartition(".")
    if (
        not dot
        or suffix not in ("py", "pyi")
        or (stem not in table.deleted_module_leaves and stem != "__init__")
    ):
        return None  # the fast answer for almost every file
    pure = PurePath(path)
    parts = list(pure.parent.parts) if stem == "__init__" else [*pure.parent.parts, stem]
    dotted = ".".join(parts)
    for module in sorted(table.legacy_modules, key=lambda m: len(m.name), reverse=True):
        if dotted == module.name or dotted.endswith("." + module.name):
            return module
    return None


def find_references(table: LegacyTable, path: str, source: str, tree: ast.Module) -> list[Finding]:
    """Every legacy reference in a parsed module (TODO markers are applied by the caller)."""
    finder = LegacyReferenceFinder(table, path, source.splitlines())
    findings = finder.run(tree)
    module = legacy_module_of_file(table, path)
    if module is not None:
        findings.insert(
            0, Finding(path, 1, 1, "SC007", f"this file is the legacy module {module.name}: {module.why}")
        )
    return findings
