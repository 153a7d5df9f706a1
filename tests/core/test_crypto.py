import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from core.crypto import DecryptionError
from merchants.models import Connection
from tests.factories import ConnectionFactory


def _raw_credentials(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM merchants_connection WHERE id = %s", [pk]
        )
        return cursor.fetchone()[0]


def test_credentials_are_stored_encrypted(db, settings):
    # given
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    # when
    conn = ConnectionFactory(credentials={"token": "s3cr3t-bank-token"})
    # then
    raw = _raw_credentials(conn.pk)
    assert "s3cr3t" not in raw
    assert Connection.objects.get(pk=conn.pk).credentials == {
        "token": "s3cr3t-bank-token"
    }


def test_loading_with_a_wrong_key_raises_instead_of_returning_ciphertext(db, settings):
    # given
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    conn = ConnectionFactory(credentials={"token": "abc"})
    # when the key is replaced by an unrelated one
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    # then
    with pytest.raises(DecryptionError, match="could not be decrypted"):
        Connection.objects.get(pk=conn.pk)


def test_rotate_command_re_encrypts_under_the_new_key(db, settings):
    # given a row written under the old key
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    conn = ConnectionFactory(credentials={"token": "abc"})
    # when the new key is put first and the command runs
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys", "--json")
    # then the row opens with the new key alone
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert Connection.objects.get(pk=conn.pk).credentials == {"token": "abc"}


def test_a_malformed_key_is_a_configuration_error(db, settings):
    from core.exceptions import ConfigurationError

    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ConfigurationError, match="not a Fernet key"):
        ConnectionFactory()
