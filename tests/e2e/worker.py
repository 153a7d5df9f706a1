"""A REAL Celery worker (`celery -A config worker`, optionally with the embedded
beat) in a subprocess, sharing the test database and talking to the live server.

Use the `real_celery_worker` fixture (registered in tests/e2e/conftest.py) in a
`@pytest.mark.django_db(transaction=True)` test that also uses `live_server`:

    def test_x(live_server, real_celery_worker):
        ...  # the worker polls Bakong at live_server + /sandbox/bakong

The worker uses the broker from CELERY_BROKER_URL when it is Redis (on its own
database number per xdist worker), else a filesystem broker in a private tmp dir;
DATABASE_URL points at the test database, BAKONG_BASE_URL at the live server's
sandbox, and FIELD_ENCRYPTION_KEYS matches the tests' key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests.conftest import TEST_FERNET_KEY

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0


@dataclass
class RealWorker:
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str]
    name: str = "celery-worker"  # its hostname is "<name>-<test pid>@<host>"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, predicate, *, timeout: float = 60.0, what: str = "it"):
        """Poll `predicate()` until truthy; fail with the worker's log if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.process.poll() is not None:
                pytest.fail(f"the Celery worker exited early:\n{self.log()[-4000:]}")
            time.sleep(0.25)
        pytest.fail(f"timed out waiting for {what}; worker log:\n{self.log()[-4000:]}")


def database_url() -> str:
    """The test database as a DATABASE_URL another process can open."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    if "postgresql" in db["ENGINE"]:
        user = quote(db.get("USER") or "", safe="")
        password = db.get("PASSWORD") or ""
        auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
        host = db.get("HOST") or "127.0.0.1"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{db['NAME']}"
    raise RuntimeError(f"no DATABASE_URL for {db['ENGINE']}")


def broker_env(tmp_path: Path) -> dict[str, str]:
    """A broker only this test's worker and test process use."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis"):
        parts = urlsplit(url)
        base = int(parts.path.lstrip("/") or 0)
        xdist = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        offset = int(xdist[2:] or 0) if xdist.startswith("gw") else 0
        # Below the tests' own database number, one per xdist worker (never db 0).
        db_number = (base - 1 - offset) % 16 or 15
        private = urlunsplit(parts._replace(path=f"/{db_number}"))
        return {"CELERY_BROKER_URL": private, "CACHE_URL": private}
    folder = tmp_path / "celery"
    return {
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_FILESYSTEM_DIR": str(folder),
        "CACHE_URL": f"filecache://{tmp_path / 'cache'}",
    }


def ensure_beat_schedule() -> None:
    """Apply Tonle's beat schedule (core/beat.py) to the test database, whatever a
    transactional test's flush left."""
    from core.beat import beat_schedule_apply

    beat_schedule_apply()


def broker_transport_options(env: dict[str, str]) -> dict:
    """The kombu transport options a worker started with `env` uses (the same
    folders config/settings.py derives), so this process can publish to it."""
    if env["CELERY_BROKER_URL"].startswith("filesystem"):
        folder = Path(env["CELERY_FILESYSTEM_DIR"])
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "control_folder": str(folder / "control"),
        }
    return json.loads(env.get("CELERY_BROKER_TRANSPORT_OPTIONS") or "{}")


def start_worker(
    *,
    live_server_url: str = "http://127.0.0.1:9",
    tmp_path: Path,
    beat: bool = True,
    extra_env=None,
    name: str = "celery-worker",
    pool: str = "solo",
    concurrency: int | None = None,
    queues: str | None = None,
    include: str | None = None,
    wait: bool = True,
) -> RealWorker:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "FIELD_ENCRYPTION_KEYS": TEST_FERNET_KEY,
        "SITE_URL": live_server_url,
        "BAKONG_BASE_URL": f"{live_server_url}/sandbox/bakong",
        "BAKONG_TOKEN": "",
        "BAKONG_EMAIL": "",
        "SANDBOX_ENABLED": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        **broker_env(tmp_path),
        **(extra_env or {}),
    }
    if beat:
        ensure_beat_schedule()
    log_path = tmp_path / f"{name}.log"
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "config",
        "worker",
        f"--pool={pool}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname={name}-{os.getpid()}@%h",
    ]
    if concurrency is not None:
        command.append(f"--concurrency={concurrency}")
    if queues is not None:
        command.append(f"--queues={queues}")  # else every queue in settings
    if include is not None:
        command.append(f"--include={include}")
    if beat:
        command += ["-B", f"--schedule={tmp_path / 'beat-schedule'}"]
    log = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = RealWorker(process=process, log_path=log_path, env=env, name=name)
    if wait:
        wait_until_ready(worker)
    return worker


def wait_until_ready(worker: RealWorker) -> None:
    worker.wait_for(
        lambda: "ready." in worker.log(), timeout=READY_TIMEOUT, what="worker ready"
    )


def stop_worker(worker: RealWorker) -> None:
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=5)


@pytest.fixture
def real_celery_worker(live_server, tmp_path):
    """A real `celery -A config worker -B` against the test DB and live server."""
    worker = start_worker(live_server_url=live_server.url, tmp_path=tmp_path)
    try:
        yield worker
    finally:
        stop_worker(worker)
