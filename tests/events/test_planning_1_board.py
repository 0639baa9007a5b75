"""The Flow Sprint Planning 1 board (/events/<pk>/planning-1/): who sees it, every write
through its service with its rules (a PO plans only their team's stories, the Definition
of Ready refused with its reason, claims, the dependency contract), the live poll, and
query counts that do not grow with the number of Scrum Teams."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog_services
from backlog.models import Dependency, DependencyStep
from events.models import Event
from flow import services as flow_services
from flow.models import EpicClaim, SprintCommitment
from tests.api.test_hostile_input import snapshot
from tests.conftest import build_flow_team
from tests.events.planning_fixtures import planning_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def planning(flow):
    return planning_setup(flow)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def htmx(target: str) -> dict:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


def plan(client, ns, story, **data):
    return client.post(f"{ns.url}stories/{story.pk}/", data, **htmx("planning-status"))


def poll_url(html: str) -> str:
    return re.search(r'id="live-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


# --- Who sees it ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["cpo", "csm", "architect", "po1", "sm2", "dev3"])
def test_the_flow_team_opens_the_board_from_the_event(planning, who):
    client = client_of(planning.users[who])
    event_page = client.get(f"/events/{planning.event.pk}/").content.decode()
    assert f'href="{planning.url}"' in event_page
    page = client.get(planning.url)
    html = page.content.decode()
    assert page.status_code == 200
    for team in planning.scrum_teams:
        assert f'id="plan-team-{team.pk}"' in html
    for sprint in planning.sprints[:4]:
        assert f"Flow Sprint {sprint.number}" in html
    assert "Not ready: needs an acceptance criterion" in html
    assert 'role="status"' in html
    # Handles only on the rows of the teams the viewer plans for.
    handles = html.count("drag-handle")
    assert (handles > 0) == (who in ("po1", "sm2", "dev3")), handles


def test_a_stakeholder_does_not_see_planning_1_and_another_flow_team_gets_404(planning, foreign):
    for user, url in [
        (planning.stakeholder, planning.url),
        (planning.stakeholder, f"/events/{planning.event.pk}/"),
        (foreign.csm, planning.url),
    ]:
        assert client_of(user).get(url).status_code == 404, (user, url)
    story = planning.stories[(1, 1)]
    response = plan(client_of(foreign.po1), planning, story, sprint=planning.sprints[1].pk)
    assert response.status_code == 404
    # Another event kind has no planning board.
    planning.event.kind = Event.Kind.PLANNING_2
    planning.event.save(update_fields=["kind"])
    assert client_of(planning.csm).get(planning.url).status_code == 404


# --- Planning stories -----------------------------------------------------------------


def test_a_po_plans_their_teams_story_by_its_arrow_and_the_board_answers(planning):
    story = planning.stories[(1, 1)]
    response = plan(client_of(planning.po1), planning, story, direction="later")
    html = response.content.decode()
    assert response.status_code == 200
    number = planning.sprints[0].number
    assert f"Planned “{story.title}” into Flow Sprint {number}." in html
    assert response["X-Planning-Focus"] == f"{story.pk}:later"
    assert 'id="planning-board" hx-swap-oob="innerHTML"' in html
    assert SprintCommitment.objects.filter(story=story, outcome="open").count() == 1
    # Back with the other arrow, then into a sprint by its id (a drop), then out again.
    plan(client_of(planning.po1), planning, story, direction="earlier")
    assert not SprintCommitment.objects.filter(story=story, outcome="open").exists()
    assert (
        plan(client_of(planning.dev1), planning, story, sprint=planning.sprints[2].pk).status_code
        == 200
    )
    assert plan(client_of(planning.dev1), planning, story, sprint="backlog").status_code == 200
    assert not SprintCommitment.objects.filter(story=story, outcome="open").exists()


def test_a_po_may_not_plan_another_teams_story_and_nothing_is_written(planning):
    story = planning.stories[(1, 1)]
    before = snapshot()
    for who in ("po2", "csm", "cpo"):
        response = plan(
            client_of(planning.users[who]), planning, story, sprint=planning.sprints[1].pk
        )
        assert response.status_code == 403, who
    assert snapshot() == before


def test_a_story_failing_the_definition_of_ready_is_refused_with_its_reason(planning):
    bare = planning.stories[(1, "bare")]
    response = plan(client_of(planning.sm1), planning, bare, sprint=planning.sprints[1].pk)
    html = response.content.decode()
    assert response.status_code == 400
    assert "was not planned: ready needs at least one acceptance criterion" in html
    assert not SprintCommitment.objects.filter(story=bare).exists()
    # The card says why before anyone tries, and its arrow is disabled.
    card = re.search(
        rf'<li class="plan-card not-ready"[^>]*id="plan-story-{bare.pk}".*?</li>', html, re.S
    ).group(0)
    assert "Not ready: needs an acceptance criterion." in card
    assert re.search(r'class="[^"]*plan-later"[^>]*disabled', card)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"sprint": "soon"},
        {"sprint": "99999999999999999999999"},
        {"direction": "sideways"},
        {"sprint": "0"},
        {"sprint": "\x00"},
    ],
)
def test_hostile_plans_are_400_and_write_nothing(planning, data):
    before = snapshot()
    response = plan(client_of(planning.sm1), planning, planning.stories[(1, 1)], **data)
    assert response.status_code == 400
    assert snapshot() == before


def test_a_plan_into_a_sprint_not_on_the_board_is_refused(planning):
    closed = planning.flow_team.flow_sprints.filter(state="closed").first()
    response = plan(client_of(planning.sm1), planning, planning.stories[(1, 1)], sprint=closed.pk)
    assert response.status_code == 400
    assert "that Flow Sprint is not on this board" in response.content.decode()


# --- Claims -------------------------------------------------------------------------


def test_the_sm_claims_an_epic_for_their_team_and_releases_it(planning):
    client = client_of(planning.sm1)
    team = planning.scrum_teams[0]
    panel = client.get(f"{planning.url}?claim={team.pk}", **htmx("planning-panel"))
    assert "Claim it" in panel.content.decode()
    response = client.post(
        planning.url,
        {
            "action": "claim",
            "scrum_team": team.pk,
            "epic": planning.epic.pk,
            "flow_sprint": planning.sprints[1].pk,
        },
        **htmx("planning-panel"),
    )
    assert response.status_code == 200
    assert "Team 1 claimed “Invoicing” for Flow Sprint" in response.content.decode()
    claim = EpicClaim.objects.get()
    assert (claim.scrum_team, claim.claimed_by) == (team, planning.sm1)
    board = client.get(planning.url).content.decode()
    assert "◆ Invoicing" in board
    # Another team's SM neither sees the form nor may post it.
    other = client_of(planning.sm2)
    assert "Claim it" not in other.get(f"{planning.url}?claim={team.pk}").content.decode()
    refused = other.post(
        planning.url, {"action": "unclaim", "claim": claim.pk}, **htmx("planning-panel")
    )
    assert refused.status_code == 403 and EpicClaim.objects.exists()
    released = client.post(
        planning.url, {"action": "unclaim", "claim": claim.pk}, **htmx("planning-panel")
    )
    assert released.status_code == 200 and not EpicClaim.objects.exists()


def test_a_claim_without_an_epic_keeps_the_form_and_names_the_field(planning):
    response = client_of(planning.csm).post(
        planning.url,
        {
            "action": "claim",
            "scrum_team": planning.scrum_teams[1].pk,
            "epic": "",
            "flow_sprint": "x",
        },
        **htmx("planning-panel"),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "has-error" in html and "This field is required" in html
    assert not EpicClaim.objects.exists()


# --- The dependency contract ------------------------------------------------------------


def test_a_team_raises_a_dependency_and_the_provider_commits_then_counters(planning):
    needing, providing = planning.stories[(1, 1)], planning.stories[(2, 1)]
    s1, s2, s3 = planning.sprints[1:4]
    sm1 = client_of(planning.sm1)
    form = sm1.get(f"{planning.url}?story={needing.pk}", **htmx("planning-panel")).content.decode()
    assert f'value="s:{providing.pk}"' in form and f'value="e:{planning.epic.pk}"' in form
    assert f'value="s:{needing.pk}"' not in form  # not its own team's stories
    raised = sm1.post(
        planning.url,
        {
            "action": "raise",
            "story": needing.pk,
            "target": f"s:{providing.pk}",
            "needed_by": s2.pk,
            "description": "The export API",
        },
        **htmx("planning-panel"),
    )
    assert raised.status_code == 200, raised.content.decode()[:500]
    dependency = Dependency.objects.get()
    assert (dependency.from_story, dependency.to_story, dependency.needed_by) == (
        needing,
        providing,
        s2,
    )
    url = f"{planning.url}dependencies/{dependency.pk}/"
    # The requesting side may not answer for the provider.
    assert sm1.post(url, {"action": "commit", "sprint": s1.pk, "version": 1}).status_code == 403
    sm2 = client_of(planning.sm2)
    committed = sm2.post(
        url,
        {"action": "commit", "sprint": s1.pk, "version": 1, "note": "early"},
        **htmx("planning-panel"),
    )
    assert committed.status_code == 200
    html = committed.content.decode()
    assert f"Committed to Flow Sprint {s1.number}." in html
    assert planning.sm2.display_name in html  # who, on each step
    # A commit after the needed-by sprint is refused with the reason; the note stays.
    late = sm2.post(
        url,
        {"action": "commit", "sprint": s3.pk, "version": 2, "note": "my note"},
        **htmx("planning-panel"),
    )
    assert late.status_code == 400
    assert "counter-propose it instead" in late.content.decode()
    assert "my note" in late.content.decode()
    # A stale version is a 409 that keeps the person's text and says who answered.
    stale = sm2.post(
        url,
        {"action": "counter", "sprint": s3.pk, "version": 1, "note": "kept text"},
        **htmx("planning-panel"),
    )
    assert stale.status_code == 409 and "kept text" in stale.content.decode()
    countered = sm2.post(
        url, {"action": "counter", "sprint": s3.pk, "version": 2}, **htmx("planning-panel")
    )
    assert countered.status_code == 200
    accepted = sm1.post(url, {"action": "accept", "version": 3}, **htmx("planning-panel"))
    assert accepted.status_code == 200
    dependency.refresh_from_db()
    assert (dependency.contract, dependency.needed_by) == ("accepted", s3)
    kinds = list(DependencyStep.objects.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == ["raised", "committed", "countered", "accepted"]


def test_a_red_dependency_offers_to_open_a_risk(planning):
    needing, providing = planning.stories[(1, 1)], planning.stories[(2, 1)]
    flow_services.story_plan(
        actor=planning.actor("sm2"), story=providing, team_sprint=planning.team_sprint(2, 3)
    )
    dependency = backlog_services.dependency_create(
        actor=planning.actor("sm1"), source=needing, target=providing, needed_by=planning.sprints[1]
    )
    html = client_of(planning.csm).get(planning.url).content.decode()
    item = re.search(rf'<li class="dep-item dep-red" id="dep-{dependency.pk}">.*?</li>', html, re.S)
    assert item, "the dependency is listed red"
    link = f"{planning.url}?risk_for_dependency={dependency.pk}"
    assert f'href="{link}#risk-register"' in item.group(0)
    # The link opens the register beside the board with the new risk linked to it.
    board = client_of(planning.csm).get(link).content.decode()
    register = re.search(r'<div id="risk-register"[^>]*>', board).group(0)
    assert f"risk_for_dependency={dependency.pk}" in register
    card = re.search(rf'id="plan-story-{needing.pk}".*?</li>', html, re.S).group(0)
    assert f'class="dep dep-red" data-dependency="{dependency.pk}"' in card


# --- Live -------------------------------------------------------------------------------


def test_the_poll_answers_204_in_one_query_then_only_the_rows_that_changed(planning):
    csm = client_of(planning.csm)
    url = poll_url(csm.get(planning.url).content.decode())
    with CaptureQueriesContext(connection) as ctx:
        response = csm.get(url)
    assert response.status_code == 204 and len(ctx) <= 2
    story = planning.stories[(2, 1)]
    # A team's bot through the REST API's service: the board follows.
    flow_services.story_claim(
        actor=planning.actor("dev2"), team_sprint=planning.team_sprint(2, 1), story=story
    )
    response = csm.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    team2, team1 = planning.scrum_teams[1].pk, planning.scrum_teams[0].pk
    assert f'<div hx-swap-oob="true" class="plan-row" role="row" id="plan-team-{team2}"' in html
    assert f'id="plan-team-{team1}"' not in html
    assert "<input" not in html and "<textarea" not in html and "<select" not in html
    assert csm.get(poll_url(html)).status_code == 204
    # Someone else's token is refused; so is a forged one.
    assert client_of(planning.dev1).get(url).status_code == 403
    assert csm.get(url.replace("t=", "t=x")).status_code == 403


# --- Query counts at 3 and 15 Scrum Teams -------------------------------------------------


def counted(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code in (200, 204), (url, response.status_code)
    return len(ctx)


def board_of(teams: int, prefix: str):
    ns = planning_setup(build_flow_team(prefix=prefix, teams=teams), stories_per_team=3)
    for n in range(1, teams + 1):
        flow_services.story_plan(
            actor=ns.actor(f"po{n}"), story=ns.stories[(n, 1)], team_sprint=ns.team_sprint(n, 1)
        )
        flow_services.epic_claim(
            actor=ns.actor(f"sm{n}"),
            epic=ns.epic,
            scrum_team=ns.scrum_teams[n - 1],
            flow_sprint=ns.sprints[1],
        )
        if n > 1:
            backlog_services.dependency_create(
                actor=ns.actor(f"sm{n}"),
                source=ns.stories[(n, 2)],
                target=ns.stories[(n - 1, 1)],
                needed_by=ns.sprints[2],
            )
    return ns


@pytest.mark.parametrize(
    ("who", "query", "headers"),
    [
        ("csm", "", {}),
        ("po1", "", {}),
        ("sm1", "?story={story}", {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "planning-panel"}),
        ("csm", "?dependency={dependency}", {}),
        ("csm", "?claim={team}", {}),
    ],
)
def test_the_board_runs_the_same_queries_at_3_and_15_teams(db, who, query, headers):
    counts = []
    for teams, prefix in ((3, "S"), (15, "L")):
        ns = board_of(teams, prefix)
        cache.clear()  # the shared rows render afresh each time
        url = ns.url + query.format(
            story=ns.stories[(1, 1)].pk,
            dependency=Dependency.objects.filter(flow_team=ns.flow_team).first().pk,
            team=ns.scrum_teams[0].pk,
        )
        counts.append(counted(client_of(ns.users[who]), url, **headers))
    assert counts[0] == counts[1], counts


def test_the_poll_and_a_write_run_the_same_queries_at_3_and_15_teams(db):
    polls, writes = [], []
    for teams, prefix in ((3, "S"), (15, "L")):
        ns = board_of(teams, prefix)
        cache.clear()
        client = client_of(ns.users["po1"])
        url = poll_url(client.get(ns.url).content.decode())
        assert counted(client, url) == 1  # nothing changed: the versions only
        flow_services.story_plan(
            actor=ns.actor("po2"), story=ns.stories[(2, 2)], team_sprint=ns.team_sprint(2, 2)
        )
        polls.append(counted(client, url))
        with CaptureQueriesContext(connection) as ctx:
            response = plan(client, ns, ns.stories[(1, 3)], sprint=ns.sprints[2].pk)
        assert response.status_code == 200
        writes.append(len(ctx))
    assert polls[0] == polls[1], polls
    assert writes[0] == writes[1], writes


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("", {}),
        ("", {"action": "explode"}),
        ("", {"action": "claim", "scrum_team": "x", "epic": "1", "flow_sprint": "1"}),
        ("", {"action": "claim", "scrum_team": "9" * 30}),
        ("", {"action": "claim", "scrum_team": "{team}", "epic": "9" * 30, "flow_sprint": "1"}),
        ("", {"action": "claim", "scrum_team": "{team}", "epic": "{foreign_epic}"}),
        ("", {"action": "unclaim", "claim": "x"}),
        ("", {"action": "unclaim", "claim": "9" * 30}),
        ("", {"action": "raise", "story": "x"}),
        ("", {"action": "raise", "story": "{story}", "target": "s:{story}", "needed_by": "x"}),
        ("", {"action": "raise", "story": "{story}", "target": "q:1", "needed_by": "{sprint}"}),
        (
            "",
            {"action": "raise", "story": "{story}", "target": "e:{foreign_epic}"},
        ),
        (
            "",
            {
                "action": "raise",
                "story": "{story}",
                "target": "s:{other}",
                "needed_by": "{sprint}",
                "description": "d" * 2001,
            },
        ),
        ("dependencies/{dependency}/", {}),
        ("dependencies/{dependency}/", {"action": "commit", "version": "x"}),
        ("dependencies/{dependency}/", {"action": "commit", "version": "1"}),
        ("dependencies/{dependency}/", {"action": "commit", "version": "1", "sprint": "9" * 30}),
        ("dependencies/{dependency}/", {"action": "accept", "version": "1"}),
        ("dependencies/{dependency}/", {"action": "counter", "version": "1", "note": "\x00"}),
    ],
)
def test_hostile_board_forms_get_a_4xx_and_write_nothing(planning, foreign, path, data):
    story, other = planning.stories[(1, 1)], planning.stories[(2, 1)]
    dependency = backlog_services.dependency_create(
        actor=planning.actor("cpo"), source=story, target=other, needed_by=planning.sprints[1]
    )
    theirs = backlog_services.epic_create(actor=foreign.actor("cpo"), title="Theirs")
    ids = {
        "team": planning.scrum_teams[0].pk,
        "story": story.pk,
        "other": other.pk,
        "sprint": planning.sprints[1].pk,
        "dependency": dependency.pk,
        "foreign_epic": theirs.pk,
    }
    body = {k: v.format(**ids) for k, v in data.items()}
    before = snapshot()
    response = client_of(planning.csm).post(
        planning.url + path.format(**ids), body, **htmx("planning-panel")
    )
    assert 400 <= response.status_code < 500, (response.status_code, body)
    assert snapshot() == before


def test_a_bot_moving_a_story_through_the_rest_api_reaches_the_board(planning):
    """A team's bot (an API token of a developer) estimates a story: the board's poll
    brings that team's row with the new points."""
    from rest_framework.test import APIClient

    from teams.services import api_token_create

    _token, secret = api_token_create(user=planning.dev2, name="bot")
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    csm = client_of(planning.csm)
    url = poll_url(csm.get(planning.url).content.decode())
    assert csm.get(url).status_code == 204
    story = planning.stories[(2, 2)]
    response = bot.patch(
        f"/api/v1/stories/{story.pk}/", {"points": 13}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    html = csm.get(url).content.decode()
    row = re.search(rf'id="plan-team-{planning.scrum_teams[1].pk}".*', html, re.S).group(0)
    assert "13 pts" in row
    assert f'id="plan-team-{planning.scrum_teams[0].pk}"' not in html
