"""Errors of the merchants app (under the project's one base, core.exceptions)."""

from __future__ import annotations

from core.exceptions import Forbidden


class ConsentRefused(Forbidden):
    """The customer's consent does not cover this now: revoked, expired, or out of
    scope. Retrying will not help until the consent is renewed."""

    code = "consent_refused"
