"""Bank export layouts, as data: which header holds which ledger field, how dates and
amounts are written, which encoding the bank uses. No parsing code lives here; the
parser in `statements.imports.parse` reads these tables.

Keys of `columns` are Tonle's fields (the canonical CSV's names, plus `debit`,
`credit`, `direction` and `posted_time` for banks that split them); each value lists
the header spellings seen for it (compared case- and space-insensitively).

`amount_mode`:
  - "signed": one `amount` column, credit positive, debit negative;
  - "debit_credit": two unsigned columns `debit` and `credit`, one filled per row;
  - "direction": an unsigned `amount` plus a `direction` column whose text is one of
    `credit_words` / `debit_words`.

`name` is the bank as the pages say it. `signatures` list the header sets that are
this bank's own: a file is recognised as this preset only when every header of one
of them stands in its header row (with the required columns), and no header of a
signature is a spelling any other preset reads (a test holds that), so a file is
never taken for another bank's because it shares "Date" or "Withdrawal".

`date_formats` are strptime formats tried in order ("iso" = ISO 8601, an offset
optional); a value without an offset is the account's local time (Phnom Penh, or
Bangkok for THB). `year_offset` is subtracted from a Buddhist-era year (543): only
from a year above 2400, which proves the era; any other year is read as written.
`thousands` is stripped from amounts; `decimal` is the decimal mark.
`channel_words` maps whole words and phrases found in the `channel` column (or,
failing that, the description) to a ledger channel; when phrases of several
channels are found, statements.imports.channels.CHANNEL_PRIORITY decides.
"""

from __future__ import annotations

from typing import Any

from statements.canonical import CANONICAL_COLUMNS, CANONICAL_REQUIRED
from statements.imports.channels import COMMON_PHRASES

# Fields a mapping may point at (the canonical ones plus the split helpers).
MAPPABLE_FIELDS = [*CANONICAL_COLUMNS, "debit", "credit", "direction", "posted_time"]

_COMMON_CHANNEL_WORDS = dict(COMMON_PHRASES)

PRESETS: dict[str, dict[str, Any]] = {
    "tonle": {
        "name": "Tonle canonical CSV",
        "signatures": [["txn_id", "posted_at"]],
        "label": "Tonle canonical CSV",
        "description": "UTF-8, comma, ISO 8601 times with offset, signed amounts.",
        "columns": {name: [name] for name in CANONICAL_COLUMNS},
        "required": list(CANONICAL_REQUIRED),
        "amount_mode": "signed",
        "date_formats": ["iso"],
        "value_date_formats": ["iso"],
        "require_offset": True,
        "thousands": "",
        "decimal": ".",
        "encodings": ["utf-8"],
        "channel_words": {},
        "strict_channel": True,
    },
    "aba": {
        "name": "ABA Bank",
        "signatures": [["Money In", "Money Out"]],
        "label": "ABA Bank — account activity export",
        "description": (
            "Header 'Date, Time, Transaction ID, Description, Money In, Money Out, "
            "Balance, Currency'; 'Apr 03, 2026' and '09:21 AM'; 1,234.50."
        ),
        "columns": {
            "posted_at": ["Date"],
            "posted_time": ["Time"],
            "txn_id": ["Transaction ID", "Trx ID"],
            "description": ["Description", "Transaction Details"],
            "credit": ["Money In"],
            "debit": ["Money Out"],
            "balance_after": ["Balance"],
            "currency": ["Currency", "Ccy"],
            "counterparty": ["Payer/Payee", "Counterparty"],
            "reference": ["Reference", "Remark"],
        },
        "required": ["posted_at", "credit", "debit"],
        "amount_mode": "debit_credit",
        "date_formats": ["%b %d, %Y", "%d %b %Y"],
        "time_formats": ["%I:%M %p", "%H:%M"],
        "thousands": ",",
        "decimal": ".",
        "encodings": ["utf-8"],
        "channel_words": _COMMON_CHANNEL_WORDS,
    },
    "acleda": {
        "name": "ACLEDA Bank",
        "signatures": [["Trans. Date", "Reference No."]],
        "label": "ACLEDA Bank — statement export (Toanchet)",
        "description": (
            "Header 'Trans. Date, Value Date, Reference No., Description, Debit, "
            "Credit, Balance'; '03/04/2026 09:21:04' (day first); KHR in whole riel "
            "with thousands commas; Khmer descriptions; UTF-8 with BOM."
        ),
        "columns": {
            "posted_at": ["Trans. Date", "Transaction Date"],
            "value_date": ["Value Date"],
            "reference": ["Reference No.", "Reference"],
            "description": ["Description", "Narrative"],
            "debit": ["Debit"],
            "credit": ["Credit"],
            "balance_after": ["Balance"],
        },
        "required": ["posted_at", "debit", "credit", "reference"],
        "amount_mode": "debit_credit",
        "date_formats": ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"],
        "value_date_formats": ["%d/%m/%Y"],
        "thousands": ",",
        "decimal": ".",
        "encodings": ["utf-8"],
        "channel_words": _COMMON_CHANNEL_WORDS,
    },
    "wing": {
        "name": "Wing Bank",
        "signatures": [["Sender/Receiver"]],
        "label": "Wing Bank — wallet history export",
        "description": (
            "Header 'Transaction Date, Transaction ID, Type, Amount, Currency, "
            "Sender/Receiver, Remark'; '2026-04-03 09:21:04'; signed amounts "
            "'-5,000' / '+12.50'."
        ),
        "columns": {
            "posted_at": ["Transaction Date"],
            "txn_id": ["Transaction ID"],
            "channel": ["Type"],
            "amount": ["Amount"],
            "currency": ["Currency"],
            "counterparty": ["Sender/Receiver"],
            "description": ["Remark"],
        },
        "required": ["posted_at", "txn_id", "amount"],
        "amount_mode": "signed",
        "date_formats": ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"],
        "thousands": ",",
        "decimal": ".",
        "encodings": ["utf-8"],
        "channel_words": {
            "wing to wing": "TRANSFER",
            "send money": "TRANSFER",
            "receive money": "TRANSFER",
            **_COMMON_CHANNEL_WORDS,
        },
    },
    "hattha": {
        "name": "Hattha Bank",
        "signatures": [["Txn ID", "Posting Date"]],
        "label": "Hattha Bank — Hattha Mobile statement (Excel/CSV)",
        "description": (
            "Semicolon CSV or XLSX: 'Txn ID; Posting Date; Value Date; Channel; "
            "Counterparty; Reference; Bakong Trace; Debit; Credit; Balance; "
            "Original Amount; Original Currency; FX Rate; Fee' (and 'Biller "
            "Category' on bill and top-up lines); '03-04-2026 09:21'."
        ),
        "columns": {
            "txn_id": ["Txn ID"],
            "posted_at": ["Posting Date"],
            "value_date": ["Value Date"],
            "channel": ["Channel"],
            "counterparty": ["Counterparty"],
            "reference": ["Reference"],
            "bakong_hash": ["Bakong Trace"],
            "debit": ["Debit"],
            "credit": ["Credit"],
            "balance_after": ["Balance"],
            "original_amount": ["Original Amount"],
            "original_currency": ["Original Currency"],
            "fx_rate": ["FX Rate"],
            "fee": ["Fee"],
            "biller_category": ["Biller Category"],
        },
        "required": ["txn_id", "posted_at", "debit", "credit"],
        "amount_mode": "debit_credit",
        "date_formats": ["%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M"],
        "value_date_formats": ["%d-%m-%Y"],
        "thousands": ",",
        "decimal": ".",
        "encodings": ["utf-8"],
        "channel_words": _COMMON_CHANNEL_WORDS,
    },
    "bakong": {
        "name": "Bakong",
        "signatures": [["Hash"]],
        "label": "Bakong — wallet transaction history",
        "description": (
            "Header 'Hash, Date, Type, From, To, Amount, Currency, Memo'; Type is "
            "'Received' or 'Sent'; amounts unsigned; '2026-04-03 09:21:04'."
        ),
        "columns": {
            "txn_id": ["Hash"],
            "bakong_hash": ["Hash"],
            "posted_at": ["Date"],
            "direction": ["Type"],
            "counterparty": ["From / To", "Counterparty"],
            "counterparty_account": ["Account"],
            "amount": ["Amount"],
            "currency": ["Currency"],
            "description": ["Memo"],
            "reference": ["Bill Number", "Reference"],
        },
        "required": ["txn_id", "posted_at", "direction", "amount"],
        "amount_mode": "direction",
        "credit_words": ["received", "in", "credit", "ទទួល"],
        "debit_words": ["sent", "out", "debit", "ផ្ញើ"],
        "date_formats": ["%Y-%m-%d %H:%M:%S", "iso"],
        "thousands": ",",
        "decimal": ".",
        "encodings": ["utf-8"],
        "channel_words": {},
        "default_channel": "KHQR",
    },
    "krungsri": {
        "name": "Krungsri",
        # the Thai headers, or the English ones with the FX column; "Withdrawal" and
        # "Deposit" alone are any bank's words
        "signatures": [
            ["ถอนเงิน", "ฝากเงิน"],
            ["Withdrawal", "Deposit", "Exchange Rate"],
        ],
        "label": "Krungsri (KMA) — online statement, Excel 'Unicode text'",
        "description": (
            "UTF-16 tab-separated (or XLSX): 'Date, Time, Description, Channel, "
            "Withdrawal, Deposit, Balance, Reference, Original Amount, Original "
            "Currency, Exchange Rate, Fee' (or the Thai headers); Buddhist-Era "
            "dates '03/04/2569'."
        ),
        "columns": {
            "posted_at": ["Date", "วันที่"],
            "posted_time": ["Time", "เวลา"],
            "description": ["Description", "รายการ"],
            "channel": ["Channel", "ช่องทาง"],
            "debit": ["Withdrawal", "ถอนเงิน"],
            "credit": ["Deposit", "ฝากเงิน"],
            "balance_after": ["Balance", "ยอดคงเหลือ"],
            "reference": ["Reference", "e-Slip Ref", "เลขที่อ้างอิง"],
            "original_amount": ["Original Amount"],
            "original_currency": ["Original Currency"],
            "fx_rate": ["Exchange Rate"],
            "fee": ["Fee"],
        },
        "required": ["posted_at", "debit", "credit"],
        "amount_mode": "debit_credit",
        "date_formats": ["%d/%m/%Y"],
        "time_formats": ["%H:%M:%S", "%H:%M"],
        "year_offset": 543,
        "thousands": ",",
        "decimal": ".",
        "encodings": ["utf-16", "utf-8"],
        # PromptPay is Thailand's own transfer rail: domestic on a Thai account
        "channel_words": {
            **_COMMON_CHANNEL_WORDS,
            "promptpay": "TRANSFER",
            "พร้อมเพย์": "TRANSFER",
        },
    },
}


def preset_choices() -> list[tuple[str, str]]:
    return [(key, preset["label"]) for key, preset in PRESETS.items()]
