"""In a real browser on the demo data, the dashboard draws its three charts for
each currency (money in and out per day, by channel, the cash position), with
bars that have a size, the KHQR figures and the total in the merchant's
currency with the rate it used; on a phone the charts stay inside the page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

KINDS = ("in-out", "channels", "position")


def _sign_in(page, url: str) -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    page.wait_for_selector("#accounts")


def test_the_demo_dashboard_shows_three_charts_per_currency(live_server, page):
    # given the demo data and its owner signed in
    call_command("seed_demo", "--json", stdout=StringIO())
    _sign_in(page, live_server.url)
    # then each of the demo's currencies has its three charts, drawn and visible
    for currency in ("khr", "usd", "thb"):
        for kind in KINDS:
            chart = page.locator(f"#chart-{currency}-{kind}")
            assert chart.is_visible(), f"{currency} {kind}"
            box = chart.bounding_box()
            assert box["width"] > 300 and box["height"] > 40, (currency, kind, box)
    # the bars have heights (money came in on the demo's days), the line has points
    tall = page.eval_on_selector_all(
        "#chart-usd-in-out rect.chart-in",
        "bars => bars.filter(b => b.getBBox().height > 1).length",
    )
    assert tall >= 20
    assert page.locator("#chart-usd-position circle").count() == 30
    # each chart names itself for a screen reader
    assert (
        page.get_attribute("#chart-khr-position", "aria-labelledby")
        == "chart-khr-position-title chart-khr-position-desc"
    )
    # a bar says its day's figures
    tip = page.text_content("#chart-usd-in-out g.chart-day title")
    assert tip.endswith("USD") and ": in " in tip
    # the day's KHQR figures and the total in riel with the rate it used
    assert "KHQR collected in" in page.inner_text("#khqr-month")
    total = page.inner_text("#converted-total")
    assert "All accounts in KHR" in total
    assert "at the NBC rate of" in total and "1 USD = " in total


def test_on_a_phone_the_charts_scroll_inside_their_card(live_server, browser):
    call_command("seed_demo", "--json", stdout=StringIO())
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        _sign_in(page, live_server.url)
        card = page.locator("#charts-usd").bounding_box()
        chart = page.locator("#chart-usd-in-out").bounding_box()
        figure = page.locator("#charts-usd figure").first.bounding_box()
        # the chart keeps a legible width, its figure stays inside the card
        assert chart["width"] >= 560
        assert figure["x"] + figure["width"] <= card["x"] + card["width"] + 1
    finally:
        context.close()
