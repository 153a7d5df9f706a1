"""Every detail key the apps write into the audit log has words in both languages,
so the audit page and its exports never show a raw key such as consent_expires_at."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.utils import translation

from merchants.audit_actions import DETAIL_LABELS, details_pairs
from merchants.filters import AuditEventFilter
from payments.filters import PaymentRequestFilter
from reconciliation.forms import TolerancesForm
from reconciliation.models import ExceptionReason
from statements.filters import TransactionFilter

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "merchants", "payments", "statements", "reconciliation"]


def _dict_keys(node: ast.AST):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Dict):
            for key in sub.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.value
        # details.update(amount=…) and details["reason"] = …
        if isinstance(sub, ast.Call) and getattr(sub.func, "attr", "") == "update":
            yield from (kw.arg for kw in sub.keywords if kw.arg)


def _names_built(function: ast.AST) -> dict[str, list[ast.AST]]:
    """What each local name is assigned, updated or subscripted with."""
    built: dict[str, list[ast.AST]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    built.setdefault(target.id, []).append(node.value)
                if isinstance(target, ast.Subscript) and isinstance(
                    target.value, ast.Name
                ):
                    built.setdefault(target.value.id, []).append(
                        ast.Dict(keys=[target.slice], values=[node.value])
                    )
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "update"
            and isinstance(node.func.value, ast.Name)
        ):
            built.setdefault(node.func.value.id, []).append(node)
    return built


def recorded_detail_keys() -> dict[str, str]:
    """Each literal key passed as details=… (following local names and this
    module's helper functions), with a file that writes it."""
    keys: dict[str, str] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            helpers = {
                n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
            }
            for function in helpers.values():
                built = _names_built(function)
                for call in ast.walk(function):
                    if not isinstance(call, ast.Call):
                        continue
                    for kw in call.keywords:
                        if kw.arg != "details":
                            continue
                        todo, seen = [kw.value], set()
                        while todo:
                            value = todo.pop()
                            for key in _dict_keys(value):
                                keys.setdefault(key, str(path.relative_to(ROOT)))
                            for sub in ast.walk(value):
                                name = getattr(sub, "id", None)
                                if isinstance(sub, ast.Name) and name not in seen:
                                    seen.add(name)
                                    todo.extend(built.get(name, []))
                                func = getattr(sub, "func", None)
                                called = getattr(func, "id", None)
                                if called in helpers and called not in seen:
                                    seen.add(called)
                                    todo.extend(
                                        r.value
                                        for r in ast.walk(helpers[called])
                                        if isinstance(r, ast.Return) and r.value
                                    )
    return keys


def test_the_scan_finds_the_keys_the_apps_write():
    # a scan that found nothing would pass whatever the labels
    keys = recorded_detail_keys()
    assert {"consent_expires_at", "period_from", "reopened_exceptions"} <= set(keys)
    assert {"bank_reference", "reason", "method"} <= set(keys)  # updated, subscripted
    assert len(keys) > 60


def test_every_recorded_detail_key_has_words():
    missing = {k: where for k, where in recorded_detail_keys().items()
               if k not in DETAIL_LABELS}  # fmt: skip
    assert not missing, f"add words to merchants.audit_actions.DETAIL_LABELS: {missing}"


@pytest.mark.parametrize(
    "filterset", [PaymentRequestFilter, AuditEventFilter, TransactionFilter]
)
def test_every_filter_an_export_records_has_words(filterset):
    names = set(filterset.base_filters) | {"sort", "page", "size"}
    assert not names - set(DETAIL_LABELS)


def test_a_runs_counts_are_in_words_in_khmer():
    details = {"tier_2": 3, f"exception_{ExceptionReason.UNMATCHED_LINE}": 1,
               "consent_expires_at": "2027-01-01"}  # fmt: skip
    with translation.override("km"):
        labels = [label for label, _value in details_pairs(details)]
    for label in labels:
        assert "_" not in label and not label.isascii(), label


def test_every_tolerance_a_change_records_has_words():
    names = set(TolerancesForm.base_fields) - {"date_from", "date_to"}
    assert not names - set(DETAIL_LABELS)
