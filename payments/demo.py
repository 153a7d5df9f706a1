"""Demo payment requests (filled in by the payments app)."""

from merchants.models import Account, Merchant


def seed_demo_data(*, merchant: Merchant, accounts: list[Account]) -> None:
    """Nothing yet: payments adds demo KHQR requests here."""
