"""The audit log page: auditors read it, actions in words, details as label: value,
filters by who / what / days, paging, and CSV / XLSX exports of the filter."""

from __future__ import annotations

import ast
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from merchants.audit_actions import ACTION_WORDS, details_pairs
from merchants.models import AuditEvent
from merchants.services import audit_event_record

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = ("core", "merchants", "payments", "statements", "reconciliation")


def _event(merchant, action="payment_request.created", **fields):
    return AuditEvent.objects.create(
        merchant=merchant,
        action=action,
        actor_label=fields.pop("actor_label", "kanha"),
        **fields,
    )


def _body(response) -> bytes:
    return (
        b"".join(response.streaming_content)
        if response.streaming
        else (response.content)
    )


def test_an_auditor_reads_the_audit_log(auditor_client, merchant):
    # given an event of the merchant
    _event(merchant)
    # when an auditor opens the log
    response = auditor_client.get(reverse("audit-log"))
    # then it is shown, and the nav links to it
    assert response.status_code == 200
    assert "Issued a KHQR code" in response.text
    assert f'href="{reverse("audit-log")}"' in response.text


def test_a_viewer_may_not_read_the_audit_log(viewer_client):
    assert viewer_client.get(reverse("audit-log")).status_code == 403
    assert viewer_client.get(reverse("audit-log-export-csv")).status_code == 403


def test_actions_are_words_and_unknown_codes_show_as_themselves(owner_client, merchant):
    # given a known and an unknown action
    _event(merchant, action="reconciliation.match.confirmed")
    _event(merchant, action="something.new_happened")
    # when
    response = owner_client.get(reverse("audit-log"))
    # then
    assert "Confirmed a match" in response.text
    assert "something.new_happened" in response.text


def test_details_are_shown_as_labels_and_values(owner_client, merchant):
    # given a refund's details as the service records them
    _event(
        merchant,
        action="refund.created",
        details={
            "bank_reference": "ABA-77",
            "amount": "4.00",
            "scopes": ["qr:write", "payments:read"],
            "test": False,
            "expires_at": None,
        },
    )
    # when
    response = owner_client.get(reverse("audit-log"))
    # then no raw dict, but labels and values
    assert "{&#x27;bank_reference" not in response.text
    assert "<dt>Bank reference</dt><dd>ABA-77</dd>" in response.text
    assert "<dt>Permissions</dt><dd>qr:write, payments:read</dd>" in response.text
    assert "<dt>Test key</dt><dd>no</dd>" in response.text
    assert "<dt>Expires</dt><dd>—</dd>" in response.text


def test_details_pairs_keep_a_non_dict_value_readable():
    assert details_pairs(["a", "b"]) == [("Details", "a, b")]
    assert details_pairs({}) == []
    assert details_pairs({"filter": {"date_from": "2026-01-01"}}) == [
        ("Filter", "From 2026-01-01")
    ]


def test_the_log_filters_by_actor_action_and_local_days(owner_client, merchant):
    # given events by two people on two local days (23:30 in Phnom Penh is still
    # the 4th there, though the 4th's 16:30 UTC)
    with freeze_time("2026-03-04T16:30:00Z"):
        _event(merchant, action="refund.created", actor_label="kanha")
    with freeze_time("2026-03-04T17:30:00Z"):  # 00:30 on the 5th in Phnom Penh
        _event(merchant, action="refund.created", actor_label="dara")
        _event(merchant, action="api_key.revoked", actor_label="kanha")
    url = reverse("audit-log")
    # when / then: by who
    rows = owner_client.get(url, {"actor": "KANHA"}).context["events"]
    assert {e.actor_label for e in rows} == {"kanha"}
    assert len(rows) == 2
    # by what
    rows = owner_client.get(url, {"action": "api_key.revoked"}).context["events"]
    assert [e.action for e in rows] == ["api_key.revoked"]
    # by local days
    rows = owner_client.get(
        url, {"date_from": "2026-03-04", "date_to": "2026-03-04"}
    ).context["events"]
    assert [e.actor_label for e in rows] == ["kanha"]
    rows = owner_client.get(
        url, {"date_from": "2026-03-05", "date_to": "2026-03-05"}
    ).context["events"]
    assert {e.actor_label for e in rows} == {"dara", "kanha"}
    assert len(rows) == 2


def test_a_filter_that_cannot_be_read_shows_its_error_and_no_rows(
    owner_client, merchant
):
    # given events
    _event(merchant)
    # when the dates are backwards, or the action is not one
    backwards = owner_client.get(
        reverse("audit-log"), {"date_from": "2026-03-05", "date_to": "2026-03-01"}
    )
    unknown = owner_client.get(reverse("audit-log"), {"action": "drop.table"})
    # then each says so and lists nothing
    assert "The end is before the start." in backwards.text
    assert backwards.context["events"] == []
    assert unknown.context["events"] == []
    assert 'id="audit-filter-errors"' in unknown.text
    assert "Export this view" not in unknown.text


def test_the_log_pages_fifty_at_a_time_keeping_the_filter(owner_client, merchant):
    # given 51 events of one action and one of another
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(merchant=merchant, action="slip.checked", actor_label="kanha")
            for _ in range(51)
        ]
    )
    _event(merchant, action="refund.created")
    # when
    first = owner_client.get(reverse("audit-log"), {"action": "slip.checked"})
    second = owner_client.get(
        reverse("audit-log"), {"action": "slip.checked", "page": 2}
    )
    # then
    assert len(first.context["events"]) == 50
    assert "Page 1 of 2" in first.text
    assert "action=slip.checked&amp;page=2" in first.text
    assert len(second.context["events"]) == 1


def test_another_merchants_events_are_not_shown(owner_client, other_merchant):
    _event(other_merchant, actor_label="someone-of-b")
    response = owner_client.get(reverse("audit-log"))
    assert "someone-of-b" not in response.text


def test_csv_export_has_a_bom_words_the_filter_and_is_audited(auditor_client, merchant):
    # given two events, one by a formula-looking "username" typed at sign-in
    _event(merchant, action="refund.created", actor_label="=HYPERLINK(1)")
    _event(merchant, action="api_key.revoked")
    # when an auditor exports the refunds
    response = auditor_client.get(
        reverse("audit-log-export-csv"), {"action": "refund.created"}
    )
    # then a UTF-8 CSV with a BOM, the filter's rows in words, text kept inert
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    text = _body(response).decode("utf-8")
    assert text.startswith("\ufeffWhen,Who,What,Action code,Object,IP address,Details")
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert "Recorded a refund" in lines[1]
    assert ",'=HYPERLINK(1),Recorded a refund," in lines[1]
    # and the export itself is in the log
    exported = AuditEvent.objects.for_merchant(merchant).get(
        action="audit_log.exported"
    )
    assert exported.details["format"] == "csv"
    assert exported.details["filter"] == {"action": "refund.created"}


def test_xlsx_export_holds_the_filtered_events_with_times_as_dates(
    owner_client, merchant
):
    # given
    with freeze_time("2026-03-04T02:00:00Z"):
        _event(merchant, action="refund.created", details={"amount": "4.00"})
    _event(merchant, action="api_key.revoked")
    # when
    response = owner_client.get(
        reverse("audit-log-export-xlsx"), {"action": "refund.created"}
    )
    # then
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(_body(response)))
    rows = list(book["Audit log"].iter_rows(values_only=True))
    assert rows[0][:3] == ("When", "Who", "What")
    assert len(rows) == 2
    assert rows[1][0] == dt.datetime(2026, 3, 4, 9, 0)  # Phnom Penh time
    assert rows[1][2] == "Recorded a refund"
    assert rows[1][6] == "Amount: 4.00"


def test_an_export_of_a_filter_that_cannot_be_read_goes_back_with_the_error(
    owner_client,
):
    response = owner_client.get(
        reverse("audit-log-export-csv"), {"date_from": "not-a-date"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("audit-log"))
    assert not AuditEvent.objects.filter(action="audit_log.exported").exists()


def test_a_sync_request_is_audited(
    accountant_client, merchant, monkeypatch, django_capture_on_commit_callbacks
):
    # given a feed connection
    from statements import tasks
    from tests.factories import AccountFactory, ConnectionFactory

    connection = ConnectionFactory(account=AccountFactory(merchant=merchant))
    monkeypatch.setattr(tasks.sync_connection, "apply_async", lambda *a, **kw: None)
    # when an accountant asks for a sync
    with django_capture_on_commit_callbacks(execute=True):
        accountant_client.post(
            reverse("statements:import-feed-sync", args=[connection.pk])
        )
    # then the log says who asked, for which connection
    event = AuditEvent.objects.for_merchant(merchant).get(
        action="connection.sync_requested"
    )
    assert event.actor == accountant_client.user
    assert event.object_id == str(connection.pk)


def test_sign_ins_and_failures_are_in_words(owner_client, merchant):
    # given a failed and a successful sign-in of a member
    user = owner_client.user
    audit_event_record(merchant=merchant, action="auth.login_failed", actor=None)
    audit_event_record(merchant=merchant, action="auth.login", actor=user)
    # when
    response = owner_client.get(reverse("audit-log"))
    # then
    assert "Failed to sign in" in response.text
    assert "Signed in" in response.text


def _recorded_actions() -> set[str]:
    """Every literal `action="…"` given to the audit recorders in the apps."""
    found = set()
    for package in PRODUCTION:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = ast.unparse(node.func)
                if not name.endswith(("audit_event_record", "access_event_record")):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        for const in ast.walk(keyword.value):
                            if isinstance(const, ast.Constant) and isinstance(
                                const.value, str
                            ):
                                found.add(const.value)
    return found


def test_every_recorded_action_has_words():
    recorded = _recorded_actions()
    assert "payment_request.created" in recorded  # the scan finds them
    assert "auth.login_failed" in recorded
    missing = sorted(recorded - set(ACTION_WORDS))
    assert missing == [], f"add words for {missing} in merchants/audit_actions.py"


def test_a_now_event_is_shown_in_phnom_penh_time(owner_client, merchant):
    with freeze_time("2026-03-04T17:30:00Z"):
        _event(merchant)
        assert timezone.now().hour == 17
    response = owner_client.get(reverse("audit-log"))
    assert "05 Mar 2026 00:30:00" in response.text
