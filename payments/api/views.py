"""The shop API: create a KHQR code, check it, look it up by order id, who am I.

Same shape as the KHQR gateways shops already use (DESIGN.md); amounts are strings;
a test key sees only test codes and a live key only live ones.
"""

from __future__ import annotations

import codecs
import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from core.money import format_number
from merchants.api.base import MerchantApiView
from merchants.models import ApiScope
from payments import selectors
from payments.api.schema import COMMON_ERRORS, RATE_LIMIT_HEADERS, error
from payments.models import PaymentRequest
from payments.services.payment_requests import (
    EXPIRY_DEFAULT_SECONDS,
    EXPIRY_MAX_SECONDS,
    EXPIRY_MIN_SECONDS,
    IDEMPOTENCY_KEY_MAX,
    ORDER_ID_MAX,
    payment_request_create,
)
from payments.services.qr_images import qr_image_etag, qr_image_get

MD5_PATTERN = r"^[0-9a-fA-F]{32}$"
AMOUNT_TEXT = re.compile(r"[0-9]*\.?[0-9]*")
STATUSES = [
    "pending",
    "paid",
    "expired",
    "cancelled",
    "refunded",
    "partially_refunded",
]
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    type=int,
    location=OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next call",
)


class DecimalJSONParser(JSONParser):
    """JSON numbers become Decimal, never float: `5.10` stays exactly 5.10."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_float=Decimal)
        except ValueError as exc:
            raise ParseError(f"body: not valid JSON ({exc})") from None


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "string",
                "pattern": r"^[0-9]*\.?[0-9]*$",
                "minLength": 1,
                "maxLength": 20,
                "example": "5.00",
            },
            {"type": "number", "minimum": 0, "example": 5.0},
        ],
        "nullable": True,
        "description": "Omitted, null or 0: a static (reusable) code. KHR in whole "
        "riel, USD with at most 2 decimal places.",
    }
)
class AmountInputField(serializers.Field):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            raise serializers.ValidationError("must be a decimal number or string")
        if isinstance(data, str) and not (
            0 < len(data) <= 20 and AMOUNT_TEXT.fullmatch(data)
        ):
            raise serializers.ValidationError(
                f"{data[:30]!r} is not a plain decimal amount (digits and one '.')"
            )
        return data

    def to_representation(self, value: Any) -> Any:
        return str(value)


class StrictCharField(serializers.CharField):
    """Text only: a number or a boolean where text is expected is refused (DRF's
    CharField would quietly turn 0 into "0")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string")
        return super().to_internal_value(data)


def _amount_text(amount: Decimal | None, currency: str) -> str | None:
    if amount is None:
        return None
    return format_number(amount, currency).replace(",", "")


def _md5_field() -> serializers.RegexField:
    return StrictRegexField(
        MD5_PATTERN,
        max_length=32,
        min_length=32,
        help_text="The code's md5 (32 hex digits)",
        error_messages={"invalid": "must be 32 hexadecimal digits"},
    )


class PaymentStatusOutput(serializers.Serializer):
    """The status fields /transaction/check and /transaction/by-order share."""

    md5 = serializers.CharField()
    status = serializers.ChoiceField(choices=STATUSES)
    paid_at = serializers.DateTimeField(allow_null=True)
    amount = serializers.CharField(
        allow_null=True, help_text="The amount asked for (null: a static code)"
    )
    currency = serializers.CharField()
    hash = serializers.CharField(allow_blank=True, help_text="The Bakong hash")
    paid_amount = serializers.CharField(allow_null=True)
    paid_currency = serializers.CharField(allow_blank=True)
    flag = serializers.CharField(
        allow_blank=True,
        help_text="Why received money was not accepted as this payment: "
        "amount_mismatch, currency_mismatch, late, duplicate (else empty)",
    )


def _status_data(payment_request: PaymentRequest) -> dict[str, Any]:
    return {
        "md5": payment_request.md5,
        "status": payment_request.status,
        "paid_at": payment_request.paid_at,
        "amount": _amount_text(payment_request.amount, payment_request.currency),
        "currency": payment_request.currency,
        "hash": payment_request.bakong_hash,
        "paid_amount": _amount_text(
            payment_request.paid_amount,
            payment_request.paid_currency or payment_request.currency,
        ),
        "paid_currency": payment_request.paid_currency,
        "flag": payment_request.flag,
        "order_id": payment_request.order_id,
        "bill_number": payment_request.bill_number,
        "created_at": payment_request.created_at,
        "expires_at": payment_request.expires_at,
    }


class QrCreateApi(MerchantApiView):
    required_scope = ApiScope.QR_WRITE
    parser_classes = [DecimalJSONParser]

    @extend_schema_serializer(component_name="QrCreateInput")
    class InputSerializer(serializers.Serializer):
        amount = AmountInputField(required=False, allow_null=True)
        currency = serializers.ChoiceField(
            choices=["KHR", "USD"],
            required=False,
            help_text="Defaults to the merchant's currency",
        )
        bill_number = StrictCharField(max_length=25, required=False, allow_blank=True)
        store_label = StrictCharField(max_length=25, required=False, allow_blank=True)
        terminal_label = StrictCharField(
            max_length=25, required=False, allow_blank=True
        )
        expires_in_seconds = serializers.IntegerField(
            min_value=EXPIRY_MIN_SECONDS,
            max_value=EXPIRY_MAX_SECONDS,
            required=False,
            help_text=f"Default {EXPIRY_DEFAULT_SECONDS} (15 minutes)",
        )
        order_id = StrictCharField(
            max_length=ORDER_ID_MAX,
            required=False,
            allow_blank=True,
            help_text="Your order id: sending it again returns the same code",
        )

    @extend_schema_serializer(component_name="QrCreateOutput")
    class OutputSerializer(serializers.Serializer):
        qr = serializers.CharField(help_text="The KHQR string to show as a QR code")
        md5 = serializers.CharField()
        amount = serializers.CharField(allow_null=True)
        currency = serializers.CharField()
        expires_at = serializers.DateTimeField(allow_null=True)
        order_id = serializers.CharField(allow_blank=True)
        bill_number = serializers.CharField(allow_blank=True)
        status = serializers.ChoiceField(choices=STATUSES)
        deeplink = serializers.CharField(
            allow_blank=True, help_text="Bakong app link (empty if Bakong was away)"
        )
        image_url = serializers.URLField(
            help_text="PNG of the code (also .svg); send your API key"
        )
        idempotent_replay = serializers.BooleanField()

    @extend_schema(
        operation_id="qr_create",
        summary="Create a KHQR code",
        tags=["payments"],
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                type={"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
                location=OpenApiParameter.HEADER,
                required=False,
                description="Like order_id: the same key again returns the same code",
            ),
            *RATE_LIMIT_HEADERS,
            RETRY_AFTER,
        ],
        responses={
            201: OpenApiResponse(OutputSerializer, description="A new code"),
            200: OpenApiResponse(
                OutputSerializer,
                description="The same order_id / Idempotency-Key again: the code "
                "made the first time, with `idempotent_replay: true`",
            ),
            400: error(
                "`invalid_input`: a field is wrong (the message names it); "
                "`merchant_not_configured`: the merchant has no Bakong account id yet"
            ),
            409: error("`conflict`: this order_id was used with other fields"),
            **COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "USD order",
                value={
                    "amount": "5.00",
                    "currency": "USD",
                    "bill_number": "INV-001",
                    "order_id": "ORDER-1042",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payment_request, replay = payment_request_create(
            merchant=self.merchant,
            amount=data.get("amount"),
            currency=data.get("currency", ""),
            order_id=data.get("order_id", ""),
            bill_number=data.get("bill_number", ""),
            store_label=data.get("store_label", ""),
            terminal_label=data.get("terminal_label", ""),
            expires_in_seconds=data.get("expires_in_seconds"),
            api_key=self.api_key,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        image_url = request.build_absolute_uri(
            reverse("api-qr-png", kwargs={"md5": payment_request.md5})
        )
        body = self.OutputSerializer(
            {
                **_status_data(payment_request),
                "qr": payment_request.qr,
                "deeplink": payment_request.deeplink,
                "image_url": image_url,
                "idempotent_replay": replay,
            }
        ).data
        return Response(
            body, status=status.HTTP_200_OK if replay else status.HTTP_201_CREATED
        )


class TransactionCheckApi(MerchantApiView):
    required_scope = ApiScope.PAYMENTS_READ
    parser_classes = [DecimalJSONParser]

    @extend_schema_serializer(component_name="TransactionCheckInput")
    class InputSerializer(serializers.Serializer):
        md5 = _md5_field()

    @extend_schema_serializer(component_name="TransactionCheckOutput")
    class OutputSerializer(PaymentStatusOutput):
        expires_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="transaction_check",
        summary="Is this code paid?",
        tags=["payments"],
        request=InputSerializer,
        parameters=[*RATE_LIMIT_HEADERS, RETRY_AFTER],
        responses={
            200: OutputSerializer,
            400: error("`invalid_input`: md5 missing or not 32 hex digits"),
            404: error("`not_found`: no code of yours with this md5"),
            **COMMON_ERRORS,
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment_request = selectors.payment_request_by_md5(
            merchant=self.merchant,
            md5=serializer.validated_data["md5"],
            is_test=self.api_key.is_test,
        )
        return Response(self.OutputSerializer(_status_data(payment_request)).data)


class TransactionByOrderApi(MerchantApiView):
    required_scope = ApiScope.PAYMENTS_READ
    parser_classes = [DecimalJSONParser]

    @extend_schema_serializer(component_name="TransactionByOrderInput")
    class InputSerializer(serializers.Serializer):
        order_id = StrictCharField(max_length=ORDER_ID_MAX)

    @extend_schema_serializer(component_name="TransactionByOrderOutput")
    class OutputSerializer(PaymentStatusOutput):
        order_id = serializers.CharField()
        bill_number = serializers.CharField(allow_blank=True)
        created_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="transaction_by_order",
        summary="Look a code up by your order id",
        tags=["payments"],
        request=InputSerializer,
        parameters=[*RATE_LIMIT_HEADERS, RETRY_AFTER],
        responses={
            200: OutputSerializer,
            400: error("`invalid_input`: order_id missing or too long"),
            404: error("`not_found`: no code of yours with this order id"),
            **COMMON_ERRORS,
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment_request = selectors.payment_request_by_order(
            merchant=self.merchant,
            order_id=serializer.validated_data["order_id"],
            is_test=self.api_key.is_test,
        )
        return Response(self.OutputSerializer(_status_data(payment_request)).data)


class MeApi(MerchantApiView):
    required_scope = None  # any valid key may ask whose it is

    @extend_schema_serializer(component_name="MeOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="MeMerchant")
        class MerchantOutput(serializers.Serializer):
            id = serializers.IntegerField()
            bakong_account_id = serializers.CharField(allow_blank=True)
            merchant_name = serializers.CharField()
            merchant_name_km = serializers.CharField(allow_blank=True)
            merchant_city = serializers.CharField()
            currency = serializers.CharField()

        @extend_schema_serializer(component_name="MeApiKey")
        class KeyOutput(serializers.Serializer):
            prefix = serializers.CharField()
            mode = serializers.ChoiceField(choices=["live", "test"])

        merchant = MerchantOutput()
        api_key = KeyOutput()

    @extend_schema(
        operation_id="me",
        summary="The merchant behind this API key",
        tags=["account"],
        parameters=[*RATE_LIMIT_HEADERS, RETRY_AFTER],
        responses={200: OutputSerializer, **COMMON_ERRORS},
    )
    def get(self, request):
        merchant = self.merchant
        return Response(
            self.OutputSerializer(
                {
                    "merchant": {
                        "id": merchant.pk,
                        "bakong_account_id": merchant.bakong_account_id,
                        "merchant_name": merchant.display_name,
                        "merchant_name_km": merchant.name_km,
                        "merchant_city": merchant.city,
                        "currency": merchant.default_currency,
                    },
                    "api_key": {
                        "prefix": self.api_key.prefix,
                        "mode": "test" if self.api_key.is_test else "live",
                    },
                }
            ).data
        )


class QrImageApi(MerchantApiView):
    """The code as an image; cached by md5, answered 304 to a matching ETag."""

    required_scope = ApiScope.QR_WRITE

    fmt = "png"

    def get(self, request, md5: str):
        payment_request = selectors.payment_request_by_md5(
            merchant=self.merchant, md5=md5, is_test=self.api_key.is_test
        )
        etag = qr_image_etag(md5=payment_request.md5, fmt=self.fmt)
        if request.headers.get("If-None-Match") == etag:
            response = HttpResponseNotModified()
        else:
            image = qr_image_get(payment_request=payment_request, fmt=self.fmt)
            response = HttpResponse(image.content, content_type=image.content_type)
        response["ETag"] = etag
        patch_cache_control(response, private=True, max_age=86400)
        return response


def _image_schema(fmt: str, media_type: str):
    return extend_schema(
        operation_id=f"qr_image_{fmt}",
        summary=f"The code as {fmt.upper()}",
        tags=["payments"],
        parameters=[*RATE_LIMIT_HEADERS, RETRY_AFTER],
        responses={
            (200, media_type): OpenApiResponse(
                OpenApiTypes.BINARY, description=f"The code ({media_type})"
            ),
            304: OpenApiResponse(description="Not modified (If-None-Match)"),
            404: error("`not_found`: no code of yours with this md5"),
            **COMMON_ERRORS,
        },
    )


class QrPngApi(QrImageApi):
    fmt = "png"

    @_image_schema("png", "image/png")
    def get(self, request, md5: str):
        return super().get(request, md5)


class QrSvgApi(QrImageApi):
    fmt = "svg"

    @_image_schema("svg", "image/svg+xml")
    def get(self, request, md5: str):
        return super().get(request, md5)
