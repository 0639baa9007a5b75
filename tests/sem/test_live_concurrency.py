"""Concurrent bumps of one live key lose nothing and never collide on the first insert."""

import threading

import pytest
from django.db import connections, transaction

from sem.live import live_bump, live_versions

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_writers_bump_a_new_key_at_once():
    start = threading.Barrier(20)
    errors = []

    def writer():
        try:
            start.wait()
            with transaction.atomic():
                live_bump("event:1", "roadmap:1")
        except Exception as error:  # the assertion below reports it
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert live_versions(["event:1", "roadmap:1"]) == {"event:1": 20, "roadmap:1": 20}
