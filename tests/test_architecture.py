"""The layout holds: import-linter's contracts (pyproject.toml) are kept, no module of
``pipeline`` takes part in an import cycle — function-level imports included — and no
module is longer than 600 lines nor imports another module's private names.

See docs/architecture.md for the layers and what each may import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package and pyproject.toml under ``root`` (no cache: it
    must see the files as they are)."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    done = lint_imports(REPO)
    assert done.returncode == 0, f"lint-imports found broken contracts:\n{done.stdout}\n{done.stderr}"
    assert "0 broken" in done.stdout and "Layers: the CLI on top" in done.stdout, done.stdout


@pytest.mark.parametrize("module, line", [
    # an upward import at module level: the basics may not know the CLI
    ("core/errors.py", "import pipeline.cli\n"),
    # a deferred upward import dodging a cycle counts as much as one at the top
    ("text/clean.py", "def _later():\n    from pipeline.learn import embed\n"),
    # siblings of a layer do not know each other
    ("agreement/units.py", "def _later():\n    from pipeline.learn.fit import TrainingSet\n"),
])
def test_lint_imports_fails_on_an_import_that_breaks_a_contract(tmp_path, module, line):
    shutil.copytree(REPO / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "pipeline" / module
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line, encoding="utf-8")
    done = lint_imports(tmp_path)
    assert done.returncode == 1, f"lint-imports let pipeline/{module} + {line!r} pass:\n{done.stdout}\n{done.stderr}"
    assert "BROKEN" in done.stdout, done.stdout


def import_cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(edges[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("pipeline", cache_dir=None)


def test_the_graph_counts_function_level_imports(graph):
    # cli/agreement.py imports the agreement code inside the command (start-up time):
    # the cycle check below must see such imports, or it would miss a dodged cycle.
    assert "pipeline.agreement.units" in graph.find_modules_directly_imported_by("pipeline.cli.agreement")
    assert "pipeline.text.maxqda" in graph.find_modules_directly_imported_by("pipeline.text.codings")


def test_no_module_of_pipeline_is_in_an_import_cycle(graph):
    cycles = import_cycles(graph)
    assert not cycles, "import cycles (modules that import each other, directly or in a ring): " + "; ".join(
        " <-> ".join(c) for c in cycles) + ". Move the shared code into a module both can import."


def test_the_cycle_finder_finds_a_ring():
    class Ring:
        modules = {"a", "b", "c", "d"}

        @staticmethod
        def find_modules_directly_imported_by(m):
            return {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}[m]

    assert import_cycles(Ring) == [["a", "b", "c"]]


MAX_LINES = 600
# Modules allowed to be longer for now (none: the reports' HTML, CSS and texts are package
# data in pipeline/reports/templates). Add an entry only with a plan to split it.
LONGER: set[str] = set()


def test_no_module_is_longer_than_600_lines():
    lengths = {p.relative_to(REPO).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
               for p in sorted((REPO / "pipeline").rglob("*.py"))}
    long = {p: n for p, n in lengths.items() if n > MAX_LINES and p not in LONGER}
    assert not long, f"modules over {MAX_LINES} lines: {long}. Split them along a seam (docs/architecture.md)."
    stale = sorted(p for p in LONGER if lengths.get(p, 0) <= MAX_LINES)
    assert not stale, f"{stale} no longer exceed {MAX_LINES} lines (or are gone): remove them from LONGER."


def private_imports(root: Path) -> list[str]:
    """``from pipeline.<module> import _name`` anywhere in the package under ``root``
    (relative imports resolved, function-level imports included), one line each."""
    import ast

    found = []
    for path in sorted((root / "pipeline").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        package = parts[:-1]  # what "." means in this file, for a module and an __init__ alike
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            module = node.module or ""
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join((*base, module) if module else base)
            if not (module == "pipeline" or module.startswith("pipeline.")):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(root).as_posix()}:{node.lineno} imports {alias.name} from {module}")
    return found


def test_no_private_name_is_imported_across_modules():
    """A leading underscore says "only this module uses it": a name another module needs
    is public, so that renaming a private helper never breaks a module that leant on it."""
    found = private_imports(REPO)
    assert not found, "private names imported across modules (make them public where they are used elsewhere):\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    "from pipeline.learn.features import _l2\n",
    "def _later():\n    from .features import _l2\n",
])
def test_the_private_import_check_finds_one(tmp_path, line):
    shutil.copytree(REPO / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "pipeline" / "learn" / "terms.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line, encoding="utf-8")
    found = private_imports(tmp_path)
    assert len(found) == 1 and "pipeline/learn/terms.py" in found[0] and "_l2 from pipeline.learn.features" in found[0], found
