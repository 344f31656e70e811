"""Architecture rules, checked by parsing the project's source with `ast` (nothing under test is imported,
so the whole file runs in well under a second).

1. No import cycles among the project's own modules (the packages in PACKAGES).
   The graph has an edge A -> B for every import statement in A that names a project module B, at module
   level or at any depth inside a function, class, `if` or `try`, with relative imports resolved.
   `import a.b.c` is an edge to a.b.c. `from p import x` is an edge to p.x when p.x is a module, else to p
   (x is then a name defined in p's `__init__`). Only what the statement names counts: the parent packages
   Python initialises on the way (importing a.b.c runs a/__init__ and a/b/__init__ first) are not edges,
   so a package `__init__` that imports its own submodules to re-export them is fine. But a submodule that
   imports a *name* from its parent package (`from . import REGISTRY`, `from oracles import run_check`)
   has an edge to the parent's `__init__`, and if that `__init__` imports the submodule back, that is a
   cycle and it is reported. Not edges: imports under `if TYPE_CHECKING:` (never run) and dynamic imports
   (`importlib.import_module`, as in the lazy `__getattr__` of oracles/__init__.py, which is exactly how a
   package re-exports without a cycle).
2. Size: no function (def or async def, methods and nested functions included; length = last line of its
   body - the `def` line + 1, decorators excluded) over FUNCTION_LIMIT lines, and no module over
   MODULE_LIMIT lines, in SIZE_SCOPE. Exceptions are listed in EXCEPTIONS with a reason; a listed exception
   that no longer exists or is back under its limit fails too (stale), so the list only shrinks.
3. The verdict is built in the judge module only: outside JUDGE, no module in VERDICT_SCOPE constructs a
   `Comparison(...)` or `Verdict(...)`, assigns (=, +=, annotated, del, setattr) an attribute named
   `passed`, `outcome`, `note` or `repro`, writes into `.extra[...]` (or `.extra.update/setdefault(...)`),
   or copies a record with one of those fields changed (`replace(c, passed=...)`).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("oracles", "reports", "reference", "benchmarks")

FUNCTION_LIMIT = 60
MODULE_LIMIT = 400
SIZE_SCOPE = ("oracles", "reports")

# "path::qualname" (or "path::<module>" for a whole module) -> why it may stay over the limit.
EXCEPTIONS: dict[str, str] = {}

JUDGE = "oracles/judge.py"
VERDICT_SCOPE = ("oracles", "reports")
VERDICT_CONSTRUCTORS = frozenset({"Comparison", "Verdict"})
VERDICT_FIELDS = frozenset({"passed", "outcome", "note", "repro"})


# --- files ------------------------------------------------------------------------------------------------

def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _files(roots, base: Path = ROOT) -> list[Path]:
    return sorted(p for r in roots for p in (base / r).rglob("*.py") if "__pycache__" not in p.parts)


_TREES: dict[Path, ast.Module] = {}


def _tree(path: Path) -> ast.Module:
    if path not in _TREES:
        _TREES[path] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return _TREES[path]


# --- 1. import graph --------------------------------------------------------------------------------------

def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth and in source order, except under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(reversed(node.orelse))
        else:
            stack.extend(reversed(list(ast.iter_child_nodes(node))))  # source order


def _longest_known(name: str, modules) -> str | None:
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in modules:
            return ".".join(parts[:k])
    return None


def _targets(node, module: str, is_package: bool, modules) -> list[str]:
    """The project modules one import statement names (see the module docstring for the rule)."""
    if isinstance(node, ast.Import):
        return [t for a in node.names if (t := _longest_known(a.name, modules))]
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
        if not anchor:
            return []  # a relative import beyond the top-level package: not ours to resolve
        base = ".".join(anchor + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    out = []
    for a in node.names:
        if a.name != "*" and f"{base}.{a.name}" in modules:
            out.append(f"{base}.{a.name}")
        elif (t := _longest_known(base, modules)):
            out.append(t)
    return out


def import_graph(base: Path = ROOT, packages=PACKAGES) -> dict[str, dict[str, list[str]]]:
    """module -> {imported project module -> ["file:line", ...]}."""
    paths = {_module_name(p, base): p for p in _files(packages, base)}
    graph: dict[str, dict[str, list[str]]] = {m: defaultdict(list) for m in paths}
    for module, path in paths.items():
        tree = _TREES.get(path) or ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            for target in _targets(node, module, path.name == "__init__.py", paths):
                site = f"{path.relative_to(base).as_posix()}:{node.lineno}"
                if site not in graph[module][target]:  # `from .m import a, b` is one site
                    graph[module][target].append(site)
    return graph


def strongly_connected(graph) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components, each sorted."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def _shortest_cycle(graph, start: str, members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one component (BFS)."""
    parent, frontier = {}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return path[::-1] + [start]
                if w in members and w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]


def import_cycles(graph) -> list[str]:
    """One line per distinct cycle: each member's shortest cycle through it, with the import sites."""
    lines = []
    for comp in strongly_connected(graph):
        members = set(comp)
        if len(comp) == 1 and comp[0] not in graph[comp[0]]:
            continue
        seen = set()
        for m in comp:
            cycle = _shortest_cycle(graph, m, members)
            key = frozenset(zip(cycle, cycle[1:]))
            if key in seen:
                continue
            seen.add(key)
            lines.append(" -> ".join(
                f"{a} ({', '.join(graph[a][b])})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}")
    return lines


def test_no_import_cycles():
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles among the project's modules (module (import site) -> ...):\n  " + "\n  ".join(cycles)


def _write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)


def test_import_rule_self_check(tmp_path):
    """The documented rule on a toy package: re-exporting submodules is fine; a submodule importing a name
    from its parent's __init__ that imports it back is a cycle, and so is a function-level import."""
    _write(tmp_path, {
        "pkg/__init__.py": "from . import reg, fam\nfrom .reg import REG\n",
        "pkg/reg.py": "REG = {}\n",
        "pkg/fam.py": "from .reg import REG\nfrom ..pkg import reg\nimport pkg.reg\n",
        "pkg/sub/__init__.py": "from .leaf import f\n",
        "pkg/sub/leaf.py": "def f():\n    from .. import REG\n    return REG\n",
        "pkg/lazy.py": "import importlib\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import fam\n",
    })
    g = import_graph(tmp_path, ("pkg",))
    assert dict(g["pkg"]) == {"pkg.reg": ["pkg/__init__.py:1", "pkg/__init__.py:2"], "pkg.fam": ["pkg/__init__.py:1"]}
    assert set(g["pkg.fam"]) == {"pkg.reg"} and not g["pkg.lazy"]
    assert import_cycles(g) == []  # pkg.sub.leaf -> pkg, but pkg never imports pkg.sub
    _write(tmp_path, {"pkg/__init__.py": "from . import reg, fam, sub\n"})
    cycles = import_cycles(import_graph(tmp_path, ("pkg",)))
    assert len(cycles) == 1 and "pkg.sub.leaf (pkg/sub/leaf.py:2) -> pkg" in cycles[0], cycles


# --- 2. sizes -----------------------------------------------------------------------------------------------

def function_lengths(tree: ast.AST) -> list[tuple[str, int]]:
    """(qualname, length) of every def/async def, qualnames as Python spells them (C.m, f.<locals>.g)."""
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((prefix + child.name, child.body[-1].end_lineno - child.lineno + 1))
                visit(child, f"{prefix}{child.name}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def sizes() -> dict[str, tuple[int, int]]:
    """"path::qualname" / "path::<module>" -> (length, limit), over SIZE_SCOPE."""
    out = {}
    for path in _files(SIZE_SCOPE):
        rel = _rel(path)
        out[f"{rel}::<module>"] = (len(path.read_text(encoding="utf-8").splitlines()), MODULE_LIMIT)
        for qualname, n in function_lengths(_tree(path)):
            key = f"{rel}::{qualname}"
            out[key] = (max(n, out.get(key, (0, 0))[0]), FUNCTION_LIMIT)
    return out


def size_problems(measured, exceptions) -> tuple[list[str], list[str]]:
    """(over a limit and not excepted, excepted but missing or within its limit)."""
    over = {k: n for k, (n, limit) in measured.items() if n > limit}
    new = [f"{k}: {n} lines (limit {measured[k][1]})" for k, n in sorted(over.items()) if k not in exceptions]
    stale = [f"{k}: " + (f"now {measured[k][0]} lines, within its limit" if k in measured else "no longer exists")
             for k in sorted(exceptions) if k not in over]
    return new, stale


def test_no_function_or_module_over_the_size_limits():
    new, stale = size_problems(sizes(), EXCEPTIONS)
    assert not new, "too long (split it, or list it in EXCEPTIONS with a reason):\n  " + "\n  ".join(new)
    assert not stale, "stale EXCEPTIONS (remove them):\n  " + "\n  ".join(stale)


def test_size_rule_self_check():
    measured = {"m.py::<module>": (401, 400), "m.py::f": (61, 60), "m.py::g": (60, 60), "m.py::h": (70, 60)}
    new, stale = size_problems(measured, {"m.py::h": "ok", "m.py::g": "was long", "m.py::gone": "deleted"})
    assert new == ["m.py::<module>: 401 lines (limit 400)", "m.py::f: 61 lines (limit 60)"]
    assert stale == ["m.py::g: now 60 lines, within its limit", "m.py::gone: no longer exists"]


def test_function_length_measure():
    src = "@deco\n@deco2\ndef f(x):\n    def g():\n        return 1\n\n    return g\n\nclass C:\n    async def m(self):\n        pass\n"
    assert function_lengths(ast.parse(src)) == [("f", 5), ("f.<locals>.g", 2), ("C.m", 2)]


# --- 3. the verdict is built in the judge module only ---------------------------------------------------------

def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _stored(target: ast.expr):
    """The attribute/subscript nodes an assignment target writes to (tuples and starred unpacked)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for t in target.elts:
            yield from _stored(t)
    elif isinstance(target, ast.Starred):
        yield from _stored(target.value)
    else:
        yield target


def _is_extra(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "extra"


def verdict_sites(source: str, filename: str = "<string>") -> list[str]:
    """"file:line what" for every place the source builds or amends a verdict (rule 3)."""
    sites = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for t in (s for t in targets for s in _stored(t)):
            if isinstance(t, ast.Attribute) and t.attr in VERDICT_FIELDS:
                sites.append(f"{filename}:{t.lineno} sets .{t.attr}")
            elif isinstance(t, ast.Subscript) and _is_extra(t.value):
                sites.append(f"{filename}:{t.lineno} writes .extra[...]")
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in VERDICT_CONSTRUCTORS:
                sites.append(f"{filename}:{node.lineno} calls {name}(...)")
            elif name in ("update", "setdefault") and _is_extra(node.func.value):
                sites.append(f"{filename}:{node.lineno} calls .extra.{name}(...)")
            elif name in ("setattr", "__setattr__") and any(
                    isinstance(a, ast.Constant) and a.value in VERDICT_FIELDS for a in node.args[1:2] + node.args[:1]):
                sites.append(f"{filename}:{node.lineno} calls {name}(..., <verdict field>, ...)")
            elif name == "replace" and any(k.arg in VERDICT_FIELDS for k in node.keywords):
                sites.append(f"{filename}:{node.lineno} calls replace(..., <verdict field>=...)")
    return sorted(set(sites), key=lambda s: (int(s[len(filename) + 1:].split(" ", 1)[0]), s))


def _verdict_offenders() -> dict[str, list[str]]:
    out = {}
    for path in _files(VERDICT_SCOPE):
        rel = _rel(path)
        if rel != JUDGE and (sites := verdict_sites(path.read_text(encoding="utf-8"), rel)):
            out[rel] = sites
    return out


def test_the_verdict_is_built_in_the_judge_module_only():
    new = [s for _, sites in sorted(_verdict_offenders().items()) for s in sites]
    assert not new, f"verdicts built or amended outside {JUDGE} (move it into the judge):\n  " + "\n  ".join(new)


@pytest.mark.parametrize("source, what", [
    ("c.passed = True", "sets .passed"),
    ("c = Comparison(max_abs=0.0, passed=True)", "calls Comparison(...)"),
    ("v = judge.Verdict(ok)", "calls Verdict(...)"),
    ("a, c.outcome = 1, 'ok'", "sets .outcome"),
    ("c.note += 'x'", "sets .note"),
    ("self.repro: str = ''", "sets .repro"),
    ("c.extra['vs'] = 1", "writes .extra[...]"),
    ("comps[0].extra['vs'] += 1", "writes .extra[...]"),
    ("c.extra.update(vs=1)", "calls .extra.update(...)"),
    ("setattr(c, 'passed', False)", "calls setattr(..., <verdict field>, ...)"),
    ("c2 = replace(c, passed=False)", "calls replace(..., <verdict field>=...)"),
])
def test_verdict_checker_flags(source, what):
    assert verdict_sites("x = 1\n" + source, "new.py") == [f"new.py:2 {what}"]


@pytest.mark.parametrize("source", [
    "ok = c.passed and c.extra['vs']",
    "passed = True; note = 'x'",
    "x = compare(a, b, tol)",
    "c.extra_info = 1",
    "r = s.replace('a', 'b')",
])
def test_verdict_checker_leaves_readers_alone(source):
    assert verdict_sites(source) == []
