import socket
import threading
import time
from contextlib import contextmanager
from unittest import mock

import pytest
from django.test import override_settings

REPLIES = {
    "PING": b"+PONG\r\n",
    # redis-py opens with HELLO 3 (RESP3) and expects a map back.
    "HELLO": b"%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n",
}


def _commands(conn):
    """Each command a client sends, as a list of words (RESP arrays of bulk strings)."""
    stream = conn.makefile("rb")
    while True:
        try:
            header = stream.readline()
        except OSError:
            return
        if not header.startswith(b"*"):
            return
        words = []
        for _ in range(int(header[1:])):
            size = int(stream.readline()[1:])
            words.append(stream.read(size + 2)[:-2].decode().upper())
        yield words


@contextmanager
def fake_redis(*, answer: bool):
    """A loopback server speaking just enough RESP: it answers PING with PONG (or never
    answers), so the health check is seen to really talk to the broker."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    pings = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                for command in _commands(conn):
                    if command[0] == "PING":
                        pings.append(command)
                        if not answer:
                            continue
                    conn.sendall(REPLIES.get(command[0], b"+OK\r\n"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0", pings
    finally:
        server.close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.django_db
def test_healthz_without_a_broker_says_tasks_run_in_process(client):
    with override_settings(CELERY_BROKER_URL="memory://localhost/"):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": "in-process"}


@pytest.mark.django_db
def test_healthz_pings_the_broker_and_reports_it_ok(client):
    with fake_redis(answer=True) as (url, pings), override_settings(CELERY_BROKER_URL=url):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": "ok"}
    assert len(pings) == 1


@pytest.mark.django_db
def test_healthz_reports_a_refused_broker_unreachable(client):
    with override_settings(CELERY_BROKER_URL=closed_port_url()):
        response = client.get("/healthz")
    assert response.status_code == 200  # pages still work; nothing can be queued
    assert response.json() == {"status": "degraded", "database": True, "broker": "unreachable"}


def test_the_broker_check_gives_up_on_a_silent_broker_within_its_timeout():
    from sem.views import BROKER_TIMEOUT_SECONDS, _broker_state

    result = []
    with fake_redis(answer=False) as (url, pings):
        # In a thread, so a check without a timeout fails this test instead of hanging it.
        check = threading.Thread(target=lambda: result.append(_broker_state(url)), daemon=True)
        started = time.monotonic()
        check.start()
        check.join(BROKER_TIMEOUT_SECONDS + 4)
        elapsed = time.monotonic() - started
    assert result == ["unreachable"], f"no answer after {elapsed:.1f} s"
    assert pings, "the check must have sent a PING"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable(client):
    with (
        mock.patch("sem.views._database_ok", return_value=False),
        override_settings(CELERY_BROKER_URL="memory://localhost/"),
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": False, "broker": "in-process"}
