"""The request for Bakong's `generate_deeplink_by_qr` (the HTTP call is the client's).

Mirrors the SDK's ``generateDeepLink``: the URL must end in
``/v1/generate_deeplink_by_qr``, the code must pass ``verify``, and the optional
source info needs all three of its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .decoder import verify
from .errors import KhqrError

DEEPLINK_PATH = "/v1/generate_deeplink_by_qr"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """How the Bakong app comes back to the merchant's app after paying."""

    app_icon_url: str
    app_name: str
    app_deep_link_callback: str


def deeplink_request(
    qr: str, *, source_info: SourceInfo | None = None, now_ms: int | None = None
) -> dict[str, Any]:
    """The JSON body for POST {base}/v1/generate_deeplink_by_qr; raises KhqrError."""
    verification = verify(qr, now_ms=now_ms)
    if not verification:
        raise KhqrError("KHQR_INVALID", verification.reason, field="qr")
    body: dict[str, Any] = {"qr": qr}
    if source_info is not None:
        if not (
            source_info.app_icon_url
            and source_info.app_name
            and source_info.app_deep_link_callback
        ):
            raise KhqrError(
                "INVALID_DEEP_LINK_SOURCE_INFO",
                "source info needs app_icon_url, app_name and app_deep_link_callback",
                field="source_info",
            )
        body["sourceInfo"] = {
            "appIconUrl": source_info.app_icon_url,
            "appName": source_info.app_name,
            "appDeepLinkCallback": source_info.app_deep_link_callback,
        }
    return body


def check_deeplink_url(url: str) -> str:
    """The SDK's URL rule: an absolute URL whose path is the deeplink endpoint."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if not parts or not parts.scheme or not parts.netloc or parts.path != DEEPLINK_PATH:
        raise KhqrError(
            "INVALID_DEEP_LINK_URL",
            f"{url!r} is not an absolute URL ending in {DEEPLINK_PATH}",
            field="url",
        )
    return url


def deeplink_from_response(body: dict[str, Any]) -> str:
    """The short link out of Bakong's answer (``data.shortLink``)."""
    data = body.get("data") or {}
    link = data.get("shortLink") if isinstance(data, dict) else None
    if not link:
        raise KhqrError("INTERNAL_SREVER", f"no data.shortLink in {body!r}")
    return link
