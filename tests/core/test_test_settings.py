from django.contrib.auth.hashers import get_hasher

from tests.factories import UserFactory


def test_the_suite_hashes_passwords_with_the_fast_hasher(db):
    # given a user the factories make
    user = UserFactory(username="hashed")
    # then their password is hashed with MD5 (tests only), and still checks
    assert get_hasher().algorithm == "md5"
    assert user.password.startswith("md5$")
    assert user.check_password("pw-for-tests")


def test_production_settings_keep_django_s_default_hashers():
    # the override lives in tests/conftest.py, never in config/settings.py
    from config import settings as production

    assert not hasattr(production, "PASSWORD_HASHERS")
