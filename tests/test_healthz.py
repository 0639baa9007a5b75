from unittest import mock

import pytest


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] is True
    assert "broker" in response.json()


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable(client):
    with mock.patch("sem.views._database_ok", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": False,
        "broker": response.json()["broker"],
    }


def test_broker_check_fails_cleanly_on_a_closed_port():
    from sem.views import _broker_ok

    assert _broker_ok("redis://127.0.0.1:1/0") is False
    assert _broker_ok("memory://") is True
