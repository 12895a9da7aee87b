"""Apply every codemod rule to a tree of files: one parse per file, post-conditions, atomic writes.

Per file: read bytes -> text prefilter (files that cannot mention the legacy API are never parsed) ->
decode UTF-8 -> parse once -> every rule of ``codemods.rules.REGISTRY`` over the same tree with one
CodemodContext -> imports finished once -> post-conditions on the result:

- it parses; running the rules again changes nothing (idempotent);
- it has no undefined name the input did not have (a symtable pass: fast, compiled);
- nothing is called on a SimpleCheckpointManager that the manager does not have.

If a post-condition fails the file falls back to TODO-only output (only the marking rule, which cannot
break code) and the reason is reported. Files defining the legacy classes themselves (§1.1 of the spec)
are not rewritten but listed for deletion. Writes are atomic (temp file in the same directory, fsync,
os.replace, fsync of the directory), so an interrupted run leaves each file either fully rewritten or
untouched, and a rerun completes the rest. ``--jobs N`` runs files in N worker processes.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import gc
import re
import symtable
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext

from codemods.legacy_table import LegacyWhen, load_table
from codemods.markers import TODO_PATTERN
from codemods.prefilter import default_prefilter
from codemods.rules import REGISTRY
from codemods.rules._base import TARGET_KEY, TEXT_KEY, stats_of
from codemods.rules._imports import (
    FIRST_PARTY_KEY,
    IMPORT_HOLDERS_KEY,
    ORIGINAL_BINDINGS_KEY,
    finalize_imports,
)
from codemods.rules._resolve import iter_statements, relative_module, scan_bindings
from codemods.rules._shapes import MANAGER_CLASS, MANAGER_METHODS
from codemods.rules.mark_remaining import MarkRemainingLegacy
from codemods.work_list import WorkList, work_list
from codemods.writes import BackgroundWriter, Writer, write_result

_BUILTINS = frozenset(dir(builtins)) | {
    "__file__",
    "__name__",
    "__doc__",
    "__builtins__",
    "__spec__",
    "__path__",
}


@dataclass(frozen=True)
class Options:
    target_module: str = "simple_ckpt"
    write: bool = True
    want_diff: bool = False
    verify: bool = True
    verify_idempotent: bool = False


@dataclass
class FileResult:
    path: str
    changed: bool = False
    error: str | None = None
    diff: str = ""
    rewrites: Counter[str] = field(default_factory=Counter)
    todos: list[str] = field(default_factory=list)
    todos_added: int = 0
    reports: list[str] = field(default_factory=list)
    legacy_internal: list[str] = field(default_factory=list)
    fallback: str | None = None
    legacy_lines_before: int = 0
    legacy_lines_after: int = 0


@dataclass(frozen=True)
class Region:
    """The part of a file the rules saw when it was sliced: its line spans in the input (1-based,
    inclusive: the head, then the relevant top-level statements) and that part rewritten, as a module of
    its own. Everything outside the spans is carried over byte for byte, so the checks that need an
    ``ast`` of the output parse only this part (a fifth of a typical file)."""

    spans: tuple[tuple[int, int], ...]
    after: str

    def holds_line(self, line: int) -> bool:
        return any(start <= line <= end for start, end in self.spans)


@dataclass
class Transformed:
    source: str
    rewrites: Counter[str]
    todos: list[str]
    reports: list[str]
    fallback: str | None = None
    region: Region | None = None


# --- one source string -----------------------------------------------------------------------------------


def transform_source(
    source: str,
    *,
    target_module: str = "simple_ckpt",
    module_name: str | None = None,
    first_party: Iterable[str] = (),
    verify: bool = True,
    verify_idempotent: bool = False,
) -> Transformed:
    """Run every rule over ``source``; raise ``SyntaxError`` (or ``cst.ParserSyntaxError``) if it does not
    parse. Only the import head and the top-level statements that can mention the legacy API are parsed by
    libcst (once); the rest of the file is carried over as text, byte for byte."""
    settings = (target_module, module_name, frozenset(first_party))
    result = _transform(source, settings, REGISTRY)
    if not verify or result.source == source:
        return result
    problem = check_postconditions(
        source,
        result.source,
        target_module,
        module_name,
        first_party,
        idempotent=verify_idempotent,
        region=result.region,
    )
    if problem is None:
        return result
    fallback = _transform(source, settings, (MarkRemainingLegacy,))
    fallback.fallback = problem
    fallback.reports.append(f"fell back to TODO markers only: {problem}")
    if check_postconditions(
        source, fallback.source, target_module, module_name, first_party, region=fallback.region
    ):
        return Transformed(source, Counter(), [], [f"left unchanged: {problem}"], problem)
    return fallback


Settings = tuple[str, "str | None", frozenset[str]]


def _transform(source: str, settings: Settings, rules: Sequence[type]) -> Transformed:
    plan = plan_slice(source, settings[1])
    if plan is not None:
        done = _run_rules_sliced(source, plan, settings, rules)
        if done is not None:
            return done
    return _run_rules(cst.parse_module(source), settings, rules)


@dataclass(frozen=True)
class SlicePlan:
    """Which lines of a file the rules must see: the head (line 1 to the last top-level import, or the
    docstring) and the relevant top-level statements, as 1-based inclusive line spans."""

    head_end: int
    chunks: tuple[tuple[int, int], ...]


@lru_cache(maxsize=8)
def parse_ast(source: str) -> ast.Module:
    """CPython's parse of a source (cached: the driver asks for the same text several times; the trees are
    only read, never changed)."""
    return ast.parse(source)


@cache
def _relevant_words() -> re.Pattern[str]:
    """The prefilter's words as a str regex: a top-level statement without any of them is left alone."""
    return re.compile(default_prefilter().pattern.pattern.decode("utf-8"))


def plan_slice(source: str, module_name: str | None) -> SlicePlan | None:
    """The slice of ``source`` the rules need, from the compiled ``ast`` parser; None when the file
    cannot be sliced safely (then it is processed whole)."""
    try:
        parsed = parse_ast(source)
    except (SyntaxError, ValueError):
        return None
    nodes = parsed.body
    imports = [n for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))]
    if imports:
        head_end = max(n.end_lineno or n.lineno for n in imports)
    elif nodes and isinstance(nodes[0], ast.Expr) and isinstance(nodes[0].value, ast.Constant):
        head_end = nodes[0].end_lineno or nodes[0].lineno
    else:
        head_end = 0
    lines = source.splitlines(keepends=True)
    pattern = _relevant_words()
    names = _ast_legacy_names(parsed, module_name) - {"*"}
    extra = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b") if names else None
    spans: list[list[int]] = []
    for node in nodes:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        end = node.end_lineno or node.lineno
        if start <= head_end:
            if end > head_end:
                return None  # a statement straddles the head's end (e.g. `import a; x = (...)`)
            continue
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)  # statements sharing a line (`a = 1; b = 2`)
        else:
            spans.append([start, end])
    chunks = []
    for start, end in spans:
        text = "".join(lines[start - 1 : end])
        if pattern.search(text) or (extra is not None and extra.search(text)):
            chunks.append((start, end))
    return SlicePlan(head_end, tuple(chunks))


def _ast_legacy_names(tree: ast.Module, module_name: str | None) -> set[str]:
    """Local names bound to legacy symbols or modules by any import statement of the file."""
    table = load_table()
    by_qualified = table.by_qualified_name()
    modules = frozenset(m for symbol in table.symbols for m in symbol.modules)
    found: set[str] = set()
    for node in _ast_statements(tree.body):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = relative_module(module_name, node.level, node.module) or module
                if module not in modules:
                    module = next((m for m in modules if m.endswith("." + module)), module)
            for alias in node.names:
                if f"{module}.{alias.name}" in by_qualified or (alias.name == "*" and module in modules):
                    found.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.add(alias.asname or alias.name.split(".")[0])
    return found


def counts_for_metric(tree: ast.Module, module_name: str | None) -> bool:
    """Does this file use the legacy API at all (so its lines count in the rewritten-lines metric)?

    A file whose only legacy-looking import is a name the refactor kept with a new meaning (the
    post-refactor ``CheckpointManager``) counts only if it calls it the legacy way (§1.4 hazard 1)."""
    names = _ast_legacy_names(tree, module_name)
    if not names:
        return False
    ambiguous: dict[str, LegacyWhen] = {}
    table = load_table()
    for node in _ast_statements(tree.body):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                for symbol in table.symbols:
                    if (
                        symbol.legacy_when is not None
                        and alias.name == symbol.name
                        and node.module in symbol.modules
                    ):
                        ambiguous[alias.asname or alias.name] = symbol.legacy_when
    if names - set(ambiguous):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ambiguous:
            keywords = {k.arg for k in node.keywords if k.arg}
            positional = sum(1 for a in node.args if not isinstance(a, ast.Starred))
            if ambiguous[node.func.id].call_is_legacy(keywords, positional):
                return True
    return False


def _ast_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested blocks included, without walking expressions (imports are statements)."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        for block in ("body", "orelse", "handlers", "finalbody"):
            inner = getattr(node, block, None)
            if isinstance(inner, list):
                stack.extend(reversed(inner))


def _new_context(settings: Settings) -> CodemodContext:
    target_module, module_name, first_party = settings
    context = CodemodContext(full_module_name=module_name)
    context.scratch[TARGET_KEY] = target_module
    context.scratch[FIRST_PARTY_KEY] = first_party
    return context


def _apply_rules(tree: cst.Module, text: str, context: CodemodContext, rules: Sequence[type]) -> cst.Module:
    context.scratch[ORIGINAL_BINDINGS_KEY] = scan_bindings(tree, context.full_module_name)
    context.scratch[TEXT_KEY] = text
    for rule_cls in rules:
        if rule_cls.wants(text):
            tree = rule_cls(context).apply(tree)
    return tree


def _run_rules_sliced(
    source: str, plan: SlicePlan, settings: Settings, rules: Sequence[type]
) -> Transformed | None:
    """Parse only the head and the relevant chunks, rewrite them, and splice them back into the text."""
    if not plan.chunks:
        head_only = plan.head_end == 0
        if head_only:
            return Transformed(source, Counter(), [], [])
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"  # so that chunks never glue together; removed again below
        missing_newline = True
    else:
        missing_newline = False
    head = "".join(lines[: plan.head_end])
    pieces = [head] + ["".join(lines[start - 1 : end]) for start, end in plan.chunks]
    reduced = "".join(pieces)
    try:
        tree = cst.parse_module(reduced)
    except cst.ParserSyntaxError:
        return None
    count = len(plan.chunks)
    if len(tree.body) < count:
        return None
    context = _new_context(settings)
    new = _apply_rules(tree, reduced, context, rules)
    if len(new.body) != len(tree.body):
        return None  # a rule added or removed a top-level statement: process the file whole
    context.scratch[IMPORT_HOLDERS_KEY] = {
        id(statement) for statement in new.body if any(_is_import_line(s) for s in iter_statements(statement))
    }
    new = finalize_imports(new, context)
    head_body = list(new.body[: len(new.body) - count])
    chunk_nodes = new.body[len(new.body) - count :]
    new_head = new.with_changes(body=head_body, footer=()).code if (head_body or plan.head_end) else ""
    out: list[str] = [new_head]
    region_parts: list[str] = [new_head]
    previous_end = plan.head_end
    for (start, end), node in zip(plan.chunks, chunk_nodes, strict=True):
        out.append("".join(lines[previous_end : start - 1]))
        # Chunks start right at their statement; blank lines the import pass put above the first one
        # (a gap after a new import) are already in the text between the head and the chunk.
        own = list(node.leading_lines)
        blanks = 0
        while blanks < len(own) and own[blanks].comment is None:
            blanks += 1
        code = new.code_for_node(node.with_changes(leading_lines=own[blanks:]) if blanks else node)
        out.append(code)
        region_parts.append(code)
        previous_end = end
    out.append("".join(lines[previous_end:]))
    text = "".join(out)
    if not new_head.strip() and plan.head_end:
        text = text[len(new_head) :].lstrip("\r\n")  # the whole head went away: no leading blank lines
    if missing_newline and text.endswith("\n") and not source.endswith("\n"):
        text = text[:-1]
    stats = stats_of(context)
    spans = ((1, plan.head_end),) * bool(plan.head_end) + plan.chunks
    region = Region(spans, "".join(region_parts))
    return Transformed(text, stats["rewrites"], list(stats["todos"]), list(stats["reports"]), region=region)


def _run_rules(tree: cst.Module, settings: Settings, rules: Sequence[type]) -> Transformed:
    """Every rule over the whole module, then the import pass (the fallback of the sliced path)."""
    context = _new_context(settings)
    tree = _apply_rules(tree, tree.code, context, rules)
    tree = finalize_imports(tree, context)
    stats = stats_of(context)
    return Transformed(tree.code, stats["rewrites"], list(stats["todos"]), list(stats["reports"]))


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def check_postconditions(
    before: str,
    after: str,
    target_module: str,
    module_name: str | None,
    first_party: Iterable[str],
    *,
    idempotent: bool = False,
    region: Region | None = None,
) -> str | None:
    """None when ``after`` is acceptable, else a one-line reason.

    Always: it parses (CPython's own parser), no undefined name appears that ``before`` did not have
    (symtable), nothing new is called on a SimpleCheckpointManager that it lacks (ast; of ``region``
    alone when every mention of a manager lies in it). With ``idempotent``: a second run over ``after``
    changes nothing (costs a second pass of every rule)."""
    try:
        after_undefined = _undefined_names_strict(after)  # symtable parses the whole file
    except SyntaxError:
        try:
            parse_ast(after)
        except SyntaxError as exc:
            return f"the rewritten file does not parse ({exc.msg} at line {exc.lineno})"
        after_undefined = set()  # parses, but symtable refuses it: no verdict on names
    new_undefined = after_undefined - undefined_names(before) if after_undefined else set()
    if new_undefined:
        return f"the rewrite would leave undefined names: {', '.join(sorted(new_undefined))}"
    missing: set[str] = set()
    if MANAGER_CLASS in after:
        missing = missing_manager_methods(_manager_check_tree(after, region))
        if missing and MANAGER_CLASS in before:  # (the input's own misses only matter when there are any)
            try:
                missing -= missing_manager_methods(parse_ast(before))
            except SyntaxError:
                pass
    if missing:
        return f"the rewrite would call methods SimpleCheckpointManager lacks: {', '.join(sorted(missing))}"
    if idempotent:
        again = _transform(after, (target_module, module_name, frozenset(first_party)), REGISTRY).source
        if again != after:
            return "a second run would change the file again (not idempotent)"
    return None


def _manager_check_tree(after: str, region: Region | None) -> ast.Module:
    """The tree ``missing_manager_methods`` must see: the rewritten region alone when every mention of
    SimpleCheckpointManager and of each variable holding one lies inside it (the rest of the file is the
    input, byte for byte), else the whole file."""
    if region is None or after.count(MANAGER_CLASS) != region.after.count(MANAGER_CLASS):
        return parse_ast(after)
    try:
        small = parse_ast(region.after)
    except SyntaxError:
        return parse_ast(after)
    for name in manager_names(small):
        word = re.compile(rf"\b{re.escape(name)}\b")
        if len(word.findall(after)) != len(word.findall(region.after)):
            return parse_ast(after)
    return small


def undefined_names(source: str) -> set[str]:
    """Names read somewhere that no scope defines (pyflakes' F821, approximately, via symtable); an empty
    set when the source does not compile."""
    try:
        return _undefined_names_strict(source)
    except SyntaxError:
        return set()


def _undefined_names_strict(source: str) -> set[str]:
    """``undefined_names``, raising SyntaxError when the source does not compile."""
    top = symtable.symtable(source, "<codemod>", "exec")
    module_defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    if any(s.get_name() == "*" for s in top.get_symbols()):
        return set()
    undefined: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        for symbol in table.get_symbols():
            if not symbol.is_referenced():
                continue
            name = symbol.get_name()
            if table is top:
                unresolved = not (symbol.is_assigned() or symbol.is_imported())
            else:
                unresolved = symbol.is_global() and not symbol.is_declared_global()
            if unresolved and name not in module_defined and name not in _BUILTINS:
                undefined.add(name)
    return undefined


def missing_manager_methods(tree: ast.Module) -> set[str]:
    """``name.attr`` reads on a SimpleCheckpointManager (annotated parameter or constructed variable) that
    the manager does not have."""
    managers, reads = _manager_reads(tree)
    return {f"{name}.{attr}" for name, attr in reads if name in managers and attr not in MANAGER_METHODS}


def manager_names(tree: ast.Module) -> set[str]:
    """Variables and parameters holding a SimpleCheckpointManager."""
    return _manager_reads(tree)[0]


def _manager_reads(tree: ast.Module) -> tuple[set[str], list[tuple[str, str]]]:
    managers: set[str] = set()
    reads: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            if isinstance(node.annotation, ast.Name) and node.annotation.id == MANAGER_CLASS:
                managers.add(node.arg)
        elif isinstance(node, ast.Assign):
            value = node.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == MANAGER_CLASS
            ):
                managers.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            reads.append((node.value.id, node.attr))
    return managers, reads


# --- legacy-internal modules and the line metric ---------------------------------------------------------


# Feature-level helpers defined in modules that survive the refactor: reported, not "internal".
_SURVIVING_HELPERS = frozenset({"get_policy_store_from_cfg", "upload_policy_artifact"})
_LEGACY_MANAGER_PARAMS = frozenset({"policy_store", "checkpoint_config", "trainer_cfg", "checkpoint_dir"})


def legacy_definitions(source_tree: ast.Module, module_name: str | None) -> list[str]:
    """Legacy names this file defines at top level, when the file is one of the legacy modules (§1.1).

    The post-refactor ``metta.rl.checkpoint_manager`` defines a new ``CheckpointManager``: it counts only
    when its constructor still takes the legacy parameters."""
    if not module_name:
        return []
    dotted = module_name.removesuffix(".__init__")
    table = load_table()
    owners = {
        symbol.name
        for symbol in table.symbols
        for module in symbol.modules
        if (dotted == module or dotted.endswith("." + module)) and symbol.name not in _SURVIVING_HELPERS
    }
    if not owners:
        return []
    defined = []
    for node in source_tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in owners:
            if node.name == "CheckpointManager" and not _legacy_manager_class(node):
                continue
            defined.append(node.name)
    return defined


def _legacy_manager_class(node: ast.ClassDef | ast.FunctionDef) -> bool:
    for item in getattr(node, "body", []):
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            params = {a.arg for a in [*item.args.args, *item.args.kwonlyargs]}
            return bool(params & _LEGACY_MANAGER_PARAMS)
    return False


def legacy_name_lines(source: str) -> int:
    """How many lines' code (comments and strings excluded) names a legacy symbol: names, attributes,
    imported names and definitions, located with the compiled ``ast`` parser."""
    return len(legacy_name_line_numbers(source))


def legacy_lines_after(transformed: Transformed, lines_before: set[int]) -> int:
    """``legacy_name_lines(transformed.source)``, parsing only the rewritten region: outside it the
    output is the input, whose legacy lines (``lines_before``, numbers in the input) are known."""
    region = transformed.region
    if region is None:
        return legacy_name_lines(transformed.source)
    outside = sum(1 for line in lines_before if not region.holds_line(line))
    return outside + legacy_name_lines(region.after)


def legacy_name_line_numbers(source: str) -> set[int]:
    """The numbers of the lines ``legacy_name_lines`` counts."""
    names = _legacy_symbol_names()
    if not any(name in source for name in names):
        return set()
    try:
        tree = parse_ast(source)
    except SyntaxError:
        return set()
    pattern = _legacy_names_pattern()
    candidates = {n for n, line in enumerate(source.splitlines(), start=1) if pattern.search(line)}
    if not candidates:
        return set()
    # Walk only the top-level statements that span a candidate line (most of a file names nothing legacy).
    statements = [
        node
        for node in tree.body
        if any(line in candidates for line in range(node.lineno, (node.end_lineno or node.lineno) + 1))
    ]
    lines: set[int] = set()
    for node in (inner for statement in statements for inner in ast.walk(statement)):
        if isinstance(node, ast.Name):
            hit = node.id in names
        elif isinstance(node, ast.Attribute):
            hit = node.attr in names
        elif isinstance(node, ast.alias):
            hit = node.name.rpartition(".")[2] in names or node.asname in names
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            hit = node.name in names
        else:
            continue
        if hit:
            lines.add(node.lineno)
    return lines


@cache
def _legacy_names_pattern() -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, _legacy_symbol_names()))) + r")\b")


@cache
def _legacy_symbol_names() -> frozenset[str]:
    return frozenset(symbol.name for symbol in load_table().symbols)


# --- files -----------------------------------------------------------------------------------------------


def module_name_for(path: Path, root: Path | None) -> str | None:
    base = root if root is not None and root.is_dir() else None
    try:
        relative = path.resolve().relative_to(base.resolve()) if base else Path(path.name)
    except ValueError:
        relative = Path(path.name)
    parts = list(relative.with_suffix("").parts)
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


@lru_cache(maxsize=64)
def first_party_of(root: Path | None) -> frozenset[str]:
    """Top-level packages/modules in a root directory (isort's notion of first party)."""
    if root is None or not root.is_dir():
        return frozenset()
    names = set()
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.isidentifier():
            names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
    return frozenset(names)


def process_file(
    path: str, root: str | None, options: Options, write: Writer = write_result
) -> FileResult | None:
    """Rewrite one file. None when the prefilter says it cannot contain anything legacy. ``write`` replaces
    the file (atomically; the directory entry is made durable by the caller, once per directory)."""
    result = FileResult(path=path)
    file_path = Path(path)
    try:
        data = file_path.read_bytes()
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror or exc}"
        return result
    if not default_prefilter().matches(data):
        return None
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.error = f"not UTF-8 (byte {exc.start}); skipped"
        return result
    root_path = Path(root) if root else None
    module_name = module_name_for(file_path, root_path)
    try:
        source_tree = parse_ast(source)
    except SyntaxError as exc:
        result.error = f"syntax error at line {exc.lineno}: {exc.msg}; skipped"
        return result
    internal = legacy_definitions(source_tree, module_name)
    if internal:
        result.legacy_internal = internal
        return result
    legacy_file = counts_for_metric(source_tree, module_name)
    try:
        transformed = transform_source(
            source,
            target_module=options.target_module,
            module_name=module_name,
            first_party=first_party_of(root_path),
            verify=options.verify,
            verify_idempotent=options.verify_idempotent,
        )
    except cst.ParserSyntaxError as exc:
        result.error = f"syntax error at line {exc.raw_line}: {exc.message}; skipped"
        return result
    result.rewrites = transformed.rewrites
    result.todos = transformed.todos
    result.reports = transformed.reports
    result.fallback = transformed.fallback
    if legacy_file:
        lines_before = legacy_name_line_numbers(source)
        result.legacy_lines_before = len(lines_before)
        result.legacy_lines_after = legacy_lines_after(transformed, lines_before)
    if transformed.source == source:
        return result
    result.changed = True
    result.todos = _new_markers(source, transformed.source)
    result.todos_added = len(result.todos)
    if options.want_diff:
        result.diff = "".join(
            difflib.unified_diff(
                source.splitlines(keepends=True),
                transformed.source.splitlines(keepends=True),
                fromfile=f"a/{path}",
                tofile=f"b/{path}",
            )
        )
    if options.write:
        write(result, transformed.source, data)
    return result


def _new_markers(before: str, after: str) -> list[str]:
    """``line: text`` of every TODO marker line in ``after`` that ``before`` did not have."""
    old = {line.strip() for line in before.splitlines() if TODO_PATTERN.search(line)}
    found = []
    for number, line in enumerate(after.splitlines(), start=1):
        match = TODO_PATTERN.search(line)
        if match and line.strip() not in old:
            found.append(f"{number}: {line[match.end() :].strip()}")
    return found


# --- a whole run -----------------------------------------------------------------------------------------


@dataclass
class RunResult:
    files_seen: int = 0
    candidates: int = 0
    results: list[FileResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.error]


def _worker(batch: list[tuple[str, str | None]], options: Options) -> list[FileResult | None]:
    if not options.write:
        return [process_file(path, root, options) for path, root in batch]
    writer = BackgroundWriter()  # the fsyncs overlap the parsing of the next files
    results: list[FileResult | None] = []
    try:
        for path, root in batch:
            results.append(process_file(path, root, options, writer.submit))
    except BaseException:
        writer.abandon()  # the writes already handed over complete; this error is the one reported
        raise
    writer.finish(results)
    return results


_GC_LOCK = threading.Lock()
_GC_STATE: dict[str, Any] = {"depth": 0, "saved": None}


@contextmanager
def _few_gc_passes() -> Iterator[None]:
    """A run allocates millions of short-lived libcst nodes, which reference counting frees; the cyclic
    collector's frequent passes over them (and over everything imported) cost about 7% of a run. Collect
    the young generation 30x less often while runs are in progress; the caller's thresholds come back when
    the last concurrent run ends, whatever way it ends (forked workers inherit the setting)."""
    with _GC_LOCK:
        if _GC_STATE["depth"] == 0:
            _GC_STATE["saved"] = gc.get_threshold()
            gc.set_threshold(20_000, 50, 50)
        _GC_STATE["depth"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_STATE["depth"] -= 1
            if _GC_STATE["depth"] == 0:
                gc.set_threshold(*_GC_STATE["saved"])


def run(paths: Sequence[str], options: Options, jobs: int = 1, prepared: WorkList | None = None) -> RunResult:
    """Process every Python file under ``paths``; per-file problems are collected, never raised.
    ``prepared``: the work list of ``paths``, already made (see ``codemods.work_list``)."""
    with _few_gc_passes():
        return _run(paths, options, jobs, prepared)


def _run(paths: Sequence[str], options: Options, jobs: int, prepared: WorkList | None) -> RunResult:
    # Without a prepared list the workers prefilter the files themselves (no serial scan here).
    listed = prepared if prepared is not None else work_list(paths, prefilter=False)
    outcome = RunResult(files_seen=listed.files_seen, problems=list(listed.problems))
    work = listed.items
    if jobs <= 1 or len(work) < 2 * jobs:
        results = _worker(work, options)
    else:
        # Prefiltered items are all parsed (~10 ms each): small batches, so the workers finish together.
        per_worker = 16 if listed.prefiltered else 4
        size = max(1, min(64, len(work) // (jobs * per_worker)))
        batches = [work[i : i + size] for i in range(0, len(work), size)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = [r for chunk in pool.map(_worker, batches, [options] * len(batches)) for r in chunk]
    outcome.results = [r for r in results if r is not None]
    outcome.candidates = len(outcome.results)
    return outcome


__all__ = [
    "FileResult",
    "Options",
    "RunResult",
    "Transformed",
    "check_postconditions",
    "iter_statements",
    "legacy_name_lines",
    "process_file",
    "run",
    "transform_source",
    "undefined_names",
]
