"""English and Khmer: Accept-Language before a choice, the header's switch after."""

from __future__ import annotations

import os

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from core.translations import catalogues, translations_compile

LANGUAGE_LABEL_KM = "ភាសា"


def _lang(response) -> str:
    html = response.content.decode()
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


@pytest.mark.django_db
def test_a_visitor_whose_browser_asks_for_khmer_gets_khmer(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="km-KH,km;q=0.9")
    assert _lang(response) == "km"
    assert LANGUAGE_LABEL_KM in response.content.decode()


@pytest.mark.django_db
def test_a_visitor_who_asks_for_nothing_gets_english(client):
    response = client.get(reverse("login"))
    assert _lang(response) == "en"
    assert LANGUAGE_LABEL_KM not in response.content.decode().split("<option")[0]


@pytest.mark.django_db
def test_the_switch_in_the_header_changes_the_language_and_returns(owner_client):
    # when a user chooses Khmer on the dashboard
    response = owner_client.post(
        reverse("set_language"), {"language": "km", "next": "/payments/"}
    )
    assert response.status_code == 302 and response["Location"] == "/payments/"
    # then every next page is in Khmer, whatever the browser says
    page = owner_client.get("/payments/", HTTP_ACCEPT_LANGUAGE="en")
    assert _lang(page) == "km"
    # and English again when they switch back
    owner_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert _lang(owner_client.get("/payments/")) == "en"


def test_every_catalogue_is_well_formed_and_compiles(tmp_path):
    found = catalogues()
    assert any(po.parts[-3] == "km" for po in found), found
    for po in found:
        catalogue = polib.pofile(str(po))  # raises on a broken file
        assert catalogue.metadata.get("Language") == po.parts[-3], po
        assert not [e.msgid for e in catalogue.fuzzy_entries()], po
        # a translation keeps the placeholders of its English
        for entry in catalogue.translated_entries():
            # a plural entry's words are in msgstr[0] (Khmer has one form)
            words = entry.msgstr or entry.msgstr_plural.get(0, "")
            for mark in ("%(", "{"):
                assert entry.msgid.count(mark) == words.count(mark), entry


def test_a_catalogue_newer_than_its_compiled_file_is_compiled_again(settings, tmp_path):
    po = tmp_path / "km" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    catalogue = polib.POFile()
    catalogue.metadata = {"Language": "km", "Content-Type": "text/plain; charset=UTF-8"}
    catalogue.append(polib.POEntry(msgid="Language", msgstr=LANGUAGE_LABEL_KM))
    catalogue.save(str(po))
    settings.LOCALE_PATHS = [tmp_path]
    assert translations_compile() == [po.with_suffix(".mo")]
    assert translations_compile() == []  # up to date: nothing written
    mo = polib.mofile(str(po.with_suffix(".mo")))
    assert mo.find("Language").msgstr == LANGUAGE_LABEL_KM
    # when the catalogue changes after the .mo was written
    later = po.with_suffix(".mo").stat().st_mtime + 10
    os.utime(po, (later, later))
    assert translations_compile() == [po.with_suffix(".mo")]


def test_the_languages_are_english_and_khmer():
    assert [code for code, _name in settings.LANGUAGES] == ["en", "km"]
