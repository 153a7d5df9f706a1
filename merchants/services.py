"""Writes for merchants, people, accounts, connections and API keys. Each one runs in
a transaction and leaves an audit event."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.debug import sensitive_variables
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.exceptions import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from core.money import CURRENCIES
from merchants.models import (
    Account,
    AccountKind,
    ApiKey,
    ApiScope,
    AuditEvent,
    Connection,
    ConnectionProvider,
    Environment,
    Membership,
    Merchant,
    Provider,
    Role,
    all_api_scopes,
)
from merchants.selectors import (
    CONSENT_DEFAULT_SCOPES,
    SIGNATURE_SCHEME_CHOICES,
    consent_scope_parse,
)

User = get_user_model()

LIVE_PREFIX = "tonle_live_"
TEST_PREFIX = "tonle_test_"


def audit_event_record(
    *,
    merchant: Merchant | None,
    action: str,
    obj: models.Model | None = None,
    actor: Any = None,
    actor_label: str = "",
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit trail (never updated afterwards)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        merchant=merchant,
        actor=actor,
        actor_label=actor_label or (actor.get_username() if actor else "system"),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=ip_address,
        details=details or {},
    )


def access_event_record(
    *,
    action: str,
    subject: Any = None,
    actor: Any = None,
    username: str = "",
    merchant: Merchant | None = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> list[AuditEvent]:
    """Audit a sign-in or a refusal where each merchant concerned sees it: the given
    merchant, else every merchant the subject (the account signed in to, or tried)
    belongs to, else none (staff, unknown usernames). Only the username is kept,
    never a password or a code."""
    subject = subject if getattr(subject, "pk", None) else None
    actor = actor if getattr(actor, "is_authenticated", False) else None
    label = username or (subject.get_username() if subject is not None else "")
    label = label[:100]
    if merchant is not None:
        merchants: list[Merchant | None] = [merchant]
    elif subject is not None:
        merchants = list(
            Merchant.objects.filter(memberships__user=subject).order_by("pk")
        ) or [None]
    else:
        merchants = [None]
    return [
        AuditEvent.objects.create(
            merchant=each,
            actor=actor,
            actor_label=label or "anonymous",
            action=action,
            object_type="auth.user" if subject is not None else "",
            object_id=str(subject.pk) if subject is not None else "",
            ip_address=ip_address,
            details={"username": label, **(details or {})},
        )
        for each in merchants
    ]


def _full_clean(obj: models.Model, **kwargs: Any) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        name = "" if field == "__all__" else field
        raise InvalidInput(
            f"{name}: {' '.join(messages)}" if name else " ".join(messages), field=name
        ) from None


@transaction.atomic
def merchant_create(
    *,
    legal_name: str,
    bakong_account_id: str,
    display_name: str = "",
    name_km: str = "",
    default_currency: str = "KHR",
    city: str = "Phnom Penh",
    mcc: str = "5999",
    khqr_merchant_id: str = "",
    acquiring_bank: str = "",
    actor: Any = None,
) -> Merchant:
    """Create a tenant; its KHQR identity is validated before anything is written."""
    merchant = Merchant(
        legal_name=legal_name.strip(),
        display_name=(display_name or legal_name).strip()[:25],
        name_km=name_km,
        bakong_account_id=bakong_account_id.strip(),
        default_currency=default_currency.upper(),
        city=city,
        mcc=mcc,
        khqr_merchant_id=khqr_merchant_id,
        acquiring_bank=acquiring_bank,
    )
    if "@" not in merchant.bakong_account_id:
        raise InvalidInput(
            gettext_noop("bakong_account_id: a Bakong account id looks like name@bank"),
            field="bakong_account_id",
        )
    _full_clean(merchant)
    merchant.save()
    audit_event_record(
        merchant=merchant, action="merchant.created", obj=merchant, actor=actor
    )
    return merchant


@transaction.atomic
def account_create(
    *,
    merchant: Merchant,
    provider: str,
    currency: str,
    number: str,
    kind: str = "",
    name: str = "",
    bakong_account_id: str = "",
    actor: Any = None,
) -> Account:
    """Add an account to a merchant; (merchant, provider, number) is unique."""
    if provider not in Provider.values:
        raise InvalidInput(
            f"provider: {provider!r} is not one of {', '.join(Provider.values)}",
            field="provider",
        )
    if currency.upper() not in CURRENCIES:
        raise InvalidInput(
            f"currency: {currency!r} is not one of {', '.join(CURRENCIES)}",
            field="currency",
        )
    account = Account(
        merchant=merchant,
        provider=provider,
        currency=currency.upper(),
        number=number.strip(),
        kind=kind
        or (AccountKind.WALLET if provider == "bakong" else AccountKind.DEPOSIT),
        name=name,
        bakong_account_id=bakong_account_id,
    )
    _full_clean(account, validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise Conflict(
            f"number: merchant {merchant.pk} already has a {provider} account {number}",
            field="number",
        ) from None
    audit_event_record(
        merchant=merchant, action="account.created", obj=account, actor=actor
    )
    return account


@transaction.atomic
def member_create(
    *,
    merchant: Merchant,
    username: str,
    password: str,
    role: str,
    email: str = "",
    actor: Any = None,
) -> Any:
    """Create a user (or reuse one with that name) and make them a member."""
    if role not in Role.values:
        raise InvalidInput(
            f"role: {role!r} is not one of {', '.join(Role.values)}", field="role"
        )
    user = User.objects.filter(username=username).first()
    if user is None:
        if not password:
            raise InvalidInput(
                gettext_noop("password: a new user needs a password"), field="password"
            )
        user = User.objects.create_user(
            username=username, password=password, email=email
        )
    membership, created = Membership.objects.get_or_create(
        user=user, merchant=merchant, defaults={"role": role}
    )
    if not created and membership.role != role:
        raise Conflict(
            f"role: {username} is already a {membership.role} of this merchant",
            field="role",
        )
    audit_event_record(
        merchant=merchant,
        action="membership.created",
        obj=membership,
        actor=actor,
        details={"username": username, "role": role},
    )
    return user


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _demo_secret(merchant: Merchant) -> str:
    seed = f"tonle-demo-api-key:{merchant.pk}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), seed, hashlib.sha256).hexdigest()[:40]


def api_scopes_parse(scopes: Iterable[str] | None) -> list[str]:
    """The scopes asked for, checked and in a stable order; None means all."""
    if scopes is None:
        return all_api_scopes()
    wanted = {str(scope).strip() for scope in scopes if str(scope).strip()}
    unknown = sorted(wanted - set(ApiScope.values))
    if unknown:
        raise InvalidInput(
            f"scopes: {', '.join(unknown)} is not one of {', '.join(ApiScope.values)}",
            field="scopes",
        )
    if not wanted:
        raise InvalidInput(
            gettext_noop("scopes: a key needs at least one scope"), field="scopes"
        )
    return [scope for scope in ApiScope.values if scope in wanted]


@transaction.atomic
def api_key_create(
    *,
    merchant: Merchant,
    is_test: bool = False,
    name: str = "",
    scopes: Iterable[str] | None = None,
    expires_at: dt.datetime | None = None,
    actor: Any = None,
    demo: bool = False,
) -> tuple[ApiKey, str]:
    """Issue a key (every scope unless narrowed, no expiry unless given) and return
    it in plain text once; only its hash is stored."""
    scopes = api_scopes_parse(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(
            gettext_noop("expires_at: must be in the future"), field="expires_at"
        )
    ident = secrets.token_hex(6) if not demo else f"demo{merchant.pk:08d}"
    prefix = (TEST_PREFIX if is_test else LIVE_PREFIX) + ident
    secret = _demo_secret(merchant) if demo else secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        merchant=merchant,
        name=name,
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        is_test=is_test,
        scopes=scopes,
        expires_at=expires_at,
    )
    audit_event_record(
        merchant=merchant,
        action="api_key.created",
        obj=api_key,
        actor=actor,
        details={
            "prefix": prefix,
            "test": is_test,
            "scopes": scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return api_key, f"{prefix}.{secret}"


def api_key_demo_plaintext(*, merchant: Merchant) -> tuple[ApiKey, str]:
    """The demo merchant's key is derived from SECRET_KEY, so seeding twice can show
    it again without storing it."""
    prefix = f"{TEST_PREFIX}demo{merchant.pk:08d}"
    existing = ApiKey.objects.filter(prefix=prefix).first()
    if existing is None:
        return api_key_create(
            merchant=merchant, is_test=True, name="Demo shop", demo=True
        )
    return existing, f"{prefix}.{_demo_secret(merchant)}"


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """The active key behind `prefix.secret`, or Unauthorized; marks it used."""
    prefix, dot, secret = raw_key.strip().partition(".")
    if not dot or not prefix.startswith((LIVE_PREFIX, TEST_PREFIX)):
        raise Unauthorized(
            gettext_noop("the API key is malformed; expected tonle_live_….secret")
        )
    api_key = ApiKey.objects.select_related("merchant").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(
        api_key.secret_hash, _hash_secret(secret)
    ):
        raise Unauthorized(gettext_noop("the API key is not valid"))
    if api_key.revoked_at is not None:
        # 403 as the KHQR gateways answer: the key is known, but no longer allowed
        raise Forbidden(gettext_noop("the API key has been revoked"))
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        raise Unauthorized(
            f"the API key expired at {api_key.expires_at.isoformat()}; create a new one"
        )
    if not api_key.merchant.is_active:
        raise Unauthorized(
            gettext_noop("the merchant behind this API key is not active")
        )
    now = timezone.now()
    if (
        api_key.last_used_at is None
        or (now - api_key.last_used_at).total_seconds() > 60
    ):
        # at most one write a minute per key: the API stays fast under load
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


@transaction.atomic
def api_key_revoke(*, merchant: Merchant, api_key_id: int, actor: Any = None) -> ApiKey:
    """Revoke a key of this merchant; revoking twice is a no-op."""
    api_key = ApiKey.objects.for_merchant(merchant).filter(pk=api_key_id).first()
    if api_key is None:
        raise NotFound(gettext_noop("no such API key"))
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_event_record(
            merchant=merchant, action="api_key.revoked", obj=api_key, actor=actor
        )
    return api_key


@transaction.atomic
@sensitive_variables("credentials")
def connection_create(
    *,
    account: Account,
    provider: str,
    base_url: str,
    credentials: dict[str, Any],
    environment: str = Environment.SANDBOX,
    consent_scope: str | None = None,
    consent_days: int = 365,
    granted_by: Any = None,
    actor: Any = None,
) -> Connection:
    """Connect an account to a feed or Bakong, recording the customer's consent
    (scope: the provider's usual one unless given; see merchants.selectors)."""
    if provider not in ConnectionProvider.values:
        raise InvalidInput(
            f"provider: {provider!r} is not one of "
            f"{', '.join(ConnectionProvider.values)}",
            field="provider",
        )
    if not isinstance(credentials, dict):
        raise InvalidInput(
            gettext_noop("credentials: must be a JSON object"), field="credentials"
        )
    scheme = credentials.get("signature_scheme")
    if scheme is not None and scheme not in SIGNATURE_SCHEME_CHOICES:
        raise InvalidInput(
            f"credentials: signature_scheme {scheme!r} is not one of "
            f"{', '.join(SIGNATURE_SCHEME_CHOICES)}",
            field="credentials",
        )
    if consent_scope is None:
        consent_scope = CONSENT_DEFAULT_SCOPES[provider]
    consent_scope = " ".join(sorted(consent_scope_parse(consent_scope, strict=True)))
    now = timezone.now()
    granted_by = granted_by if getattr(granted_by, "is_authenticated", False) else None
    connection = Connection(
        merchant=account.merchant,
        account=account,
        provider=provider,
        environment=environment,
        base_url=base_url.rstrip("/"),
        credentials=credentials,
        consent_scope=consent_scope,
        consent_granted_by=granted_by,
        consent_granted_at=now,
        consent_expires_at=now + timezone.timedelta(days=consent_days),
    )
    _full_clean(connection, exclude=["credentials"])
    connection.save()
    audit_event_record(
        merchant=account.merchant,
        action="connection.created",
        obj=connection,
        actor=actor,
        details={"provider": provider, "credential_names": sorted(credentials)},
    )
    return connection


@transaction.atomic
def connection_consent_renew(
    *,
    merchant: Merchant,
    connection_id: int,
    days: int = 365,
    scope: str | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> Connection:
    """Record a fresh grant of the customer's consent, from now for `days` (scope
    unchanged unless given). A revoked connection stays revoked: connect anew."""
    connection = (
        Connection.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=connection_id)
        .first()
    )
    if connection is None:
        raise NotFound(f"connection: merchant has no connection #{connection_id}")
    if connection.revoked_at is not None:
        raise Conflict(
            f"connection: #{connection_id} was revoked; connect the account anew",
            field="connection",
        )
    if days < 1:
        raise InvalidInput(gettext_noop("days: must be at least 1"), field="days")
    now = timezone.now()
    connection.consent_scope = " ".join(
        sorted(
            consent_scope_parse(
                connection.consent_scope if scope is None else scope, strict=True
            )
        )
    )
    connection.consent_granted_at = now
    connection.consent_expires_at = now + timezone.timedelta(days=days)
    if actor is not None and getattr(actor, "is_authenticated", False):
        connection.consent_granted_by = actor
    connection.save(
        update_fields=[
            "consent_scope",
            "consent_granted_at",
            "consent_expires_at",
            "consent_granted_by",
        ]
    )
    audit_event_record(
        merchant=merchant,
        action="connection.consent_renewed",
        obj=connection,
        actor=actor,
        actor_label=actor_label,
        details={
            "consent_scope": connection.consent_scope,
            "consent_expires_at": connection.consent_expires_at.isoformat(),
        },
    )
    return connection


@transaction.atomic
def connection_revoke(
    *,
    merchant: Merchant,
    connection_id: int,
    actor: Any = None,
    actor_label: str = "",
    ip_address: str | None = None,
) -> Connection:
    """Withdraw the customer's consent: from now on the connection neither syncs
    nor accepts pushes. Revoking twice changes nothing (one audit event)."""
    connection = (
        Connection.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=connection_id)
        .first()
    )
    if connection is None:
        raise NotFound(f"connection: merchant has no connection #{connection_id}")
    if connection.revoked_at is None:
        connection.revoked_at = timezone.now()
        connection.save(update_fields=["revoked_at"])
        audit_event_record(
            merchant=merchant,
            action="connection.revoked",
            obj=connection,
            actor=actor,
            actor_label=actor_label,
            ip_address=ip_address,
            details={
                "provider": connection.provider,
                "account_id": connection.account_id,
                "consent_scope": connection.consent_scope,
            },
        )
    return connection


# -- two-factor sign-in (TOTP apps) ----------------------------------------------


def _totp_devices(user: Any):
    return TOTPDevice.objects.filter(user=user)


@transaction.atomic
def two_factor_start(*, user: Any) -> Any:
    """A fresh, unconfirmed TOTP device for the user to scan; any earlier
    unconfirmed one is dropped, a confirmed one stays until this one is confirmed."""
    _totp_devices(user).filter(confirmed=False).delete()
    return TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )


def two_factor_confirm(*, user: Any, token: str, ip_address: str | None = None) -> Any:
    """Turn two-factor sign-in on once the app shows the right code; the new
    device replaces any older one. A wrong code counts towards the device's
    throttle (so the check stays outside the write's transaction)."""
    device = _totp_devices(user).filter(confirmed=False).last()
    if device is None:
        raise Conflict(gettext("two-factor: start the set-up again"), field="token")
    if not device.verify_token(token.strip()):
        raise InvalidInput(
            gettext("token: that code is not the one your app shows now"),
            field="token",
        )
    with transaction.atomic():
        _totp_devices(user).filter(confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        access_event_record(
            action="auth.two_factor_enabled",
            subject=user,
            actor=user,
            ip_address=ip_address,
        )
    return device


def two_factor_disable(*, user: Any, token: str, ip_address: str | None = None) -> None:
    """Turn two-factor sign-in off; it takes a current code, so a session left
    open is not enough."""
    devices = list(_totp_devices(user).filter(confirmed=True))
    if not devices:
        return
    if not any(device.verify_token(token.strip()) for device in devices):
        raise InvalidInput(
            gettext("token: that code is not the one your app shows now"),
            field="token",
        )
    with transaction.atomic():
        _totp_devices(user).delete()
        access_event_record(
            action="auth.two_factor_disabled",
            subject=user,
            actor=user,
            ip_address=ip_address,
        )
