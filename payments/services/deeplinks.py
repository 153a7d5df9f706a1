"""The Bakong deeplink of a new KHQR code, asked for once, when the code is made.

A code without a deeplink still pays (customers scan it), so asking never fails a
create: the answer is the link, or why there is none, which the code keeps and its
page shows. The request carries the app's `sourceInfo` (BAKONG_APP_NAME,
BAKONG_APP_ICON_URL, BAKONG_APP_CALLBACK_URL) whole, or not at all when any of the
three is empty: Bakong refuses a sourceInfo with an empty field (spec 003).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from django.conf import settings

from core.exceptions import PermanentError, TonleError, TransientError
from payments.bakong_access import BakongAccess
from payments.clients.bakong import BakongClient, BakongError, default_base_url

logger = logging.getLogger("tonle.payments")

DEEPLINK_TIMEOUT_SECONDS = 4.0
DEEPLINK_MAX_LENGTH = 500
ERROR_MAX_LENGTH = 200


@dataclass(frozen=True)
class Deeplink:
    """The link, or (`link` empty) the reason in a few words for the code's page."""

    link: str = ""
    error: str = ""


def deeplink_source_info() -> dict[str, str]:
    """The client's source-info arguments from settings: all three, or none."""
    values = {
        "app_name": (getattr(settings, "BAKONG_APP_NAME", "") or "").strip(),
        "app_icon_url": (getattr(settings, "BAKONG_APP_ICON_URL", "") or "").strip(),
        "app_deeplink_callback": (
            getattr(settings, "BAKONG_APP_CALLBACK_URL", "") or ""
        ).strip(),
    }
    return values if all(values.values()) else {}


def _without(reason: str, exc: BaseException | None = None) -> Deeplink:
    logger.warning(
        "payments.deeplink.failed",
        extra={
            "reason": reason,
            "error": f"{type(exc).__name__}: {exc}" if exc is not None else "",
        },
    )
    reason = reason.rstrip(". ")  # the page goes on with its own sentence
    if len(reason) > ERROR_MAX_LENGTH:
        reason = reason[: ERROR_MAX_LENGTH - 1] + "…"
    return Deeplink(error=reason)


def _bakong_words(exc: TonleError) -> str:
    """The error without the client's "bakong: <endpoint>:" prefix."""
    message = exc.message.removeprefix("bakong: ")
    return message.removeprefix("generate_deeplink_by_qr: ") or type(exc).__name__


def deeplink_fetch(
    *, qr: str, transport: httpx.BaseTransport | None = None
) -> Deeplink:
    """Ask Bakong for the code's deeplink (a short wait at most); never raises for
    Bakong's sake: a refusal, an outage or a bad answer comes back as the reason."""
    source = deeplink_source_info()
    try:
        client = BakongClient(
            base_url=default_base_url(),
            token=getattr(settings, "BAKONG_TOKEN", "") or "",
            transport=transport,
            timeout=httpx.Timeout(DEEPLINK_TIMEOUT_SECONDS, connect=2.0),
        )
        with BakongAccess(client=client) as access:
            if not access.token():
                # no token yet in this deployment: get one (the poller would too)
                access.renew(stale="")
            link = access.call(lambda c: c.generate_deeplink_by_qr(qr=qr, **source))
    except BakongError as exc:
        code = f" (error {exc.error_code})" if exc.error_code is not None else ""
        return _without(f"Bakong refused it{code}: {_bakong_words(exc)}", exc)
    except TransientError as exc:
        return _without(f"Bakong could not be reached: {_bakong_words(exc)}", exc)
    except PermanentError as exc:
        return _without(f"Bakong's answer was not usable: {_bakong_words(exc)}", exc)
    except TonleError as exc:
        return _without(f"Bakong could not be asked: {_bakong_words(exc)}", exc)
    except Exception as exc:  # noqa: BLE001 - a deeplink never fails the create
        logger.exception("payments.deeplink.crashed")
        return _without("an unexpected error while asking Bakong (logged)", exc)
    if len(link) > DEEPLINK_MAX_LENGTH or not link.startswith(("https://", "http://")):
        return _without(f"Bakong answered a link that cannot be used ({link[:40]!r})")
    return Deeplink(link=link)
