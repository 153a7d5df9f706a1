import pytest
from django.db import IntegrityError, connection, transaction

from merchants.models import AuditEvent, Membership
from merchants.services import audit_event_record
from tests.factories import AccountFactory, MembershipFactory


def test_audit_events_cannot_be_edited_through_the_orm(merchant):
    event = audit_event_record(merchant=merchant, action="test.happened")
    event.action = "test.rewritten"
    with pytest.raises(PermissionError, match="append-only"):
        event.save()
    with pytest.raises(PermissionError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(PermissionError, match="append-only"):
        event.delete()


def test_audit_events_cannot_be_edited_with_raw_sql(merchant):
    event = audit_event_record(merchant=merchant, action="test.happened")
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE merchants_auditevent SET action = 'forged' WHERE id = %s",
            [event.pk],
        )
    assert AuditEvent.objects.get(pk=event.pk).action == "test.happened"


def test_account_number_is_unique_per_merchant_and_provider(merchant):
    AccountFactory(merchant=merchant, provider="aba", number="123")
    with pytest.raises(IntegrityError):
        AccountFactory(merchant=merchant, provider="aba", number="123")


def test_a_user_has_one_membership_per_merchant(merchant):
    membership = MembershipFactory(merchant=merchant)
    with pytest.raises(IntegrityError):
        Membership.objects.create(
            user=membership.user, merchant=merchant, role="viewer"
        )


def test_masked_number_shows_only_the_last_four_digits(merchant):
    account = AccountFactory(merchant=merchant, number="001234567890")
    assert account.masked_number == "•••• 7890"
