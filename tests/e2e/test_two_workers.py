"""Two REAL Celery workers on one broker (this suite's Redis, else the filesystem
broker): the work spreads over both, no task runs twice, and a task whose worker
is killed mid-task is done again, once. This is what running a worker group on
several machines relies on (acks_late, reject_on_worker_lost, prefetch 1, and on
Redis the visibility timeout)."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections import Counter

import pytest
from django.db import connection
from kombu import Connection

from config.celery import app
from tests.e2e.worker import (
    RealWorker,
    broker_transport_options,
    start_worker,
    stop_worker,
    wait_until_ready,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    # two worker processes to start on a shared 2-core machine
    pytest.mark.timeout(240),
]

REDIS = os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
QUEUE = "polling"  # two machines of the payments worker group
TABLES = {
    "e2e_attempt": "job VARCHAR(64) NOT NULL, hostname VARCHAR(200) NOT NULL, "
    "pid INTEGER NOT NULL",
    "e2e_effect": "job VARCHAR(64) PRIMARY KEY, hostname VARCHAR(200) NOT NULL",
    "e2e_release": "job VARCHAR(64) PRIMARY KEY",
}


@pytest.fixture
def record_tables(db):
    with connection.cursor() as cursor:
        for table, columns in TABLES.items():
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} ({columns})")
    yield
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _attempts(job: str) -> list[tuple[str, int]]:
    return _rows("SELECT hostname, pid FROM e2e_attempt WHERE job = %s", [job])


def _effects(job: str) -> int:
    return len(_rows("SELECT 1 FROM e2e_effect WHERE job = %s", [job]))


def _release(job: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO e2e_release (job) VALUES (%s)", [job])


def _two_workers(tmp_path, **options) -> list[RealWorker]:
    """Two workers of one group ('two machines'), started side by side."""
    workers = []
    try:
        for name in ("machine-a", "machine-b"):
            workers.append(
                start_worker(
                    tmp_path=tmp_path,
                    beat=False,
                    name=name,
                    queues=QUEUE,
                    include="tests.e2e.worker_tasks",
                    wait=False,
                    **options,
                )
            )
        for worker in workers:
            wait_until_ready(worker)
    except BaseException:
        for worker in workers:
            stop_worker(worker)
        raise
    return workers


def _send(worker: RealWorker, *jobs: tuple) -> None:
    """Publish to the broker the workers share, as the web or the beat would."""
    url = worker.env["CELERY_BROKER_URL"]
    with Connection(url, transport_options=broker_transport_options(worker.env)) as c:
        for args in jobs:
            app.send_task("e2e.record_once", args=list(args), queue=QUEUE, connection=c)


def _owner(workers: list[RealWorker], hostname: str) -> RealWorker:
    (owner,) = [w for w in workers if hostname.startswith(f"{w.name}-")]
    return owner


@pytest.fixture
def not_eager():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_two_workers_share_the_work_and_do_each_task_once(
    record_tables, tmp_path, not_eager
):
    # given two workers of one group, each taking one task at a time
    workers = _two_workers(tmp_path)
    try:
        # when 16 tasks of a third of a second each are queued
        jobs = [f"spread-{n}-{uuid.uuid4().hex[:8]}" for n in range(16)]
        _send(workers[0], *[(job, 0.3) for job in jobs])
        done = workers[0].wait_for(
            lambda: len(_rows("SELECT job FROM e2e_effect")) == len(jobs) or None,
            timeout=90,
            what="every task's effect",
        )
    finally:
        for worker in workers:
            stop_worker(worker)
    # then both workers took some, and no task was started twice
    assert done
    attempts = _rows("SELECT job, hostname FROM e2e_attempt")
    by_worker = Counter(_owner(workers, hostname).name for _, hostname in attempts)
    assert set(by_worker) == {"machine-a", "machine-b"}, by_worker
    assert sorted(job for job, _ in attempts) == sorted(jobs)
    assert len(_rows("SELECT job FROM e2e_effect")) == len(jobs)


def test_a_task_whose_worker_process_is_killed_is_done_again_once(
    record_tables, tmp_path, not_eager
):
    # given two workers whose tasks run in a child process (prefork, as deployed)
    workers = _two_workers(tmp_path, pool="prefork", concurrency=1)
    try:
        # and a task that has started and waits to be released
        job = f"victim-{uuid.uuid4().hex[:8]}"
        _send(workers[0], (job, 0.0, True))
        ((hostname, pid),) = workers[0].wait_for(
            lambda: _attempts(job), timeout=60, what="the task to start"
        )
        # when the process running it is killed (out of memory, a crash)
        os.kill(pid, signal.SIGKILL)
        _release(job)
        # then the task is done again (by either worker), once
        workers[0].wait_for(lambda: _effects(job), timeout=60, what="the redo")
        attempts = _attempts(job)
    finally:
        for worker in workers:
            stop_worker(worker)
    assert len(attempts) == 2, attempts
    assert attempts[1][1] != pid
    assert _effects(job) == 1


if REDIS:

    def test_a_task_on_a_machine_that_dies_is_done_once_by_the_other(
        record_tables, tmp_path, not_eager
    ):
        # given two workers on Redis that give unacked work back after 3 s
        options = {
            "visibility_timeout": 3,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
        workers = _two_workers(
            tmp_path,
            extra_env={"CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(options)},
        )
        try:
            # and a task one of them has started
            job = f"machine-{uuid.uuid4().hex[:8]}"
            _send(workers[0], (job, 0.0, True))
            ((hostname, _),) = workers[0].wait_for(
                lambda: _attempts(job), timeout=60, what="the task to start"
            )
            dead = _owner(workers, hostname)
            survivor = next(w for w in workers if w is not dead)
            # when that whole worker dies at once (the machine is lost)
            os.killpg(dead.process.pid, signal.SIGKILL)
            dead.process.wait(timeout=10)
            _release(job)
            # then after the visibility timeout the other worker does it, once
            survivor.wait_for(lambda: _effects(job), timeout=60, what="the redo")
            attempts = _attempts(job)
        finally:
            for worker in workers:
                stop_worker(worker)
        assert [_owner(workers, h).name for h, _ in attempts] == [
            dead.name,
            survivor.name,
        ]
        assert _effects(job) == 1
