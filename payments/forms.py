"""Forms for the payment pages: text in, the services do the checking."""

from __future__ import annotations

from django import forms

from core.exceptions import InvalidInput
from payments.models import WebhookEndpoint
from payments.services.payment_requests import (
    EXPIRY_DEFAULT_SECONDS,
    EXPIRY_MAX_SECONDS,
    EXPIRY_MIN_SECONDS,
)
from payments.services.webhook_endpoints import webhook_url_check

EXPIRY_CHOICES = [
    (300, "5 minutes"),
    (900, "15 minutes"),
    (3600, "1 hour"),
    (86400, "24 hours"),
]


class PaymentRequestForm(forms.Form):
    amount = forms.CharField(
        max_length=20,
        required=False,
        help_text="Leave empty for a static code the customer types the amount into",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "5.00"}),
    )
    currency = forms.ChoiceField(choices=[("KHR", "KHR"), ("USD", "USD")])
    bill_number = forms.CharField(max_length=25, required=False)
    store_label = forms.CharField(max_length=25, required=False, label="Store")
    expires_in_seconds = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES,
        coerce=int,
        initial=EXPIRY_DEFAULT_SECONDS,
        label="Expires after",
    )

    def clean_expires_in_seconds(self) -> int:
        value = self.cleaned_data["expires_in_seconds"]
        if not EXPIRY_MIN_SECONDS <= value <= EXPIRY_MAX_SECONDS:
            raise forms.ValidationError("choose one of the listed times")
        return value


class RefundForm(forms.Form):
    amount = forms.CharField(
        max_length=20,
        required=False,
        help_text="Leave empty to refund everything not yet refunded",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    bank_reference = forms.CharField(
        max_length=100, help_text="The reference of the transfer back to the payer"
    )
    reason = forms.CharField(max_length=200, required=False)


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="URL",
        widget=forms.URLInput(attrs={"placeholder": "https://shop.example/tonle"}),
    )
    events = forms.MultipleChoiceField(
        choices=[
            ("transaction.paid", "transaction.paid"),
            ("transaction.refunded", "transaction.refunded"),
        ],
        initial=["transaction.paid", "transaction.refunded"],
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookEndpointAdminForm(forms.ModelForm):
    """The admin's endpoint form: the URL gets the same check as the owner's page."""

    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")

    class Meta:
        model = WebhookEndpoint
        fields = ["merchant", "url", "events", "is_active", "disabled_reason"]

    def clean_url(self) -> str:
        try:
            return webhook_url_check(self.cleaned_data["url"])
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message.removeprefix("url: ")) from None
