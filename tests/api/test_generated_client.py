"""A client generated from the served schema drives a team's workflow against a live server.

openapi-python-client (pinned in uv.lock) generates the client, offline, from what
/api/schema/ serves; the tests then use only its methods and models: no raw HTTP, no
header set by hand. The generated models read every answer by the schema (a required
field missing, an unknown enum value or an undocumented status raises), so a schema that
disagrees with the server fails here."""

import datetime as dt
import importlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from teams.services import api_token_create

pytestmark = pytest.mark.django_db(transaction=True)
PACKAGE = "sem_api_client"
_generated: dict[str, Path] = {}


def _generate(base_url: str, folder: Path) -> Path:
    # Fetching the schema is the one request not made through the client: it makes it.
    with urllib.request.urlopen(f"{base_url}/api/schema/?format=json") as served:
        schema = json.load(served)
    (folder / "schema.json").write_text(json.dumps(schema))
    # No post hooks: the output is imported as generated, not reformatted by ruff.
    (folder / "config.yaml").write_text("post_hooks: []\n")
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate"]
        + ["--path", str(folder / "schema.json"), "--config", str(folder / "config.yaml")]
        + ["--output-path", str(folder / PACKAGE), "--meta", "none", "--fail-on-warning"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"the client does not generate cleanly:\n{run.stdout}{run.stderr}"
    return folder


@pytest.fixture
def sem(live_server, tmp_path_factory):
    """The generated package, generated once per run from the live server's schema."""
    if "folder" not in _generated:
        _generated["folder"] = _generate(live_server.url, tmp_path_factory.mktemp("client"))
    sys.path.insert(0, str(_generated["folder"]))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(_generated["folder"]))


@pytest.fixture
def connect(sem, live_server):
    """connect(user) -> an AuthenticatedClient of the generated package with their token."""

    def connect(user):
        _, secret = api_token_create(user=user, name="generated client")
        return sem.AuthenticatedClient(
            base_url=live_server.url, token=secret, raise_on_unexpected_status=True
        )

    return connect


def api(name):
    return importlib.import_module(f"{PACKAGE}.api.v1.{name}")


def models():
    return importlib.import_module(f"{PACKAGE}.models")


def test_a_team_runs_its_story_workflow_through_the_generated_client(connect, flow, foreign):
    from backlog import services

    po1 = flow.actor("po1")
    team = flow.scrum_teams[0]
    story = services.story_create(
        actor=po1, scrum_team=team, title="Export invoices", points=3, criteria=["CSV"]
    )
    services.story_create(actor=po1, scrum_team=team, title="Import payments")
    outsider = services.story_create(
        actor=foreign.actor("po1"), scrum_team=foreign.scrum_teams[0], title="Foreign secret"
    )
    m = models()
    dev = connect(flow.dev1)

    # List, filtered and sorted by the enums the schema gives.
    page = api("v1_stories_list").sync(
        client=dev, team=team.pk, ordering=m.V1StoriesListOrdering("-rank")
    )
    assert isinstance(page, m.PaginatedStoryList)
    assert [s.title for s in page.results] == ["Import payments", "Export invoices"]
    assert page.count == 2 and page.next_ is None

    # Read with its ETag; a conditional read of the same ETag is a 304 with the ETag again.
    read = api("v1_stories_retrieve").sync_detailed(story.pk, client=dev)
    assert read.status_code == 200 and read.parsed.state == m.StoryStateEnum.BACKLOG
    etag = read.headers["ETag"]
    assert etag == f'"{read.parsed.version}"'
    unchanged = api("v1_stories_retrieve").sync_detailed(story.pk, client=dev, if_none_match=etag)
    assert unchanged.status_code == 304 and unchanged.parsed is None
    assert unchanged.headers["ETag"] == etag

    # Move it with If-Match; the answer carries the new ETag.
    patch = api("v1_stories_partial_update").sync_detailed
    moved = patch(
        story.pk,
        client=dev,
        body=m.PatchedStoryUpdateRequest(state=m.StoryStateEnum.READY),
        if_match=etag,
    )
    assert moved.status_code == 200 and moved.parsed.state == m.StoryStateEnum.READY
    assert moved.headers["ETag"] == f'"{moved.parsed.version}"' != etag

    # The stale ETag is a 412 saying the current version; read again and the write lands.
    stale = patch(
        story.pk,
        client=dev,
        body=m.PatchedStoryUpdateRequest(state=m.StoryStateEnum.IN_PROGRESS),
        if_match=etag,
    )
    assert stale.status_code == 412 and isinstance(stale.parsed, m.Problem)
    assert stale.parsed.current_version == moved.parsed.version
    fresh = api("v1_stories_retrieve").sync_detailed(story.pk, client=dev).headers["ETag"]
    started = patch(
        story.pk,
        client=dev,
        body=m.PatchedStoryUpdateRequest(state=m.StoryStateEnum.IN_PROGRESS),
        if_match=fresh,
    )
    assert started.status_code == 200 and started.parsed.state == m.StoryStateEnum.IN_PROGRESS

    # Criteria and tasks: each write changes the story's ETag, as their descriptions say.
    etag = started.headers["ETag"]
    added = api("v1_acceptance_criteria_create").sync(
        client=dev, body=m.CriterionRequest(story=story.pk, text="PDF too")
    )
    assert isinstance(added, m.Criterion) and added.position == 2 and not added.checked
    task = api("v1_tasks_create").sync(
        client=dev, body=m.TaskRequest(story=story.pk, title="Write the exporter")
    )
    assert isinstance(task, m.Task) and task.story == story.pk
    changed = api("v1_stories_retrieve").sync_detailed(story.pk, client=dev, if_none_match=etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag

    # Done needs every criterion checked: a 400 naming `criteria`, then check them all.
    done = m.PatchedStoryUpdateRequest(state=m.StoryStateEnum.DONE)
    refused = patch(story.pk, client=dev, body=done, if_match=changed.headers["ETag"])
    assert refused.status_code == 400 and "criteria" in refused.parsed.errors.additional_properties
    criteria = api("v1_acceptance_criteria_list").sync(client=dev, story=story.pk).results
    for criterion in criteria:
        checked = api("v1_acceptance_criteria_partial_update").sync(
            criterion.id, client=dev, body=m.PatchedCriterionCheckRequest(checked=True)
        )
        assert checked.checked and checked.checked_by == flow.dev1.pk
    current = api("v1_stories_retrieve").sync_detailed(story.pk, client=dev)
    finished = patch(story.pk, client=dev, body=done, if_match=current.headers["ETag"])
    assert finished.status_code == 200 and finished.parsed.state == m.StoryStateEnum.DONE
    assert all(c.checked for c in finished.parsed.criteria)

    # Another Flow Team's story is a 404, as an id that never existed.
    hidden = api("v1_stories_retrieve").sync_detailed(outsider.pk, client=dev)
    assert hidden.status_code == 404 and isinstance(hidden.parsed, m.Problem)
    assert "Foreign secret" not in hidden.content.decode()


def test_a_stakeholder_hears_403_before_any_precondition(connect, flow):
    from backlog import services

    story = services.story_create(
        actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="Export invoices"
    )
    m = models()
    stakeholder = connect(flow.stakeholder)
    read = api("v1_stories_retrieve").sync_detailed(story.pk, client=stakeholder)
    for if_match in (read.headers["ETag"], '"999"'):
        refused = api("v1_stories_partial_update").sync_detailed(
            story.pk,
            client=stakeholder,
            body=m.PatchedStoryUpdateRequest(title="Mine now"),
            if_match=if_match,
        )
        assert refused.status_code == 403, if_match


def test_metrics_and_every_chart_read_through_the_generated_client(connect, metrics_history):
    m = models()
    client = connect(metrics_history.dev2)
    team = metrics_history.scrum_teams[0].pk
    report = api("v1_metrics_report").sync(client=client, items=2, by=dt.date(2026, 3, 31))
    assert isinstance(report, m.MetricsReport)
    assert str(report.as_of) == "2026-03-10" and report.team is None
    assert report.cycle_time.percentiles.field_85 == 6
    assert report.throughput.daily == [0, 1, 0, 0, 0, 0, 0, 1, 0]
    assert [item.title for item in report.aging.items] == ["Dunning letters"]
    assert report.answers.when.items == 2
    assert "Cycle time" in report.conventions.additional_properties
    narrowed = api("v1_metrics_report").sync(client=client, scrum_team=team)
    assert narrowed.team == 1
    for chart in m.V1MetricsChartChart:
        table = api("v1_metrics_chart").sync(chart, client=client)
        assert isinstance(table, m.MetricsTable) and table.chart.value == chart.value
        assert all(len(row) == len(table.columns) for row in table.rows)
    refused = api("v1_metrics_report").sync_detailed(client=client, scrum_team=999_999)
    assert (
        refused.status_code == 400 and "scrum_team" in refused.parsed.errors.additional_properties
    )
