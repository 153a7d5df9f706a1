"""A broker that cannot take a message never turns committed work into an error:
the send is logged and the sweeper re-sends what the database says is due. And the
embedded filesystem broker survives losing its folders."""

from __future__ import annotations

import logging
import shutil

import pytest
from celery import Celery
from kombu import Connection
from kombu.exceptions import OperationalError

from config.celery import app
from core.tasks import enqueue, enqueue_on_commit
from payments import tasks as payment_tasks
from payments.models import PaymentRequest
from payments.services.polling import payment_request_ids_due


@pytest.fixture
def broker_down(monkeypatch):
    """Celery really sends (not eager), and the broker refuses every message."""
    monkeypatch.setitem(app.conf, "task_always_eager", False)

    def refuse(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(app.amqp, "send_task_message", refuse)


def test_enqueue_logs_and_swallows_a_broker_failure(broker_down, caplog):
    # when
    with caplog.at_level(logging.ERROR, logger="tonle.tasks"):
        sent = enqueue(payment_tasks.check_payment, 42, countdown=3)
    # then
    assert sent is False
    record = next(r for r in caplog.records if r.msg == "tasks.enqueue_failed")
    assert record.task == "payments.check_payment"
    assert record.task_args == [42]


def test_enqueue_sends_when_the_broker_is_up(monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    sent = []
    monkeypatch.setattr(
        app.amqp, "send_task_message", lambda *a, **k: sent.append(a[1])
    )
    assert enqueue(payment_tasks.check_payment, 42) is True
    assert sent == ["payments.check_payment"]


def test_a_bug_in_an_eager_task_is_not_mistaken_for_a_broker_failure(monkeypatch):
    # given eager mode (no broker: the task runs here) and a task that fails
    probe = Celery("probe", set_as_current=False)
    probe.conf.task_always_eager = True
    probe.conf.task_eager_propagates = True

    @probe.task(name="probe.broken")
    def broken():
        raise FileNotFoundError("a bug in the task, not the broker")

    # then its error surfaces
    with pytest.raises(FileNotFoundError, match="a bug in the task"):
        enqueue(broken)


@pytest.mark.django_db
def test_enqueue_on_commit_sends_only_after_the_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    sent = []
    monkeypatch.setattr(
        app.amqp, "send_task_message", lambda *a, **k: sent.append(a[1])
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(payment_tasks.check_payment, 7)
        assert sent == []
    assert len(callbacks) == 1
    assert sent == ["payments.check_payment"]


@pytest.mark.django_db(transaction=True)
def test_qr_create_answers_201_while_the_broker_is_down_and_the_sweeper_finds_it(
    broker_down, api_client
):
    # when a shop creates a code while the broker refuses messages (the commit is
    # real here, so the send happens inside the request)
    answer = api_client.post(
        "/api/v1/qr", {"amount": "4.00", "currency": "USD"}, format="json"
    )
    # then the code is issued all the same
    assert answer.status_code == 201
    request = PaymentRequest.objects.get(md5=answer.json()["md5"])
    # and the database says it is due, so the sweeper checks it once due
    assert request.next_check_at is not None
    assert request.pk in payment_request_ids_due(now=request.next_check_at)


# -- the embedded filesystem broker ---------------------------------------------


def filesystem_connection(folder) -> Connection:
    queue = folder / "queue"
    options = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }
    for name in ("queue", "processed"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return Connection(
        "filesystem://",
        transport="core.celery_filesystem:Transport",
        transport_options=options,
    )


def test_the_worker_side_survives_a_deleted_queue_folder(tmp_path):
    # given a consumer polling the queue, whose folder is then deleted
    with filesystem_connection(tmp_path / "celery") as connection:
        queue = connection.SimpleQueue("polling")
        queue.put({"n": 1})
        assert queue.get(timeout=1).payload == {"n": 1}
        shutil.rmtree(tmp_path / "celery")
        # when it polls again: nothing there, but no crash, and the folder is back
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.1)
        assert (tmp_path / "celery" / "queue").is_dir()
        # and messages flow again
        queue.put({"n": 2})
        assert queue.get(timeout=1).payload == {"n": 2}
        queue.close()


def test_the_sender_side_recreates_a_deleted_queue_folder(tmp_path):
    with filesystem_connection(tmp_path / "celery") as connection:
        sender = connection.SimpleQueue("polling")
        shutil.rmtree(tmp_path / "celery")
        # when a web process sends after the folder went away
        sender.put({"n": 3})
        # then the message is there to take
        assert sender.get(timeout=1).payload == {"n": 3}
        sender.close()


def test_kombus_own_transport_would_have_died(tmp_path):
    """The failure this module exists for (so its test above means something)."""
    queue_folder = tmp_path / "queue"
    queue_folder.mkdir()
    options = {
        "data_folder_in": str(queue_folder),
        "data_folder_out": str(queue_folder),
    }
    with Connection("filesystem://", transport_options=options) as connection:
        queue = connection.SimpleQueue("polling")
        shutil.rmtree(queue_folder)
        with pytest.raises(FileNotFoundError):
            queue.get(timeout=0.1)
        queue.close()


def test_the_embedded_default_uses_this_transport(settings):
    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        pytest.skip("the broker is not the filesystem one here")
    with app.connection_for_write() as connection:
        assert type(connection.transport).__module__ == "core.celery_filesystem"
