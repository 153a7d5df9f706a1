"""The API pieces every app shares live in core, so an app's API never reaches into
another app's API package."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _imported_modules(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [(str(path.relative_to(REPO)), name) for name in names]
    return found


@pytest.mark.parametrize("package", ["statements", "reconciliation", "merchants"])
def test_no_other_app_imports_the_payments_api(package):
    offending = [
        (path, name)
        for path, name in _imported_modules(package)
        if name == "payments.api" or name.startswith("payments.api.")
    ]
    assert offending == []


def test_the_walk_sees_imports_of_the_payments_api():
    # the check above would see an import if there were one (payments' own views)
    names = [name for _, name in _imported_modules("payments/api")]
    assert "payments.api.schema" in names


def test_the_error_schema_is_served_from_core():
    # given / when
    from core.api.schema import ERROR_CODES

    # then the codes are DESIGN.md's, in its order, then the two the slip look-up
    # answers when Bakong refuses it or cannot be reached
    assert ERROR_CODES[:8] == [
        "invalid_input",
        "merchant_not_configured",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "rate_limit_exceeded",
        "internal_error",
    ]
    assert ERROR_CODES[8:] == ["upstream_error", "bakong_unavailable"]
