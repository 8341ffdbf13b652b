"""The import contract and the size limits of the production code, checked over the AST.

Layers, imports only downwards (README, "Architecture"):

    faces        aimap/ (the CLI)   flows/ (Prefect)      may import stages, db, common; aimap may
                                                           import flows, flows never imports aimap
    stages       crawlers/  etl/  analysis/               may import db, common and their own package
    foundation   db/  (imports common only)   common/  (imports nothing of the project)
    test world   demosite/                                 may import common and db; nothing of the
                                                           production code imports it

No production module imports a project module inside a function: a function-level import is
allowed only for a third-party (or standard-library) module, to defer a heavy import, with a
one-line comment giving the reason on the import's line or the line above it. No file (outside
``db/migrations/``) is longer than 800 lines and no function longer than 100 (numba kernels,
decorated with ``njit``/``jit``, excepted).

Each test prints every violation as ``path:line: importer -> imported (rule)``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("aimap", "flows", "crawlers", "etl", "analysis", "db", "common", "demosite")
#: Project packages that production code must never import.
NOT_PRODUCTION = ("tests", "benchmarks")
STAGES = ("crawlers", "etl", "analysis")
FACES = ("aimap", "flows")
#: What each package may import of the project, besides itself.
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "db": {"common"},
    **{stage: {"common", "db"} for stage in STAGES},
    "flows": {"common", "db", *STAGES},
    "aimap": {"common", "db", *STAGES, "flows"},
    "demosite": {"common", "db"},
}
LEVEL = {"common": 0, "db": 0, "crawlers": 1, "etl": 1, "analysis": 1, "flows": 2, "aimap": 3, "demosite": 0}
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 100
NUMBA_DECORATORS = {"njit", "jit"}


@dataclass(frozen=True)
class Violation:
    """One breach of the contract, printed as ``path:line: importer -> imported (rule)``."""

    path: str
    line: int
    importer: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} -> {self.imported} ({self.rule})"


@dataclass(frozen=True)
class ImportSite:
    """An import statement: the module imported, where, and whether it sits inside a function."""

    module: str
    line: int
    in_function: bool
    node: ast.stmt


def module_name(path: Path, root: Path = ROOT) -> str:
    """``aimap/commands/etl.py`` -> ``aimap.commands.etl``; a package's ``__init__`` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(package: str, root: Path = ROOT) -> list[Path]:
    """Every .py file of ``package``, sorted."""
    return sorted(p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts)


@cache
def parsed(path: Path) -> tuple[ast.Module, list[str]]:
    """The AST of ``path`` and its lines."""
    text = path.read_text(encoding="utf-8")
    return ast.parse(text, filename=str(path)), text.splitlines()


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_sites(path: Path, root: Path = ROOT) -> list[ImportSite]:
    """Every import of ``path`` (relative ones resolved), each marked module- or function-level."""
    tree, _ = parsed(path)
    importer = module_name(path, root)
    is_package = path.name == "__init__.py"
    sites: list[ImportSite] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                sites.extend(ImportSite(a.name, child.lineno, in_function, child) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = resolve(importer, is_package, child)
                sites.append(ImportSite(module, child.lineno, in_function, child))
                if child.module is None:  # ``from . import x``: x is a module of the package
                    sites.extend(ImportSite(f"{module}.{a.name}", child.lineno, in_function, child)
                                 for a in child.names)
            visit(child, inside)

    visit(tree, False)
    return sites


def top(module: str) -> str:
    return module.split(".")[0]


def is_project(module: str) -> bool:
    return top(module) in PRODUCTION or top(module) in NOT_PRODUCTION


def rule_for(importer_pkg: str, imported_pkg: str) -> str | None:
    """Why ``importer_pkg`` may not import ``imported_pkg`` (None: allowed)."""
    if imported_pkg == importer_pkg or imported_pkg in ALLOWED[importer_pkg]:
        return None
    if imported_pkg in NOT_PRODUCTION:
        return "production imports test code"
    if imported_pkg == "demosite":
        return "production imports demosite"
    if importer_pkg == "common":
        return "common imports the project"
    if importer_pkg == "db":
        return "db imports more than common"
    if importer_pkg == "demosite":
        return "the test world imports the system under test"
    if importer_pkg == "flows" and imported_pkg == "aimap":
        return "flows imports aimap"
    if importer_pkg in STAGES and imported_pkg in STAGES:
        return "stage-to-stage import"
    if LEVEL[imported_pkg] > LEVEL[importer_pkg]:
        return "upward import"
    return "import outside the layering"


def has_reason(lines: list[str], site: ImportSite) -> bool:
    """A deferred import carries a one-line comment on its line or the line above."""
    here = lines[site.line - 1]
    above = lines[site.line - 2].strip() if site.line >= 2 else ""
    return "#" in here.split("import", 1)[-1] or above.startswith("#")


def import_violations(package: str, root: Path = ROOT) -> list[Violation]:
    """Every import of ``package`` that breaks the contract."""
    found: list[Violation] = []
    for path in source_files(package, root):
        rel, importer = str(path.relative_to(root)), module_name(path, root)
        _, lines = parsed(path)
        for site in import_sites(path, root):
            if is_project(site.module):
                rule = rule_for(package, top(site.module))
                if rule:
                    found.append(Violation(rel, site.line, importer, site.module, rule))
                if site.in_function:
                    found.append(Violation(rel, site.line, importer, site.module, "project import inside a function"))
            elif site.in_function and not has_reason(lines, site):
                found.append(Violation(rel, site.line, importer, site.module,
                                       "function-level import without a one-line reason"))
    return found


def is_numba_kernel(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in node.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in NUMBA_DECORATORS:
            return True
    return False


def size_violations(package: str) -> list[Violation]:
    """Files over :data:`MAX_FILE_LINES` (outside db/migrations) and functions over :data:`MAX_FUNCTION_LINES`."""
    found: list[Violation] = []
    for path in source_files(package):
        rel, importer = str(path.relative_to(ROOT)), module_name(path)
        if rel.startswith("db/migrations/"):
            continue
        tree, lines = parsed(path)
        if len(lines) > MAX_FILE_LINES:
            found.append(Violation(rel, 1, importer, f"{len(lines)} lines", f"file over {MAX_FILE_LINES} lines"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not is_numba_kernel(node):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(Violation(rel, node.lineno, f"{importer}.{node.name}", f"{length} lines",
                                           f"function over {MAX_FUNCTION_LINES} lines"))
    return found


def report(violations: list[Violation]) -> str:
    text = "\n".join(str(v) for v in violations)
    print(text)
    return f"{len(violations)} violation(s):\n{text}"


@pytest.mark.parametrize("package", PRODUCTION)
def test_imports_follow_the_layers(package: str) -> None:
    violations = import_violations(package)
    assert not violations, report(violations)


@pytest.mark.parametrize("package", PRODUCTION)
def test_files_and_functions_are_small(package: str) -> None:
    violations = size_violations(package)
    assert not violations, report(violations)


def test_the_contract_catches_what_it_forbids(tmp_path: Path) -> None:
    """The checks themselves: a relative import resolves, a function-level project import is seen."""
    tree = ast.parse("from .load import x\nfrom . import extract\n")
    nodes = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert resolve("etl.pipeline", False, nodes[0]) == "etl.load"
    assert resolve("etl", True, nodes[1]) == "etl"
    assert rule_for("etl", "analysis") == "stage-to-stage import"
    assert rule_for("db", "etl") == "db imports more than common"
    assert rule_for("analysis", "demosite") == "production imports demosite"
    assert rule_for("flows", "aimap") == "flows imports aimap"
    assert rule_for("etl", "flows") == "upward import"
    assert rule_for("common", "db") == "common imports the project"
    assert rule_for("demosite", "etl") == "the test world imports the system under test"
    assert rule_for("aimap", "flows") is None and rule_for("flows", "analysis") is None
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "probe.py").write_text(
        "from aimap import cli\n\n\ndef f():\n    from etl import load\n    import json\n\n\ndef g():\n"
        "    import numpy  # deferred: heavy\n", encoding="utf-8")
    found = [str(v) for v in import_violations("flows", tmp_path)]
    assert found == ["flows/probe.py:1: flows.probe -> aimap (flows imports aimap)",
                     "flows/probe.py:5: flows.probe -> etl (project import inside a function)",
                     "flows/probe.py:6: flows.probe -> json (function-level import without a one-line reason)"]
