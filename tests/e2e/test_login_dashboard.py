from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_demo_user_signs_in_and_sees_the_dashboard(live_server, page):
    # given the demo data
    call_command("seed_demo", "--json", stdout=StringIO())
    # when the accountant signs in in a real browser
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    # then the dashboard lists the demo accounts with balances
    page.wait_for_selector("#accounts")
    assert "Tonle Demo Shop" in page.content()
    rows = page.locator("#accounts tbody tr")
    assert rows.count() == 5
    assert "Krungsri" in page.inner_text("#accounts")


def test_wrong_password_is_refused_with_a_message(live_server, page, db):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.inner_text("main")
