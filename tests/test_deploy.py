"""deploy/ is checked without Docker: the compose file, the Procfile and the systemd
units parse, name only settings Tonle reads, run one beat, and between their worker
groups consume every queue exactly once (payments apart from reports)."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
UNITS = DEPLOY / "systemd"
ALL_QUEUES = {*settings.TONLE_QUEUES, "celery"}
SLOW = {"reports", "reconciliation"}
FAST = {"polling", "webhooks"}
# read by gunicorn itself, not by Django
FOREIGN_KNOBS = {"WEB_CONCURRENCY", "PORT"}


def _settings_knobs() -> set[str]:
    text = (REPO / "config" / "settings.py").read_text()
    return set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', text))


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _command(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def _option(argv: list[str], name: str) -> str | None:
    for n, arg in enumerate(argv):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name:
            return argv[n + 1]
    return None


def _worker_groups(commands: dict[str, list[str]]) -> dict[str, set[str]]:
    groups = {}
    for name, argv in commands.items():
        if argv[:4] == ["celery", "-A", "config", "worker"]:
            queues = _option(argv, "--queues") or _option(argv, "-Q")
            assert queues, f"{name} names no queue: it would consume all of them"
            groups[name] = set(queues.split(","))
    return groups


def _assert_queue_layout(groups: dict[str, set[str]]) -> None:
    consumed = [queue for queues in groups.values() for queue in queues]
    assert sorted(consumed) == sorted(ALL_QUEUES), "each queue exactly once"
    for name, queues in groups.items():
        assert not (queues & FAST and queues & SLOW), f"{name} mixes {queues}"


def test_the_compose_file_has_the_shared_state_web_workers_one_beat_and_a_migrate():
    # given
    services = _compose()["services"]
    # then
    assert services["db"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert {"web", "migrate", "beat"} <= set(services)
    commands = {name: _command(service) for name, service in services.items()}
    beats = [
        n
        for n, argv in commands.items()
        if argv[:4] == ["celery", "-A", "config", "beat"]
    ]
    assert beats == ["beat"], "exactly one beat"
    assert not any("-B" in argv or "--beat" in argv for argv in commands.values())
    assert commands["web"][:2] == ["gunicorn", "config.wsgi"]
    assert services["web"]["ports"] == ["8000:8000"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert commands["migrate"] == [
        "sh",
        "-c",
        "python manage.py migrate --noinput && python manage.py seed_demo",
    ]


def test_the_compose_worker_groups_consume_every_queue_once_payments_apart():
    groups = _worker_groups({n: _command(s) for n, s in _compose()["services"].items()})
    assert set(groups) == {"worker-payments", "worker-ingest", "worker-reports"}
    _assert_queue_layout(groups)
    assert groups["worker-payments"] == FAST


def test_every_compose_app_service_waits_for_the_database_broker_and_migrate():
    services = _compose()["services"]
    for name in ("web", "beat", "worker-payments", "worker-ingest", "worker-reports"):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
        assert service["volumes"] == ["media:/app/var/media"], name
    assert set(services["migrate"]["depends_on"]) == {"db", "redis"}


def test_the_compose_environment_names_only_settings_tonle_reads():
    # given
    services = _compose()["services"]
    db = services["db"]["environment"]
    env = services["web"]["environment"]
    # then a misspelt knob would fail here, not silently in production
    assert set(env) - _settings_knobs() == set()
    assert env["DATABASE_URL"].startswith(
        f"postgres://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db:5432/"
        f"{db['POSTGRES_DB']}"
    )
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["CACHE_URL"] != env["CELERY_BROKER_URL"]
    assert env["DEBUG"] == "False"
    assert "web" in env["ALLOWED_HOSTS"].split(",")
    assert "localhost" in env["ALLOWED_HOSTS"].split(",")


def test_the_dockerfile_builds_from_python_311_with_the_pinned_requirements():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "COPY requirements.txt" in text
    assert "pip install -r requirements.txt" in text
    assert "collectstatic --noinput" in text
    assert re.search(r"^USER tonle$", text, re.M), "never runs as root"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = shlex.split(command)
    return entries


def test_the_procfile_releases_by_migrating_and_runs_the_same_layout():
    entries = _procfile()
    assert entries["release"] == ["python", "manage.py", "migrate", "--noinput"]
    assert entries["web"][:2] == ["gunicorn", "config.wsgi"]
    assert entries["beat"][:4] == ["celery", "-A", "config", "beat"]
    groups = _worker_groups(entries)
    _assert_queue_layout(groups)
    compose = _worker_groups(
        {n: _command(s) for n, s in _compose()["services"].items()}
    )
    assert groups == compose


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


UNIT_NAMES = ["tonle-web.service", "tonle-worker@.service", "tonle-beat.service"]


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_each_systemd_unit_has_the_keys_a_service_needs(name):
    unit = _unit(name)
    service = unit["Service"]
    executable = service["ExecStart"].split()[0]
    assert executable.startswith("/srv/tonle/.venv/bin/"), executable
    assert service["User"] == "tonle" and service["Group"] == "tonle"
    assert service["WorkingDirectory"] == "/srv/tonle"
    # (a key given twice, as EnvironmentFile may be, is kept once by configparser)
    text = (UNITS / name).read_text()
    assert "EnvironmentFile=/etc/tonle/tonle.env" in text.splitlines()
    assert service["Restart"] == "always"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit["Unit"]["After"]


def test_the_worker_unit_takes_its_queues_from_its_groups_environment_file():
    # given the templated unit and the three groups' files
    text = (UNITS / "tonle-worker@.service").read_text()
    assert "EnvironmentFile=/etc/tonle/worker-%i.env" in text
    assert "--queues=${TONLE_WORKER_QUEUES}" in text
    groups = {}
    for path in sorted(UNITS.glob("worker-*.env")):
        values = dict(
            line.split("=", 1)
            for line in path.read_text().splitlines()
            if line and not line.startswith("#")
        )
        assert int(values["TONLE_WORKER_CONCURRENCY"]) > 0
        groups[path.stem] = set(values["TONLE_WORKER_QUEUES"].split(","))
    # then they split the queues as the compose file does
    _assert_queue_layout(groups)
    compose = _worker_groups(
        {n: _command(s) for n, s in _compose()["services"].items()}
    )
    assert sorted(map(sorted, groups.values())) == sorted(map(sorted, compose.values()))


def test_the_environment_file_example_names_only_settings_tonle_reads():
    lines = (UNITS / "tonle.env.example").read_text().splitlines()
    names = {
        line.lstrip("# ").split("=", 1)[0]
        for line in lines
        if re.match(r"^#? ?[A-Z][A-Z0-9_]*=", line)
    }
    assert names - _settings_knobs() - FOREIGN_KNOBS == set()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"} <= names


if shutil.which("systemd-analyze"):

    def test_systemd_analyze_verifies_the_units_without_a_word(tmp_path):
        # given the units where /srv/tonle would be, with stand-in executables
        root = tmp_path / "srv" / "tonle"
        (root / ".venv" / "bin").mkdir(parents=True)
        for program in ("gunicorn", "celery"):
            path = root / ".venv" / "bin" / program
            path.write_text("#!/bin/sh\n")
            path.chmod(0o755)
        paths = []
        for name in UNIT_NAMES:
            target = name.replace("@.service", "@payments.service")
            text = (UNITS / name).read_text().replace("/srv/tonle", str(root))
            (tmp_path / target).write_text(text)
            paths.append(f"./{target}")
        # when
        done = subprocess.run(
            ["systemd-analyze", "verify", *paths],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        # then no error and no warning (an unknown key is only a warning)
        assert (done.returncode, done.stderr.strip()) == (0, ""), done.stderr
