"""The project's import layers as data, and a checker over the source tree (``ast``, no imports).

Kept beside its test (not in the product) because only the test suite enforces it; the
picture it encodes is drawn in ``docs/contracts.md``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("base", "models", "training", "records", "interop", "dashboard", "kapcds")

# What each layer may import of the project (besides itself). Lower layers never see higher.
ALLOWED: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "models": frozenset({"base"}),
    "training": frozenset({"base", "models"}),
    "records": frozenset({"base", "models"}),
    "interop": frozenset({"base", "models", "records"}),
    "dashboard": frozenset({"base", "models", "training", "records", "interop"}),
    "kapcds": frozenset({"base", "models", "training", "records", "interop"}),
}

# Inside dashboard/: pages on top, then widgets, then services and charts.
DASHBOARD_ALLOWED: dict[str, frozenset[str]] = {
    "views": frozenset({"widgets", "services", "charts"}),
    "widgets": frozenset({"services", "charts"}),
    "services": frozenset(),
    "charts": frozenset(),
    "app": frozenset({"widgets", "services"}),
}

# Third-party packages a layer must not use at all.
FORBIDDEN_LIBRARIES: dict[str, frozenset[str]] = {
    "base": frozenset({"streamlit", "sqlalchemy", "plotly", "lightgbm"}),
    "models": frozenset({"streamlit", "sqlalchemy", "alembic", "plotly"}),
    "training": frozenset({"streamlit"}),
    "records": frozenset({"streamlit", "plotly"}),
    "interop": frozenset({"streamlit"}),
    "kapcds": frozenset({"streamlit"}),
}
DASHBOARD_FORBIDDEN_LIBRARIES = {"services": frozenset({"streamlit"}),
                                 "charts": frozenset({"streamlit"})}


@dataclass(frozen=True)
class Violation:
    """One import that breaks the layers: where, what, and which rule."""

    path: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported} ({self.rule})"


def _imports(tree: ast.AST) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, imported names) for every absolute import, lazy ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def _dashboard_part(parts: tuple[str, ...]) -> str:
    return parts[1] if len(parts) > 2 else Path(parts[-1]).stem


def check_module(relative: Path, source: str) -> list[Violation]:
    """Every layer rule the module at ``relative`` (e.g. records/db.py) breaks."""
    parts = relative.parts
    layer = parts[0]
    if layer not in ALLOWED:
        return []
    found: list[Violation] = []
    for line, module, names in _imports(ast.parse(source)):
        top = module.split(".")[0]
        where = str(relative)
        if top in PACKAGES and top != layer and top not in ALLOWED[layer]:
            found.append(Violation(where, line, module, f"{layer} may not import {top}"))
        if top in FORBIDDEN_LIBRARIES.get(layer, ()):
            found.append(Violation(where, line, module, f"{layer} may not use {top}"))
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if top in PACKAGES and top != layer and private:
            found.append(Violation(where, line, f"{module}.{private[0]}",
                                   "private name from another package"))
        if layer == "dashboard":
            found += _check_dashboard(where, parts, line, module, top)
    return found


def _check_dashboard(where: str, parts: tuple[str, ...], line: int, module: str,
                     top: str) -> list[Violation]:
    part = _dashboard_part(parts)
    found = []
    if top in DASHBOARD_FORBIDDEN_LIBRARIES.get(part, ()):
        found.append(Violation(where, line, module, f"dashboard/{part} may not use {top}"))
    pieces = module.split(".")
    if top == "dashboard" and len(pieces) > 1:
        target = pieces[1]
        if target != part and target not in DASHBOARD_ALLOWED.get(part, frozenset()):
            found.append(Violation(where, line, module,
                                   f"dashboard/{part} may not import dashboard/{target}"))
    return found


def check_tree(root: Path) -> list[Violation]:
    """Every violation in the project's packages under ``root``."""
    found: list[Violation] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            found += check_module(relative, path.read_text(encoding="utf-8"))
    return found


def _module_file(root: Path, module: str) -> Path | None:
    """The file that ``module`` names under ``root`` (a module or a package's ``__init__``)."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_graph(root: Path) -> dict[str, set[str]]:
    """File -> files it imports (every absolute project import, lazy ones included)."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            where = str(path.relative_to(root))
            targets = graph.setdefault(where, set())
            for _, module, names in _imports(ast.parse(path.read_text(encoding="utf-8"))):
                if module.split(".")[0] not in PACKAGES:
                    continue
                for name in names or [""]:
                    target = (_module_file(root, f"{module}.{name}") if name else None) \
                        or _module_file(root, module)
                    if target is not None and target != path:
                        targets.add(str(target.relative_to(root)))
    return graph


def import_circles(root: Path) -> list[list[str]]:
    """Every group of files that import each other, directly or around a loop (Tarjan)."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


MAX_MODULES_PER_FOLDER = 20


def wide_folders(root: Path, limit: int = MAX_MODULES_PER_FOLDER) -> dict[str, int]:
    """Library folders with more than ``limit`` modules side by side (``__init__`` not counted)."""
    wide = {}
    for package in PACKAGES:
        for folder in [root / package, *(p for p in (root / package).rglob("*") if p.is_dir())]:
            count = sum(1 for p in folder.glob("*.py") if p.name != "__init__.py")
            if count > limit:
                wide[str(folder.relative_to(root))] = count
    return wide


def private_cli_names(root: Path) -> list[Violation]:
    """Private names one CLI module takes from another (``from kapcds.x import _y``, ``x._y``)."""
    found: list[Violation] = []
    for path in sorted((root / "kapcds").rglob("*.py")):
        where = str(path.relative_to(root))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kapcds"):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append(Violation(where, node.lineno, f"{node.module}.{alias.name}",
                                               "private name from another CLI module"))
                    elif node.module == "kapcds":
                        modules.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in modules and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                found.append(Violation(where, node.lineno, f"{node.value.id}.{node.attr}",
                                       "private name from another CLI module"))
    return found
