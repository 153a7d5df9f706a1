"""Field encryption with rotatable keys: MultiFernet over FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a new key can be put in front and the
`rotate_encryption_keys` command re-encrypts the old rows under it.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from core.exceptions import ConfigurationError


class DecryptionError(Exception):
    """A stored secret that none of the configured keys can open."""


def _configured_keys() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip())
    if keys:
        return keys
    if not settings.DEBUG:
        raise ConfigurationError(
            "FIELD_ENCRYPTION_KEYS is not set; generate one with "
            "`python manage.py generate_encryption_key`"
        )
    # Embedded mode only: a key derived from SECRET_KEY, so the demo needs no setup.
    digest = hashlib.sha256(b"tonle-field-encryption:" + settings.SECRET_KEY.encode())
    return (base64.urlsafe_b64encode(digest.digest()).decode(),)


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key: {exc}"
        ) from None


def fernet() -> MultiFernet:
    return _fernet_for(_configured_keys())


def encrypt_text(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt_text(token: str) -> str:
    """Open a stored secret; raise rather than ever hand back the ciphertext."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise DecryptionError(
            "a stored secret could not be decrypted with FIELD_ENCRYPTION_KEYS "
            "(wrong or missing key)"
        ) from None


def rotate_token(token: str) -> str:
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("a stored secret could not be decrypted for rotation")
