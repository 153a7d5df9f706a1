"""Trying a tolerance change before saving it: both settings run in memory over
the same rows; nothing is written until the tolerances are saved (audited)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from freezegun import freeze_time

from core.exceptions import InvalidInput
from merchants.models import AuditEvent
from reconciliation.models import Match, ReconciliationRun
from reconciliation.models import Tolerances as TolerancesRow
from reconciliation.services.compare import (
    reconciliation_compare,
    tolerances_engine,
    tolerances_parse,
    tolerances_update,
    tolerances_values,
)
from reconciliation.services.loading import tolerances_for
from tests.reconciliation.review_makers import (
    NOV_1,
    NOV_30,
    month_with_proposals,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

DEFAULTS = {
    "fee_percent": "1",
    "fee_floor_usd": "1.00",
    "fee_floor_khr": "4000",
    "fee_floor_thb": "35.00",
    "fx_percent": "1.5",
    "days_after_due": "7",
    "khqr_days_after_expiry": "1",
}


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


def test_compare_lists_the_pairs_a_tighter_fee_tolerance_loses(merchant, account):
    # given November (one proposal is a line 1.00 USD short: a bank fee)
    invoices, lines = month_with_proposals(merchant, account)
    no_fee = tolerances_engine(
        tolerances_parse(**DEFAULTS | {"fee_percent": "0", "fee_floor_usd": "0"})
    )

    # when a zero fee tolerance is compared with the current one
    comparison = reconciliation_compare(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, tolerances=no_fee
    )

    # then the fee proposal is the one change (a part payment now), and the
    # counts say so
    assert comparison.changed == 1
    (change,) = comparison.changes
    assert change.expected_ids == (f"inv:{invoices['fee'].pk}",)
    assert change.posted_ids == (f"ln:{lines['fee'].pk}",)
    assert change.current == "tier 3 reference.fee (proposed)"
    assert change.proposed == "tier 5 reference.partial (proposed)"
    rows = {name: (a, b) for name, a, b in comparison.count_rows}
    assert rows["tier_3"] == (1, 0)
    assert rows["tier_5"] == (0, 1)
    # and nothing was written
    assert not Match.objects.exists()
    assert not ReconciliationRun.objects.exists()


def test_compare_of_the_same_tolerances_changes_nothing(merchant, account):
    month_with_proposals(merchant, account)
    comparison = reconciliation_compare(
        merchant=merchant,
        date_from=NOV_1,
        date_to=NOV_30,
        tolerances=tolerances_for(merchant=merchant),
    )
    assert comparison.changed == 0 and comparison.current == comparison.proposed


def test_tolerances_update_saves_and_logs_before_and_after(merchant, owner_client):
    # when the fee tolerance is raised
    row = tolerances_update(
        merchant=merchant, actor=owner_client.user, **DEFAULTS | {"fee_percent": "2.5"}
    )

    # then the engine gets it and the log has both values
    assert row.fee_percent == Decimal("2.5")
    assert tolerances_for(merchant=merchant).fee_bp == 250
    (event,) = AuditEvent.objects.filter(action="reconciliation.tolerances.updated")
    assert event.details["before"]["fee_percent"] == "1"
    assert event.details["after"]["fee_percent"] == "2.5"
    assert tolerances_values(tolerances_for(merchant=merchant))[
        "fee_percent"
    ] == Decimal("2.5")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fee_percent": "abc"}, "fee_percent: 'abc' is not a number"),
        ({"fee_percent": "-1"}, "fee_percent: between 0 and 20"),
        ({"fee_floor_khr": "4000.5"}, "fee_floor_khr: riel amounts are whole"),
        ({"fee_floor_usd": "1.005"}, "fee_floor_usd: at most 2 decimal places"),
        ({"days_after_due": "1.5"}, "days_after_due: '1.5' is not a whole number"),
        ({"days_after_due": "999"}, "days_after_due: between 0 and 365"),
    ],
)
def test_tolerances_update_names_the_bad_field(merchant, change, message):
    with pytest.raises(InvalidInput, match=message):
        tolerances_update(merchant=merchant, actor=None, **DEFAULTS | change)
    assert not TolerancesRow.objects.exists()
