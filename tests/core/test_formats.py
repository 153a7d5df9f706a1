"""Days are day/month/year and numbers are 1,234.50 in English and in Khmer; date
boxes take dd/mm/yyyy or ISO and never read the month first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django import forms
from django.urls import reverse
from django.utils import formats, translation
from freezegun import freeze_time

from core.dates import DayField
from merchants.models import UserSettings
from tests.payments.makers import payment_request_make

LANGUAGES = ["en", "km"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_days_are_written_day_first_in_every_language(language):
    with translation.override(language):
        assert formats.date_format(dt.date(2026, 4, 3)) == "03/04/2026"
        assert formats.date_format(dt.date(2026, 4, 3), "SHORT_DATE_FORMAT") == (
            "03/04/2026"
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_numbers_keep_the_point_and_the_comma_in_every_language(language):
    with translation.override(language):
        assert formats.localize(Decimal("12.50")) == "12.50"
        assert formats.number_format(Decimal("2375600"), force_grouping=True) == (
            "2,375,600"
        )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "typed, day",
    [
        ("03/04/2026", dt.date(2026, 4, 3)),
        ("31/12/2026", dt.date(2026, 12, 31)),
        ("2026-04-03", dt.date(2026, 4, 3)),
        (" 3/4/2026 ", dt.date(2026, 4, 3)),
    ],
)
def test_a_day_box_reads_day_first_or_iso(language, typed, day):
    with translation.override(language):
        assert DayField().clean(typed) == day


@pytest.mark.parametrize("typed", ["12/31/2026", "31/02/2026", "2026/04/03", "3 Apr"])
def test_a_day_box_refuses_month_first_and_other_shapes(typed):
    with pytest.raises(forms.ValidationError):
        DayField().clean(typed)


def test_a_day_box_is_text_not_the_browsers_date_picker():
    html = DayField().widget.render("date_from", dt.date(2026, 4, 3))
    assert 'type="text"' in html and 'value="03/04/2026"' in html
    assert 'type="date"' not in html


@pytest.mark.django_db
def test_the_payments_list_filters_on_a_day_typed_day_first(owner_client, merchant):
    with freeze_time("2026-04-03 05:00:00"):
        payment_request_make(merchant=merchant, order_id="APRIL-3")
    with freeze_time("2026-03-04 05:00:00"):
        payment_request_make(merchant=merchant, order_id="MARCH-4")
    url = reverse("payments:list")
    page = owner_client.get(url, {"date_from": "03/04/2026", "date_to": "03/04/2026"})
    html = page.content.decode()
    assert "APRIL-3" in html and "MARCH-4" not in html
    assert 'name="date_from"' in html and 'type="date"' not in html
    iso = owner_client.get(url, {"date_from": "2026-03-04", "date_to": "2026-03-04"})
    assert "MARCH-4" in iso.content.decode()


@pytest.mark.django_db
def test_the_audit_log_filters_on_a_day_typed_day_first(owner_client):
    page = owner_client.get(reverse("audit-log"), {"date_from": "31/12/2026"})
    assert page.status_code == 200
    assert 'id="audit-filter-errors"' not in page.content.decode()
    bad = owner_client.get(reverse("audit-log"), {"date_from": "12/31/2026"})
    assert 'id="audit-filter-errors"' in bad.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_amounts_read_the_same_on_khmer_and_english_pages(
    owner_client, merchant, language
):
    UserSettings.objects.create(user=owner_client.user, language=language)
    payment_request_make(merchant=merchant, amount="2375600", currency="KHR")
    payment_request_make(merchant=merchant, amount="12.50", currency="USD")
    owner_client.force_login(owner_client.user)  # the choice goes in the session
    html = owner_client.get(reverse("payments:list")).content.decode()
    assert f'<html lang="{language}"' in html
    assert "2,375,600 KHR" in html
    assert "12.50 USD" in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_browser_date_box_still_gets_an_iso_value(language):
    # pages not yet on the day box keep working: type="date" needs ISO
    widget = forms.DateInput(attrs={"type": "date"})
    with translation.override(language):
        assert 'value="2026-04-03"' in widget.render("d", dt.date(2026, 4, 3))
        assert forms.DateField().clean("03/04/2026") == dt.date(2026, 4, 3)
