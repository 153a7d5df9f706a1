"""The canonical statement CSV's columns (DESIGN.md), defined once: the import
presets, the ledger, the documents, the benches and the tests all read them here.

Pure: no Django, so a bench or a parser can import it before Django is set up.
"""

from __future__ import annotations

# In the contract's order; only CANONICAL_REQUIRED must be filled.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "txn_id",
    "posted_at",
    "value_date",
    "amount",
    "currency",
    "channel",
    "counterparty",
    "counterparty_account",
    "reference",
    "bakong_hash",
    "description",
    "balance_after",
    "original_amount",
    "original_currency",
    "fx_rate",
    "fee",
    "biller_category",
)
CANONICAL_REQUIRED: tuple[str, ...] = ("txn_id", "posted_at", "amount", "currency")

# The ledger (Transaction) field behind each column, where its name differs.
_LEDGER_NAMES = {"txn_id": "external_id", "counterparty": "counterparty_name"}

# The ledger columns behind the canonical CSV, in its column order.
CANONICAL_LEDGER_FIELDS: tuple[str, ...] = tuple(
    _LEDGER_NAMES.get(column, column) for column in CANONICAL_COLUMNS
)
