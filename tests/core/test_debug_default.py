"""DEBUG is off unless asked for; the demo's checkout asks for it in its own .env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def settings_seen(env_overrides: dict[str, str]) -> dict:
    """config.settings as a fresh process sees it, with no DEBUG in its environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DEBUG", "SANDBOX_ENABLED", "SECRET_KEY")
    }
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env_overrides})
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({'DEBUG': settings.DEBUG, "
        "'SANDBOX_ENABLED': settings.SANDBOX_ENABLED, "
        "'SECRET_KEY': settings.SECRET_KEY}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_debug_and_the_sandbox_are_off_when_nothing_asks_for_them(tmp_path):
    # given no environment and no .env file
    seen = settings_seen({"TONLE_ENV_FILE": str(tmp_path / "absent.env")})
    # then
    assert seen["DEBUG"] is False
    assert seen["SANDBOX_ENABLED"] is False


def test_demo_env_turns_debug_on_with_keys_of_its_own(tmp_path):
    # given the file `make run` writes in a fresh checkout
    subprocess.run(
        [sys.executable, str(REPO / "config" / "demo_env.py"), ".env"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    text = (tmp_path / ".env").read_text()
    # when the settings read it
    seen = settings_seen({"TONLE_ENV_FILE": str(tmp_path / ".env")})
    # then DEBUG (and so the sandbox) is on, with a secret key that is not the
    # built-in one, and the file is for its owner only
    assert seen["DEBUG"] is True
    assert seen["SANDBOX_ENABLED"] is True
    assert "insecure" not in seen["SECRET_KEY"]
    assert "FIELD_ENCRYPTION_KEYS=" in text
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0


def test_demo_env_never_overwrites_an_existing_file(tmp_path):
    # given a .env the user edited
    (tmp_path / ".env").write_text("DEBUG=False\n")
    # when make runs the writer again
    subprocess.run(
        [sys.executable, str(REPO / "config" / "demo_env.py"), ".env"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    # then it is left alone
    assert (tmp_path / ".env").read_text() == "DEBUG=False\n"


def test_demo_env_keeps_the_development_keys_for_an_older_demo_database(tmp_path):
    # given a checkout whose var/ database predates .env (its secrets were sealed
    # with the key derived from the built-in SECRET_KEY)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "tonle.sqlite3").write_bytes(b"")
    # when
    subprocess.run(
        [sys.executable, str(REPO / "config" / "demo_env.py"), ".env"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    # then DEBUG is on and no new key would lock those secrets away
    text = (tmp_path / ".env").read_text()
    assert "DEBUG=True" in text
    assert "SECRET_KEY=" not in text
    assert "FIELD_ENCRYPTION_KEYS=" not in text


def make_setup_plan(folder: Path) -> list[str]:
    done = subprocess.run(
        ["make", "-n", "setup"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MAKEFLAGS": ""},
        check=True,
    )
    return done.stdout.splitlines()


def test_make_setup_writes_the_demo_env_once_before_migrating(tmp_path):
    # given a checkout's Makefile without a .env
    for name in ("Makefile", "requirements.txt"):
        (tmp_path / name).write_text((REPO / name).read_text())
    # when make shows what `make setup` runs
    lines = make_setup_plan(tmp_path)
    # then the demo's .env is written before the database is migrated
    writer = next(i for i, line in enumerate(lines) if "demo_env.py .env" in line)
    migrate = next(i for i, line in enumerate(lines) if "migrate" in line)
    assert writer < migrate
    # and once it exists, it is not written again
    (tmp_path / ".env").write_text("DEBUG=True\n")
    assert not any("demo_env.py" in line for line in make_setup_plan(tmp_path))
