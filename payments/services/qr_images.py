"""Rendered KHQR images, cached by md5: a code never changes, so neither does its
picture (rendering a PNG costs ~13 ms; a cache hit costs nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from payments.models import PaymentRequest

RENDER_VERSION = "1"
CACHE_SECONDS = 7 * 24 * 3600
FORMATS = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "card": "image/png",
    "stand": "application/pdf",
}


@dataclass(frozen=True)
class QrImage:
    content: bytes
    content_type: str
    etag: str


def qr_image_etag(*, md5: str, fmt: str) -> str:
    return f'"{md5}-{fmt}-{RENDER_VERSION}"'


def _render(payment_request: PaymentRequest, fmt: str) -> bytes:
    from payments.khqr import render

    if fmt == "png":
        return render.render_png(payment_request.qr, scale=8)
    if fmt == "svg":
        return render.render_svg(payment_request.qr).encode()
    merchant = payment_request.merchant
    amount = payment_request.amount
    if fmt == "card":
        return render.render_card_png(
            payment_request.qr,
            merchant_name=merchant.display_name,
            amount=amount,
            currency=payment_request.currency,
        )
    from payments.khqr.stand_pdf import render_stand_pdf

    return render_stand_pdf(
        payment_request.qr,
        merchant_name=merchant.display_name,
        merchant_name_khmer=merchant.name_km or None,
        amount=amount,
        currency=payment_request.currency,
    )


def qr_image_get(*, payment_request: PaymentRequest, fmt: str) -> QrImage:
    """The code as PNG, SVG, KHQR card (PNG) or A6 stand (PDF), from the cache
    when it was rendered before."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}")
    key = f"tonle:khqr:image:{RENDER_VERSION}:{payment_request.md5}:{fmt}"
    content = cache.get(key)
    if content is None:
        content = _render(payment_request, fmt)
        cache.set(key, content, timeout=CACHE_SECONDS)
    return QrImage(
        content=content,
        content_type=FORMATS[fmt],
        etag=qr_image_etag(md5=payment_request.md5, fmt=fmt),
    )
