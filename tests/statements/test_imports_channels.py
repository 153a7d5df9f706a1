"""Channels from a bank's words: whole words and known phrases, never fragments
(tracker issue 11, point 13), tested on description lines as Cambodian and Thai
banks print them, in English, Khmer and Thai."""

from __future__ import annotations

import pytest

from core.periods import PHNOM_PENH
from statements.imports import PRESETS, parse_table, read_table
from statements.imports.channels import channel_matcher
from tests.statements.ingest_files import csv_bytes

# (description as printed, the channel a person would give it)
DESCRIPTIONS = [
    # the line: "deposit" contains "pos", and is no card payment
    ("Cash deposit branch Toul Kork", "OTHER"),
    ("CASH DEPOSIT AT BRANCH", "OTHER"),
    ("Cash withdrawal counter", "OTHER"),
    ("Coffee at Brown Roastery", "OTHER"),  # "fee" inside "Coffee"
    ("Purchase at Lucky Supermarket", "OTHER"),
    ("Deposit from Sok Dara", "OTHER"),
    ("Stop order 0012", "OTHER"),  # "top" inside "Stop"
    ("Interbank settlement", "OTHER"),  # not "interest"
    ("Billboard rental June", "OTHER"),  # not a bill payment
    ("KHQR from SOK DARA", "KHQR"),
    ("Received via ABA KHQR", "KHQR"),
    ("QR payment INV-7781", "KHQR"),
    ("Bakong transfer in 8a1f", "KHQR"),
    ("ThaiQR 7-Eleven Bangkok", "CROSSBORDER"),
    ("Thai QR payment Chatuchak", "CROSSBORDER"),
    ("PromptPay cross border", "CROSSBORDER"),
    ("Fund transfer to Lim Heng", "TRANSFER"),
    ("Transfer fee", "FEE"),
    ("Monthly service charge", "FEE"),
    ("Deposit interest April", "INTEREST"),
    ("Bill payment EDC", "BILL"),
    ("EDC bill May", "BILL"),
    ("Top-up Smart 012345678", "TOPUP"),
    ("Mobile top up Metfone", "TOPUP"),
    ("Recharge Cellcard", "TOPUP"),
    ("POS purchase Lucky", "CARD"),
    ("ATM withdrawal Aeon Mall", "CARD"),
    ("VISA card 4412 purchase", "CARD"),
    ("ទូទាត់ KHQR ពី សុខ ដារ៉ា", "KHQR"),
    ("ផ្ទេរប្រាក់ទៅ លីម ហេង", "TRANSFER"),
    ("ដាក់ប្រាក់សុទ្ធ នៅសាខាទួលគោក", "OTHER"),  # cash deposit at Toul Kork
    ("ដកប្រាក់សុទ្ធ", "OTHER"),  # cash withdrawal
    ("ថ្លៃសេវាប្រចាំខែ", "FEE"),
    ("ការប្រាក់ប្រចាំខែ", "INTEREST"),
    ("បង់វិក្កយបត្រអគ្គិសនី EDC", "BILL"),
    ("បញ្ចូលលុយទូរស័ព្ទ Smart", "TOPUP"),
    ("ដកប្រាក់តាមម៉ាស៊ីន អេធីអឹម", "CARD"),
    ("โอนเงิน PromptPay", "CROSSBORDER"),  # on a Cambodian account: Thailand's rail
    ("ค่าธรรมเนียม", "FEE"),
    ("เติมเงิน AIS", "TOPUP"),
]


@pytest.mark.parametrize(("description", "channel"), DESCRIPTIONS)
def test_a_description_gives_the_channel_a_person_would(description, channel):
    # given the ACLEDA preset (no channel column: the description decides)
    data = csv_bytes(
        ["Trans. Date", "Reference No.", "Description", "Debit", "Credit"],
        [["03/04/2026 09:21:04", "FT1", description, "", "1,000"]],
    )
    table = read_table(
        data, "s.csv", max_rows=10, max_bytes=100_000, encodings=["utf-8"]
    )
    # when
    result = parse_table(
        table, preset="acleda", mapping=None, currency="KHR", zone=PHNOM_PENH
    )
    # then
    assert result.errors == []
    assert result.lines[0].channel == channel


def test_a_khmer_phrase_does_not_match_inside_another_cluster():
    # given a phrase whose last consonant carries a subscript in the text
    match = channel_matcher({"ផ្ទេរ": "TRANSFER"})
    # then: "ផ្ទេរ" followed by a coeng is another word's cluster
    assert match("ផ្ទេរ្ម") is None
    assert match("ផ្ទេរ ប្រាក់") == "TRANSFER"


def test_words_joined_by_a_hyphen_or_nothing_are_the_same_phrase():
    match = channel_matcher({"top up": "TOPUP"})
    assert [match(t) for t in ("top up", "TOP-UP", "Topup", "top upper")] == [
        "TOPUP",
        "TOPUP",
        "TOPUP",
        None,
    ]


def test_promptpay_on_a_thai_account_is_a_domestic_transfer():
    # given Krungsri's own table: PromptPay is Thailand's transfer rail
    match = channel_matcher(PRESETS["krungsri"]["channel_words"])
    # then
    assert match("PromptPay รับเงิน") == "TRANSFER"
    assert match("ThaiQR merchant") == "CROSSBORDER"
