"""Forms for the payment pages: text in, the services do the checking."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.error_words import error_words
from core.exceptions import InvalidInput
from payments.models import WebhookEndpoint
from payments.services.flag_settlement import NOTE_MAX_CHARS
from payments.services.payment_requests import (
    EXPIRY_DEFAULT_SECONDS,
    EXPIRY_MAX_SECONDS,
    EXPIRY_MIN_SECONDS,
    ORDER_ID_MAX,
)
from payments.services.webhook_endpoints import webhook_url_check

EXPIRY_CHOICES = [
    (300, _("5 minutes")),
    (900, _("15 minutes")),
    (3600, _("1 hour")),
    (86400, _("24 hours")),
]


class PaymentRequestForm(forms.Form):
    amount = forms.CharField(
        max_length=20,
        required=False,
        label=_("Amount"),
        help_text=_("Leave empty for a static code the customer types the amount into"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "5.00"}),
    )
    currency = forms.ChoiceField(
        choices=[("KHR", "KHR"), ("USD", "USD")], label=_("Currency")
    )
    bill_number = forms.CharField(max_length=25, required=False, label=_("Bill number"))
    store_label = forms.CharField(max_length=25, required=False, label=_("Store"))
    expires_in_seconds = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES,
        coerce=int,
        initial=EXPIRY_DEFAULT_SECONDS,
        label=_("Expires after"),
    )

    def clean_expires_in_seconds(self) -> int:
        value = self.cleaned_data["expires_in_seconds"]
        if not EXPIRY_MIN_SECONDS <= value <= EXPIRY_MAX_SECONDS:
            raise forms.ValidationError(_("choose one of the listed times"))
        return value


class RefundForm(forms.Form):
    amount = forms.CharField(
        max_length=20,
        required=False,
        label=_("Amount"),
        help_text=_("Leave empty to refund everything not yet refunded"),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    bank_reference = forms.CharField(
        max_length=100,
        label=_("Bank reference"),
        help_text=_("The reference of the transfer back to the payer"),
    )
    reason = forms.CharField(max_length=200, required=False, label=_("Reason"))


class FlagSettleForm(forms.Form):
    """How a person settles a flagged payment; the choices are the request's own
    (payments.services.flag_settlement.settle_choices)."""

    resolution = forms.ChoiceField(
        choices=(), widget=forms.RadioSelect, label=_("What happens to this money")
    )
    note = forms.CharField(
        max_length=NOTE_MAX_CHARS,
        label=_("Note"),
        help_text=_("Required: what you agreed with the customer, and why"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    bank_reference = forms.CharField(
        max_length=100,
        required=False,
        label=_("Bank reference of the refund"),
        help_text=_("Only for a refund: the reference of your transfer back"),
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resolution"].choices = choices


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
        label=_("Events"),
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
            raise forms.ValidationError(error_words(exc)) from None


class SlipCheckForm(forms.Form):
    """A payment slip to verify: its Bakong hash (all 64 characters, or the first 8
    with the amount and currency shown on the slip) and the order it is for."""

    hash = forms.CharField(
        max_length=64,
        label=_("Bakong hash"),
        help_text=_(
            "The transaction hash on the slip: all 64 characters, or the "
            "first 8 with the amount and currency"
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "size": 70}
        ),
    )
    amount = forms.CharField(
        max_length=20,
        required=False,
        label=_("Amount"),
        help_text=_("With a short hash"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}),
    )
    currency = forms.ChoiceField(
        choices=[("", "—"), ("KHR", "KHR"), ("USD", "USD")],
        required=False,
        label=_("Currency"),
    )
    order_id = forms.CharField(
        max_length=ORDER_ID_MAX,
        required=False,
        label=_("For order"),
        help_text=_(
            "The order the customer shows it for: a slip already shown for "
            "another order is flagged"
        ),
    )

    def clean_hash(self) -> str:
        return self.cleaned_data["hash"].strip()
