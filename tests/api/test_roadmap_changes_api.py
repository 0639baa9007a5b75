"""GET /api/v1/roadmap-changes/?since=: the roadmap's change log, read-only."""

import datetime

import pytest

from backlog import services
from backlog.models import RoadmapChange

pytestmark = pytest.mark.django_db


def test_since_filters_and_rows_carry_before_and_after(api, flow, foreign):
    cpo = flow.actor("cpo")
    epic = services.epic_create(actor=cpo, title="Billing")
    old = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    RoadmapChange.objects.filter(epic=epic).update(at=old)
    services.epic_update(actor=cpo, epic=epic, data={"job_size": 3})
    services.epic_create(actor=foreign.actor("cpo"), title="Theirs")
    client = api("stakeholder")

    everything = client.get("/api/v1/roadmap-changes/").json()["results"]
    assert [r["kind"] for r in everything] == ["created", "rescored"]
    recent = client.get("/api/v1/roadmap-changes/", {"since": "2026-01-02T00:00:00Z"})
    assert [
        (r["kind"], r["epic"], r["before"], r["after"], r["by"]) for r in recent.json()["results"]
    ] == [("rescored", epic.pk, {"job_size": 1}, {"job_size": 3}, flow.cpo.pk)]
    rescored = client.get("/api/v1/roadmap-changes/", {"kind": "created"}).json()["results"]
    assert [r["epic"] for r in rescored] == [epic.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"since": "yesterday"}, "since"), ({"kind": "deleted"}, "kind"), ({"epic": "x"}, "epic")],
)
def test_bad_filters_are_refused_naming_the_field(api, flow, params, field):
    response = api("cpo").get("/api/v1/roadmap-changes/", params)
    assert response.status_code == 400
    assert field in str(response.json())


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_the_change_log_is_never_written_through_the_api(api, flow, method):
    epic = services.epic_create(actor=flow.actor("cpo"), title="Billing")
    change = RoadmapChange.objects.get(epic=epic)
    url = "/api/v1/roadmap-changes/" + ("" if method == "post" else f"{change.pk}/")
    response = getattr(api("cpo"), method)(url, {"kind": "closed"}, format="json")
    assert response.status_code == 405
    assert RoadmapChange.objects.get(pk=change.pk).kind == "created"
