"""short_id: a long unbroken id shortened for a table cell, others whole."""

import pytest

from core.templatetags.ids import short_id

HASH = "265ba12d13191a45fbbb1ca825cd5ab1" * 2


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (HASH, "265ba12d…"),
        ("SBXCB7FCA0E558C70A9", "SBXCB7FCA0E558C70A9"),  # a bank's id, 19 characters
        ("INV-2026-000042", "INV-2026-000042"),
        ("Refund for order DEMO-1004 returned", "Refund for order DEMO-1004 returned"),
        ("", ""),
    ],
)
def test_short_id(value, shown):
    assert short_id(value) == shown
