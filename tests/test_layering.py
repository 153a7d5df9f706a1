"""The app stack holds in the source: no production app imports the sandbox, and
payments' services never load its tasks module at import time (the tasks import
the services, one way)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("config", "core", "merchants", "payments", "statements", "reconciliation")


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Modules named by import statements (and import_module("…") calls); with
    top_level_only, those that run when the module is imported (not inside a
    function or a TYPE_CHECKING block)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inner = True
            if not (top_level_only and inner):
                if isinstance(child, ast.Import):
                    names.update(alias.name for alias in child.names)
                elif (
                    isinstance(child, ast.ImportFrom)
                    and child.module
                    and not child.level
                ):
                    names.add(child.module)
                    names.update(f"{child.module}.{a.name}" for a in child.names)
                elif (
                    isinstance(child, ast.Call)
                    and ast.unparse(child.func).endswith("import_module")
                    and child.args
                    and isinstance(child.args[0], ast.Constant)
                ):
                    names.add(str(child.args[0].value))
            visit(child, inner)

    visit(tree, False)
    return names


def test_no_production_app_imports_the_sandbox():
    # given every module of the production apps (the sandbox sits on top)
    offenders = [
        f"{module} imports {name}"
        for package in PRODUCTION
        for module, path in _modules(package).items()
        for name in sorted(_imports(path))
        if name == "sandbox" or name.startswith("sandbox.")
    ]
    # then none of them reaches into it
    assert offenders == []


def test_the_layering_check_sees_an_import_of_the_sandbox(tmp_path):
    # the check above would notice one (a lazy one inside a function too)
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def seed():\n    from sandbox.feed import statement_items\n"
        "    import_module('sandbox.demo')\n"
    )
    assert {"sandbox.feed", "sandbox.demo"} <= _imports(sample)


def _import_graph() -> dict[str, set[str]]:
    """payments' modules and the payments modules each imports at import time."""
    modules = _modules("payments")
    graph = {}
    for module, path in modules.items():
        named = _imports(path, top_level_only=True)
        graph[module] = {name for name in named if name in modules} - {module}
    return graph


def _cycles_through(graph: dict[str, set[str]], start: str) -> list[list[str]]:
    cycles = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                cycles.append([*path, nxt])
            elif nxt not in path and len(path) < 20:
                walk(nxt, [*path, nxt])

    walk(start, [start])
    return cycles


def test_no_import_cycle_runs_through_payments_tasks():
    graph = _import_graph()
    assert "payments.services.polling" in graph["payments.tasks"]  # tasks → services
    assert _cycles_through(graph, "payments.tasks") == []
    for module in graph:
        if module.startswith("payments.services"):
            assert "payments.tasks" not in graph[module], module


def test_importing_the_payment_services_does_not_load_the_tasks():
    # given a fresh interpreter with Django set up
    services = sorted(
        m for m in _modules("payments") if m.startswith("payments.services.")
    )
    script = (
        "import sys, django, importlib\n"
        "django.setup()\n"
        "assert 'payments.tasks' not in sys.modules\n"
        f"for name in {services!r}:\n"
        "    importlib.import_module(name)\n"
        "print('payments.tasks' in sys.modules)\n"
    )
    # when every payments service module is imported
    answer = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        check=False,
    )
    # then the tasks module was not loaded by any of them
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.strip().splitlines()[-1] == "False"


def test_the_payment_services_import_each_other_without_a_cycle():
    # deferred imports (inside functions) count too: settlement is below polling
    # and the webhooks, and nothing below imports back up
    modules = _modules("payments")
    graph = {
        module: {name for name in _imports(path) if name in modules} - {module}
        for module, path in modules.items()
        if module.startswith("payments.services.")
    }
    services = {m: {n for n in names if n in graph} for m, names in graph.items()}
    assert {
        m: _cycles_through(services, m)
        for m in services
        if _cycles_through(services, m)
    } == {}
