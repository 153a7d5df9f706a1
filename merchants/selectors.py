"""Reads, always scoped to a merchant (or to the user asking)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.exceptions import InvalidInput, NotFound
from core.periods import PHNOM_PENH
from core.signing import SCHEME_SHA256, SCHEME_TONLE, SCHEMES
from merchants.exceptions import ConsentRefused
from merchants.models import (
    Account,
    ApiKey,
    AuditEvent,
    Connection,
    ConnectionProvider,
    ConsentScope,
    Membership,
    Merchant,
)


def membership_list(*, user: Any) -> QuerySet[Membership]:
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user, merchant__is_active=True)
        .select_related("merchant")
        .order_by("merchant__display_name")
    )


def merchant_get(*, merchant_id: int) -> Merchant:
    return get_object_or_404(Merchant, pk=merchant_id, is_active=True)


def account_list(*, merchant: Merchant) -> QuerySet[Account]:
    return Account.objects.for_merchant(merchant).filter(is_active=True)


def account_get(*, merchant: Merchant, account_id: int) -> Account:
    return get_object_or_404(Account.objects.for_merchant(merchant), pk=account_id)


def connection_list(*, merchant: Merchant) -> QuerySet[Connection]:
    return Connection.objects.for_merchant(merchant).select_related("account")


def connection_get(*, merchant: Merchant, connection_id: int) -> Connection:
    return get_object_or_404(connection_list(merchant=merchant), pk=connection_id)


def api_key_list(*, merchant: Merchant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_merchant(merchant)


COUNTERPARTY_DAYS = 90
COUNTERPARTIES_SHOWN = 10


@dataclass(frozen=True)
class CounterpartyTotal:
    name: str
    lines: int
    money_in: Decimal
    money_out: Decimal


def account_counterparties(
    *,
    account: Account,
    days: int = COUNTERPARTY_DAYS,
    limit: int = COUNTERPARTIES_SHOWN,
) -> list[CounterpartyTotal]:
    """Who paid in and out of the account most in the last `days` days (by number of
    lines, then by money moved): one aggregate query over its ledger lines."""
    since = timezone.now() - dt.timedelta(days=days)
    rows = (
        account.transactions.filter(posted_at__gte=since)
        .exclude(counterparty_name="")
        .order_by()
        .values("counterparty_name")
        .annotate(
            lines=Count("pk"),
            money_in=Sum("amount", filter=Q(amount__gt=0)),
            money_out=Sum("amount", filter=Q(amount__lt=0)),
        )
        .order_by("-lines", "counterparty_name")[:limit]
    )
    return [
        CounterpartyTotal(
            name=row["counterparty_name"],
            lines=row["lines"],
            money_in=row["money_in"] or Decimal(0),
            money_out=row["money_out"] or Decimal(0),
        )
        for row in rows
    ]


def audit_event_list(*, merchant: Merchant) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_merchant(merchant).select_related("actor")


# who acts without being a member: the poller, the webhook sender, commands, imports
SYSTEM_ACTORS = ("bakong", "webhooks", "system", "import", "api_key:")


def audit_actor_suggestions(*, merchant: Merchant) -> list[str]:
    """Names to offer in the audit log's "who" filter: the members' usernames and
    the system's own actors (read from memberships, never by scanning the log)."""
    members = (
        Membership.objects.filter(merchant=merchant)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )
    return [*members, *SYSTEM_ACTORS]


def two_factor_device_get(*, user: Any, confirmed: bool = True) -> Any:
    """The user's (confirmed) TOTP device, or None: sign-in then asks for a code."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").last()
    )


# Operator commands address merchants and accounts by id across tenants (the
# DESIGN.md command contract); pages and the API never use these.


def merchant_by_id(*, merchant_id: int) -> Merchant:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    return merchant


def account_by_id(*, account_id: int) -> Account:
    account = Account.objects.select_related("merchant").filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


# --- consent: the one place that answers "may this connection do X now" ----------

# the words connection_create wrote before the scopes had names of their own
CONSENT_SCOPE_ALIASES = {
    "transactions:read": ConsentScope.STATEMENTS_READ,
    "accounts:read": ConsentScope.BALANCES_READ,
}
CONSENT_DEFAULT_SCOPES = {
    ConnectionProvider.STATEMENT_FEED: (
        f"{ConsentScope.STATEMENTS_READ} {ConsentScope.BALANCES_READ}"
    ),
    ConnectionProvider.BAKONG: str(ConsentScope.PAYMENTS_READ),
    ConnectionProvider.KHQR_GATEWAY: str(ConsentScope.PAYMENTS_READ),
}
CONSENT_NOTICE = dt.timedelta(days=14)


def consent_scope_parse(text: str, *, strict: bool = False) -> frozenset[str]:
    """The scopes in a `consent_scope` (space- or comma-separated; the old words
    `transactions:read` / `accounts:read` count as statements / balances). With
    `strict`, an unknown word is an InvalidInput naming it."""
    scopes = set()
    for word in re.split(r"[\s,]+", text or ""):
        if not word:
            continue
        scope = CONSENT_SCOPE_ALIASES.get(word, word)
        if scope in ConsentScope.values:
            scopes.add(str(scope))
        elif strict:
            raise InvalidInput(
                f"consent_scope: {word!r} is not one of "
                f"{', '.join(ConsentScope.values)}",
                field="consent_scope",
            )
    return frozenset(scopes)


# what the consent badge says, in the page's language
CONSENT_LABELS = {
    "active": gettext_lazy("active"),
    "expiring": gettext_lazy("expiring"),
    "expired": gettext_lazy("expired"),
    "revoked": gettext_lazy("revoked"),
    "out_of_scope": gettext_lazy("out of scope"),
}


@dataclass(frozen=True)
class ConsentStatus:
    """`state` is active, expiring (active, ends within CONSENT_NOTICE), expired,
    revoked or out_of_scope; `reason` says why a refused one is refused."""

    state: str
    allowed: bool
    reason: str
    expires_at: dt.datetime | None

    @property
    def label(self) -> str:
        return str(CONSENT_LABELS.get(self.state, self.state.replace("_", " ")))

    @property
    def badge(self) -> str:
        """The CSS badge class pages show the state with."""
        return {"active": "ok", "expiring": "warning", "expired": "expired"}.get(
            self.state, "bad"
        )


def _day(instant: dt.datetime) -> str:
    return instant.astimezone(PHNOM_PENH).strftime("%d %b %Y")


def connection_consent(
    *,
    connection: Connection,
    scope: str | None = None,
    now: dt.datetime | None = None,
) -> ConsentStatus:
    """Whether the customer's consent lets this connection act now (and, given a
    scope, do that): not revoked, not expired, and the scope granted."""
    now = now or timezone.now()
    name = f"connection #{connection.pk}"
    expires = connection.consent_expires_at
    if connection.revoked_at is not None:
        return ConsentStatus(
            "revoked",
            False,
            f"consent for {name} was revoked on {_day(connection.revoked_at)}",
            expires,
        )
    if expires is not None and expires <= now:
        return ConsentStatus(
            "expired",
            False,
            f"consent for {name} expired on {_day(expires)}; the customer must "
            "grant it again",
            expires,
        )
    if scope is not None and scope not in consent_scope_parse(connection.consent_scope):
        granted = ", ".join(sorted(consent_scope_parse(connection.consent_scope)))
        return ConsentStatus(
            "out_of_scope",
            False,
            f"consent for {name} does not include {scope} (granted: "
            f"{granted or 'nothing'})",
            expires,
        )
    if expires is not None and expires - now <= CONSENT_NOTICE:
        return ConsentStatus(
            "expiring", True, f"consent for {name} ends on {_day(expires)}", expires
        )
    return ConsentStatus("active", True, "", expires)


def connection_consent_require(
    *,
    connection: Connection,
    scope: str | None = None,
    now: dt.datetime | None = None,
) -> ConsentStatus:
    """connection_consent, or ConsentRefused naming the reason."""
    status = connection_consent(connection=connection, scope=scope, now=now)
    if not status.allowed:
        raise ConsentRefused(status.reason, field="consent")
    return status


def connection_consent_expiring_list(
    *,
    merchant: Merchant,
    now: dt.datetime | None = None,
    within: dt.timedelta = CONSENT_NOTICE,
) -> QuerySet[Connection]:
    """Connections not revoked whose consent ends within `within` (or has ended
    already), soonest first: the ones to renew."""
    now = now or timezone.now()
    return (
        connection_list(merchant=merchant)
        .filter(revoked_at__isnull=True, consent_expires_at__isnull=False)
        .filter(Q(consent_expires_at__lte=now + within))
        .order_by("consent_expires_at", "pk")
    )


SIGNATURE_SCHEME_ANY = "any"
SIGNATURE_SCHEME_CHOICES = (*SCHEMES, SIGNATURE_SCHEME_ANY)


def connection_signature_schemes(*, connection: Connection) -> tuple[str, ...]:
    """The push signature schemes this connection accepts: its credentials'
    `signature_scheme` (tonle, sha256 or any), else by provider: a bank's statement
    feed either, a KHQR gateway or Bakong Tonle's timestamped one."""
    configured = (connection.credentials or {}).get("signature_scheme")
    if configured in SCHEMES:
        return (configured,)
    if configured == SIGNATURE_SCHEME_ANY:
        return (SCHEME_TONLE, SCHEME_SHA256)
    if connection.provider == ConnectionProvider.STATEMENT_FEED:
        return (SCHEME_TONLE, SCHEME_SHA256)
    return (SCHEME_TONLE,)


def connection_by_id(*, connection_id: int) -> Connection:
    """For operator commands (across merchants)."""
    connection = (
        Connection.objects.select_related("merchant", "account")
        .filter(pk=connection_id)
        .first()
    )
    if connection is None:
        raise NotFound(f"connection {connection_id} does not exist")
    return connection
