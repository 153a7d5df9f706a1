"""Evaluate config/settings.py afresh under a given environment (parse only: no
Django setup, nothing connected), for tests of what the environment turns on."""

from __future__ import annotations

import runpy
from pathlib import Path

SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings.py"
KNOBS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_BROKER_TRANSPORT_OPTIONS",
    "CONN_MAX_AGE",
    "DB_POOL",
    "DB_POOL_MIN_SIZE",
    "DB_POOL_MAX_SIZE",
    "DB_POOL_TIMEOUT",
    "DB_DISABLE_SERVER_SIDE_CURSORS",
    "METRICS_TOKEN",
)


def settings_from_env(monkeypatch, **env: str) -> dict:
    for knob in KNOBS:
        monkeypatch.delenv(knob, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(SETTINGS))
