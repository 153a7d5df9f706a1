"""The shop API: create a KHQR code, check it, look it up by order id, verify a
payment slip by its Bakong hash, who am I.

Same shape as the KHQR gateways shops already use (DESIGN.md); amounts are strings;
a test key sees only test codes and a live key only live ones.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api.fields import AmountInputField, StrictCharField, StrictRegexField
from core.api.parsers import DecimalJSONParser
from core.api.schema import BODY_ERRORS, COMMON_ERRORS, RATE_LIMIT_HEADERS, error
from core.api.serializers import StrictInputSerializer
from core.money import CURRENCIES, amount_to_wire
from merchants.api.base import MerchantApiView
from merchants.models import ApiScope
from payments import selectors
from payments.api import schema  # noqa: F401  (the bearer scheme for the docs)
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
from payments.services.slips import SlipAnswer, slip_check

MD5_PATTERN = r"^[0-9a-fA-F]{32}$"
HASH_PATTERN = r"^[0-9a-fA-F]{64}$"
SHORT_HASH_PATTERN = r"^[0-9a-fA-F]{8}$"
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
        "amount": amount_to_wire(payment_request.amount, payment_request.currency),
        "currency": payment_request.currency,
        "hash": payment_request.bakong_hash,
        "paid_amount": amount_to_wire(
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
    class InputSerializer(StrictInputSerializer):
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
            **BODY_ERRORS,
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
    class InputSerializer(StrictInputSerializer):
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
            **BODY_ERRORS,
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
    class InputSerializer(StrictInputSerializer):
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
            **BODY_ERRORS,
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


def _fact_amount(amount: Decimal, currency: str) -> str:
    """An amount Bakong reported, as text, never rounded: in the currency's places
    when it has no more than those, else as it came."""
    if currency in CURRENCIES:
        shown = amount_to_wire(amount, currency)
        if Decimal(shown) == amount:
            return shown
    return format(amount, "f")


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "string",
                "pattern": r"^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$",
                "example": "1.00",
            },
            {"type": "number", "minimum": 0, "exclusiveMinimum": True, "example": 1.0},
        ],
        "description": "The amount on the slip: KHR in whole riel, USD with at "
        "most 2 decimal places",
    }
)
class SlipAmountField(AmountInputField):
    pass


def _order_id_field() -> StrictCharField:
    return StrictCharField(
        max_length=ORDER_ID_MAX,
        required=False,
        allow_blank=True,
        help_text="The order the slip is presented for: a slip already presented "
        "for (or paid) another order answers `reused: true`",
    )


@extend_schema_serializer(component_name="SlipByHash")
class SlipByHashInput(StrictInputSerializer):
    """The schema of a look-up by full hash (the view validates both shapes)."""

    hash = StrictRegexField(
        HASH_PATTERN, help_text="The transaction's full Bakong hash (64 hex digits)"
    )
    order_id = _order_id_field()


@extend_schema_serializer(component_name="SlipByShortHash")
class SlipByShortHashInput(StrictInputSerializer):
    """The schema of a look-up by short hash, amount and currency."""

    short_hash = StrictRegexField(
        SHORT_HASH_PATTERN, help_text="The first 8 characters of the hash"
    )
    amount = SlipAmountField()
    currency = serializers.ChoiceField(choices=["KHR", "USD"])
    order_id = _order_id_field()


class TransactionByHashApi(MerchantApiView):
    """Verify a payment slip: the Bakong transaction, the code of yours it paid,
    and whether the slip was already presented for another order."""

    required_scope = ApiScope.PAYMENTS_READ

    parser_classes = [DecimalJSONParser]

    class InputSerializer(StrictInputSerializer):
        hash = StrictRegexField(
            HASH_PATTERN,
            required=False,
            help_text="The transaction's full Bakong hash (64 hex digits)",
            error_messages={"invalid": "must be 64 hexadecimal characters"},
        )
        short_hash = StrictRegexField(
            SHORT_HASH_PATTERN,
            required=False,
            help_text="Or its first 8 characters, with amount and currency",
            error_messages={"invalid": "must be 8 hexadecimal characters"},
        )
        amount = AmountInputField(
            required=False, help_text="The slip's amount (with short_hash)"
        )
        currency = serializers.ChoiceField(
            choices=["KHR", "USD"],
            required=False,
            help_text="The slip's currency (with short_hash)",
        )
        order_id = StrictCharField(
            max_length=ORDER_ID_MAX,
            required=False,
            allow_blank=True,
            help_text="The order the slip is presented for: a slip already "
            "presented for (or paid) another order answers `reused: true`",
        )

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            if "hash" in data and "short_hash" in data:
                raise serializers.ValidationError(
                    {"hash": "give hash or short_hash, not both"}
                )
            if "hash" not in data and "short_hash" not in data:
                raise serializers.ValidationError(
                    {
                        "hash": "give the full hash, or short_hash with amount and "
                        "currency"
                    }
                )
            if "short_hash" in data:
                for name in ("amount", "currency"):
                    if data.get(name) in (None, ""):
                        raise serializers.ValidationError(
                            {name: "required with short_hash"}
                        )
            return data

    @extend_schema_serializer(component_name="TransactionByHashOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="SlipTransaction")
        class TransactionOutput(serializers.Serializer):
            hash = serializers.CharField()
            short_hash = serializers.CharField()
            amount = serializers.CharField()
            currency = serializers.CharField()
            from_account_id = serializers.CharField(allow_blank=True)
            to_account_id = serializers.CharField(allow_blank=True)
            description = serializers.CharField(allow_blank=True)
            paid_at = serializers.DateTimeField(allow_null=True)
            external_ref = serializers.CharField(allow_blank=True)

        @extend_schema_serializer(component_name="SlipPaymentRequest")
        class PaymentRequestOutput(serializers.Serializer):
            md5 = serializers.CharField()
            order_id = serializers.CharField(allow_blank=True)
            bill_number = serializers.CharField(allow_blank=True)
            status = serializers.ChoiceField(choices=STATUSES)
            amount = serializers.CharField(allow_null=True)
            currency = serializers.CharField()
            paid_at = serializers.DateTimeField(allow_null=True)
            flag = serializers.CharField(allow_blank=True)

        result = serializers.ChoiceField(
            choices=["paid", "failed", "not_found"],
            help_text="paid: Bakong confirms the transaction; failed: Bakong says it "
            "failed (no money moved); not_found: Bakong has no such transaction (a "
            "slip to refuse)",
        )
        hash = serializers.CharField(
            allow_blank=True,
            help_text="The full hash (empty when a short hash was not found)",
        )
        transaction = TransactionOutput(
            allow_null=True, help_text="Bakong's facts (null unless paid)"
        )
        to_your_account = serializers.BooleanField(
            help_text="The money went to one of your Bakong accounts"
        )
        payment_request = PaymentRequestOutput(
            allow_null=True,
            help_text="Your code this transaction paid (null: none of yours known)",
        )
        order_id = serializers.CharField(
            allow_blank=True, help_text="The order the slip was presented for"
        )
        reused = serializers.BooleanField(
            help_text="The slip was already presented for, or paid, another order"
        )
        reused_for = serializers.CharField(
            allow_blank=True, help_text="That earlier order (empty when not reused)"
        )
        previous_checks = serializers.IntegerField(
            help_text="Times this slip was presented to you before"
        )
        source = serializers.CharField(
            help_text="`recorded`: already known here; `bakong`: Bakong was asked"
        )
        checked_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="transaction_by_hash",
        summary="Verify a payment slip by its Bakong hash",
        description="Every check is kept: a slip presented for an order after it "
        "was presented for (or paid) another one answers `reused: true`.",
        tags=["payments"],
        request=PolymorphicProxySerializer(
            component_name="TransactionByHashInput",
            serializers=[SlipByHashInput, SlipByShortHashInput],
            resource_type_field_name=None,
        ),
        parameters=[*RATE_LIMIT_HEADERS, RETRY_AFTER],
        responses={
            200: OutputSerializer,
            400: error(
                "`invalid_input`: a hash that is not 64 (or 8) hex digits, a short "
                "hash without amount or currency, both hashes or neither"
            ),
            502: error("`upstream_error`: Bakong refused the request"),
            503: error("`bakong_unavailable`: Bakong could not be reached; try again"),
            **BODY_ERRORS,
            **COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Full hash, for an order",
                value={
                    "hash": "8465d722d7d5065f2886f0a474a4d34d"
                    "c6a7855355b611836f7b6111228893e9",
                    "order_id": "ORDER-1042",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Short hash",
                value={"short_hash": "8465d722", "amount": "1.00", "currency": "USD"},
                request_only=True,
            ),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        answer = slip_check(
            merchant=self.merchant,
            hash=data.get("hash", ""),
            short_hash=data.get("short_hash", ""),
            amount=data.get("amount"),
            currency=data.get("currency", ""),
            order_id=data.get("order_id", ""),
            is_test=self.api_key.is_test,
            api_key=self.api_key,
        )
        return Response(self.OutputSerializer(_slip_data(answer)).data)


def _slip_data(answer: SlipAnswer) -> dict[str, Any]:
    slip = answer.transaction
    code = answer.payment_request
    return {
        "result": answer.result,
        "hash": answer.hash,
        "transaction": None
        if slip is None
        else {
            "hash": slip.hash,
            "short_hash": slip.short_hash,
            "amount": _fact_amount(slip.amount, slip.currency),
            "currency": slip.currency,
            "from_account_id": slip.from_account_id,
            "to_account_id": slip.to_account_id,
            "description": slip.description,
            "paid_at": slip.paid_at,
            "external_ref": slip.external_ref,
        },
        "to_your_account": answer.to_merchant,
        "payment_request": None
        if code is None
        else {
            "md5": code.md5,
            "order_id": code.order_id,
            "bill_number": code.bill_number,
            "status": code.status,
            "amount": amount_to_wire(code.amount, code.currency),
            "currency": code.currency,
            "paid_at": code.paid_at,
            "flag": code.flag,
        },
        "order_id": answer.check.order_id,
        "reused": answer.reused,
        "reused_for": answer.reused_for,
        "previous_checks": answer.previous_checks,
        "source": answer.source,
        "checked_at": answer.check.checked_at,
    }


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
    """The code as an image, answered 304 to a matching ETag; like every API answer
    it carries no-store (core.middleware.ApiNoStoreMiddleware)."""

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
