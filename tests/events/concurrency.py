"""Calls run at once, each in its own thread with its own database connection (the
PostgreSQL concurrency tests): every call's outcome, and any crash reported, never
swallowed."""

import threading

from django.db import connection

from sem.errors import RuleViolation


def at_once(calls, *, field: str, accepted: str) -> list[str]:
    """Start every call together; each outcome is ``accepted`` or the refusal's message on
    ``field``. A call that crashes otherwise fails the test."""
    barrier = threading.Barrier(len(calls))
    outcomes, crashes, lock = [], [], threading.Lock()

    def run(call):
        try:
            barrier.wait()
            try:
                call()
                outcome = accepted
            except RuleViolation as refused:
                outcome = refused.detail[field][0]
            with lock:
                outcomes.append(outcome)
        except Exception as crash:  # noqa: BLE001 (reported below, never swallowed)
            crashes.append(crash)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not crashes, crashes
    assert len(outcomes) == len(calls), "a call never finished"
    return outcomes
