"""Sign-ins, failed sign-ins and lockouts go to the audit log (connected in
MerchantsConfig.ready). Only the username travels: Django cleanses the password
out of `credentials`, and it is not read here anyway."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from core.client_address import client_ip
from core.middleware import session_started
from merchants.services import access_event_record

logger = logging.getLogger("tonle.auth")


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


def _user_named(username: str) -> Any:
    if not username:
        return None
    model = get_user_model()
    return model.objects.filter(**{model.USERNAME_FIELD: username}).first()


def on_logged_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        session_started(request)
    access_event_record(
        action="auth.login",
        subject=user,
        actor=user,
        ip_address=_ip(request),
        details={"two_factor": bool(getattr(user, "otp_device", None))},
    )
    logger.info("auth.login", extra={"user": user.pk})


def on_login_failed(
    sender, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs
) -> None:
    username = str(credentials.get("username") or "")
    access_event_record(
        action="auth.login_failed",
        subject=_user_named(username),
        username=username,
        ip_address=_ip(request),
        details={"reason": kwargs.get("reason", "password")},
    )
    logger.warning("auth.login_failed", extra={"username": username[:100]})


def on_locked_out(
    sender, request: HttpRequest | None, username: str | None, ip_address, **kwargs
) -> None:
    username = username or ""
    access_event_record(
        action="auth.locked_out",
        subject=_user_named(username),
        username=username,
        ip_address=ip_address or _ip(request),
    )
    logger.warning("auth.locked_out", extra={"username": username[:100]})


def connect() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_logged_in.connect(on_logged_in, dispatch_uid="tonle.auth.logged_in")
    user_login_failed.connect(on_login_failed, dispatch_uid="tonle.auth.login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="tonle.auth.locked_out")
