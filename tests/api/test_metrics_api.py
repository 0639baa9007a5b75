"""/api/v1/metrics/: the stored flow metrics, the numbers behind each chart, and asking the
job to run now. Every role of the own Flow Team reads them; nobody sees another's."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flow import services
from flow.models import MetricSnapshot
from tests.flow.history import AS_OF, story_with

pytestmark = pytest.mark.django_db
ROLES = ["cpo", "csm", "architect", "stakeholder", "po1", "sm1", "dev1", "po2", "dev2"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_its_own_flow_teams_metrics(api, metrics_history, foreign, role):
    body = api(role).get("/api/v1/metrics/").json()
    assert body["team"] is None and body["as_of"] == "2026-03-10"
    assert body["range"] == {
        "start": "2026-03-02",
        "end": "2026-03-10",
        "days": 9,
        "first_day": "2026-03-02",
    }
    assert body["cycle_time"]["percentiles"] == {"50": 1, "70": 6, "85": 6, "95": 6}
    assert body["throughput"]["daily"] == [0, 1, 0, 0, 0, 0, 0, 1, 0]
    assert [i["title"] for i in body["aging"]["items"]] == ["Dunning letters"]
    assert "Cycle time" in body["conventions"]
    assert "Foreign secret" not in str(body)
    foreign_team = foreign.scrum_teams[0].pk
    refused = api(role).get(f"/api/v1/metrics/?scrum_team={foreign_team}")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "scrum_team": [f"the Flow Team has no Scrum Team with id {foreign_team}"]
    }


def test_a_scrum_team_a_range_and_the_forecast_questions(api, metrics_history):
    team = metrics_history.scrum_teams[0].pk
    body = (
        api("dev2")
        .get(f"/api/v1/metrics/?scrum_team={team}&start=2026-03-05&items=2&by=2026-03-31")
        .json()
    )
    assert body["team"] == 1
    assert [i["cycle_time"] for i in body["cycle_time"]["items"]] == [6]
    assert body["throughput"]["dates"][0] == "2026-03-05"
    assert body["answers"]["when"]["items"] == 2
    assert set(body["answers"]["how_many"]["counts"]) == {"50", "70", "85", "95"}
    counts = body["answers"]["how_many"]["counts"]
    assert counts["50"] >= counts["85"]  # the safer bet is the smaller number


def test_the_numbers_behind_one_chart(api, metrics_history):
    body = api("sm1").get("/api/v1/metrics/throughput/?start=2026-03-08").json()
    assert body == {
        "chart": "throughput",
        "team": None,
        "as_of": "2026-03-10",
        "range": {"start": "2026-03-08", "end": "2026-03-10", "days": 3, "first_day": "2026-03-02"},
        "columns": ["date", "finished"],
        "rows": [["2026-03-08", 0], ["2026-03-09", 1], ["2026-03-10", 0]],
    }
    assert api("sm1").get("/api/v1/metrics/burndown/").status_code == 404


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("end=2026-02-20", "2026-02-20", "2026-02-20"),  # ends before the history starts
        ("start=2026-01-01&end=2026-03-01", "2026-01-01", "2026-03-01"),
        ("start=2026-04-01", "2026-04-01", "2026-04-01"),  # begins after the last day
        ("start=2026-03-11&end=2026-03-20", "2026-03-11", "2026-03-20"),
    ],
)
def test_a_range_outside_the_history_is_empty_never_other_days(
    api, metrics_history, query, start, end
):
    body = api("po1").get(f"/api/v1/metrics/?{query}").json()
    assert body["range"] == {"start": start, "end": end, "days": 0, "first_day": "2026-03-02"}
    assert body["throughput"] == {"dates": [], "daily": [], "weekly": [], "total": 0}
    assert body["wip"] == {"dates": [], "daily": []}
    assert body["cumulative_flow"]["dates"] == []
    assert set(map(len, body["cumulative_flow"]["states"].values())) == {0}
    assert body["cycle_time"]["items"] == []
    assert set(body["cycle_time"]["percentiles"].values()) == {None}
    assert set(body["distribution"]["total"].values()) == {0}
    assert body["flow_efficiency"]["items"] == 0
    rows = api("po1").get(f"/api/v1/metrics/wip/?{query}").json()["rows"]
    assert rows == []


def test_a_range_reaching_into_the_history_shows_only_its_own_days(api, metrics_history):
    # Hand-checked: the history starts on 03-02; on 03-02 nothing was started, on 03-03 the
    # same-day fix started and finished (WIP 1, throughput 1).
    body = api("po1").get("/api/v1/metrics/?start=2026-02-20&end=2026-03-03").json()
    assert body["range"] == {
        "start": "2026-03-02",
        "end": "2026-03-03",
        "days": 2,
        "first_day": "2026-03-02",
    }
    assert body["throughput"]["daily"] == [0, 1] and body["wip"]["daily"] == [0, 1]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        (
            "start=2026-02-30",
            {"start": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),  # fmt: skip
        ("start=2026-03-09&end=2026-03-05", {"end": ["must be on or after start"]}),
        ("items=0", {"items": ["Ensure this value is greater than or equal to 1."]}),
        ("scrum_team=abc", {"scrum_team": ["A valid integer is required."]}),
    ],
)
def test_bad_queries_name_the_field_and_why(api, metrics_history, query, errors):
    response = api("po1").get(f"/api/v1/metrics/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == errors


def test_before_the_first_run_it_is_404_and_without_credentials_401(api, flow):
    response = api("cpo").get("/api/v1/metrics/")
    assert response.status_code == 404
    assert api("cpo").get("/api/v1/metrics/wip/").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/metrics/").status_code == 401


def test_reads_run_the_same_queries_for_a_small_and_a_large_history(api, metrics_history):
    client = api("cpo")
    team = metrics_history.scrum_teams[0].pk

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/metrics/?scrum_team={team}").status_code == 200
            assert client.get("/api/v1/metrics/cycle-time/").status_code == 200
        return len(ctx)

    count()  # the token's first use records when it was last used (once a minute)
    small = count()
    for n in range(40):
        story_with(metrics_history.scrum_teams[0], ("backlog", "2026-03-02"),
                   ("in_progress", "2026-03-03"), ("done", f"2026-03-{4 + n % 6:02d}"))  # fmt: skip
    services.metric_snapshots_compute(flow_team=metrics_history.flow_team, as_of=AS_OF)
    assert len(client.get("/api/v1/metrics/cycle-time/").json()["rows"]) == 42
    # per request: token with its actor (one query), snapshot; and the team for the first
    assert count() == small == 5


def test_refresh_is_refused_to_stakeholders_and_runs_the_job_after_commit(
    api, metrics_history, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert api("stakeholder").post("/api/v1/metrics/refresh/").status_code == 403
    assert callbacks == []

    MetricSnapshot.objects.filter(flow_team=metrics_history.flow_team).delete()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api("dev1").post("/api/v1/metrics/refresh/")
    assert response.status_code == 202 and len(callbacks) == 1
    assert (
        MetricSnapshot.objects.filter(flow_team=metrics_history.flow_team, as_of=AS_OF).count() == 4
    )
    assert api("dev1").get("/api/v1/metrics/").json()["throughput"]["total"] == 2


@pytest.mark.parametrize("name", ["scrum_team", "start", "end", "items", "by"])
def test_an_empty_parameter_is_refused_naming_it(api, metrics_history, name):
    for url in ("/api/v1/metrics/", "/api/v1/metrics/aging/"):
        refused = api("dev1").get(url, {name: ""})
        assert refused.status_code == 400, (url, name)
        assert name in refused.json()["errors"]
