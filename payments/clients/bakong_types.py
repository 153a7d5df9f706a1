"""What the Bakong client hands to the payment services: plain frozen dataclasses,
amounts as Decimal (converted once, at the edge, via Decimal(str(x)))."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class BakongTransactionInfo:
    """One transaction as Bakong's check_transaction_* answers describe it."""

    hash: str
    from_account_id: str
    to_account_id: str
    currency: str
    amount: Decimal
    description: str = ""
    created_date_ms: int | None = None
    acknowledged_date_ms: int | None = None
    external_ref: str = ""
    md5: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def short_hash(self) -> str:
        return self.hash[:8]


class CheckStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"  # errorCode 1
    FAILED = "failed"  # errorCode 3: the payer's transaction failed
    STATIC_QR = "static_qr"  # errorCode 2: Bakong cannot check a static code


@dataclass(frozen=True)
class CheckResult:
    md5: str
    status: CheckStatus
    transaction: BakongTransactionInfo | None = None
    message: str = ""
