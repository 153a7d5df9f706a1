"""The database settings the environment asks for: Django's psycopg pool, or
persistent connections, and PgBouncer's transaction mode (parse only)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.core.settings_from_env import settings_from_env

POSTGRES = "postgres://tonle:pw@db.internal:5432/tonle"


def test_db_pool_builds_psycopg_pool_options_and_drops_persistent_connections(
    monkeypatch,
):
    # when
    conf = settings_from_env(
        monkeypatch,
        DATABASE_URL=POSTGRES,
        DB_POOL="true",
        DB_POOL_MIN_SIZE="2",
        DB_POOL_MAX_SIZE="8",
        DB_POOL_TIMEOUT="5",
    )
    # then
    db = conf["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 8, "timeout": 5}
    assert db["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent ones


def test_db_pool_defaults_are_small_per_process(monkeypatch):
    conf = settings_from_env(monkeypatch, DATABASE_URL=POSTGRES, DB_POOL="true")
    pool = conf["DATABASES"]["default"]["OPTIONS"]["pool"]
    assert pool == {"min_size": 1, "max_size": 4, "timeout": 10}


def test_without_db_pool_connections_persist_with_health_checks(monkeypatch):
    conf = settings_from_env(monkeypatch, DATABASE_URL=POSTGRES, CONN_MAX_AGE="30")
    db = conf["DATABASES"]["default"]
    assert "pool" not in db.get("OPTIONS", {})
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (30, True)
    assert db["DISABLE_SERVER_SIDE_CURSORS"] is False


def test_pgbouncer_transaction_mode_turns_server_side_cursors_off(monkeypatch):
    conf = settings_from_env(
        monkeypatch,
        DATABASE_URL="postgres://tonle@pgbouncer.internal:6432/tonle",
        DB_DISABLE_SERVER_SIDE_CURSORS="true",
        CONN_MAX_AGE="0",
    )
    assert conf["DATABASES"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_db_pool_on_sqlite_is_refused_naming_the_setting(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DB_POOL=true needs a postgres"):
        settings_from_env(monkeypatch, DB_POOL="true")


def test_the_pool_package_is_installed():
    # Django imports it only when the first pooled connection opens
    from psycopg_pool import ConnectionPool

    assert ConnectionPool.__module__.startswith("psycopg_pool")
