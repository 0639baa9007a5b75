"""The roadmap page (/roadmap/): who sees what, every write through its service with its
rules, the changes since the last refinement, the live poll, and query counts that do not
grow with the roadmap."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog import services
from backlog.models import Epic, Milestone, ProductGoal, RoadmapChange
from backlog.services import roadmap_live_key
from events.models import Event
from sem.live import live_versions
from tests.api.test_hostile_input import snapshot
from tests.backlog.factories import roadmap_milestones
from tests.events.factories import EventFactory
from tests.flow.factories import FlowSprintFactory

pytestmark = pytest.mark.django_db

START = dt.date(2026, 1, 5)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def htmx(**headers) -> dict:
    return {"HTTP_HX_REQUEST": "true", **{f"HTTP_HX_{k.upper()}": v for k, v in headers.items()}}


@pytest.fixture
def roadmap(flow):
    """Two milestones with three and one epics, an empty third one, two unscheduled."""
    cpo = flow.actor("cpo")
    services.product_goal_create(actor=cpo, statement="Paid on time", target_date=START)
    m1, m2, m3 = roadmap_milestones(cpo, range(3))
    epics = {}
    for name, milestone in [
        ("a", m1),
        ("b", m1),
        ("c", m1),
        ("d", m2),
        ("u1", None),
        ("u2", None),
    ]:
        epics[name] = services.epic_create(actor=cpo, title=f"Epic {name}", milestone=milestone)
    flow.m1, flow.m2, flow.m3, flow.epics = m1, m2, m3, epics
    return flow


def lane(milestone) -> list[str]:
    return list(
        Epic.objects.filter(milestone=milestone).order_by("rank").values_list("title", flat=True)
    )


def move(client, epic, **data):
    epic.refresh_from_db()
    return client.post(
        f"/roadmap/epics/{epic.pk}/",
        {"action": "move", "version": epic.version, **data},
        **htmx(target="roadmap-status"),
    )


# --- Who sees what -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["cpo", "csm", "architect", "stakeholder", "po1", "dev2"])
def test_everyone_in_the_flow_team_reads_the_roadmap(roadmap, who):
    page = client_of(roadmap.users[who]).get("/roadmap/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Paid on time" in html
    assert [m in html for m in ("M0", "M1", "M2")] == [True] * 3
    assert "Epic u2" in html and "Unscheduled" in html
    assert 'href="/roadmap/"' in html  # the navigation entry
    editable = who == "cpo"
    assert ("drag-handle" in html) is editable
    assert ('name="direction"' in html) is editable
    assert ("Rank by WSJF" in html) is editable


def test_lanes_show_progress_span_and_epic_cards(roadmap):
    services.milestone_update(
        actor=roadmap.actor("cpo"),
        milestone=roadmap.m3,
        data={"end": roadmap.m3.start + dt.timedelta(weeks=14)},
    )
    html = client_of(roadmap.dev1).get("/roadmap/").content.decode()
    assert "spans 14.0 weeks" in html  # the warning outside 8-10 weeks
    assert html.count("⚠ spans ") == 1
    a = roadmap.epics["a"]
    assert f'id="road-epic-{a.pk}"' in html and "WSJF 3.0" in html


def test_another_flow_teams_roadmap_stays_hidden(roadmap, foreign):
    theirs = services.epic_create(actor=foreign.actor("cpo"), title="Their secret epic")
    client = client_of(roadmap.cpo)
    assert "Their secret epic" not in client.get("/roadmap/").content.decode()
    assert client.get(f"/roadmap/?epic={theirs.pk}").status_code == 404
    before = snapshot()
    assert move(client, theirs, direction="up").status_code == 404
    response = move(client, roadmap.epics["a"], after=theirs.pk)
    assert response.status_code == 400 and "no such epic" in response.content.decode()
    assert snapshot() == before


def test_a_person_outside_any_flow_team_gets_a_404(db):
    from tests.teams.factories import UserFactory

    assert client_of(UserFactory()).get("/roadmap/").status_code == 404


# --- Moves ----------------------------------------------------------------------------


def test_the_cpo_drops_an_epic_into_another_milestone_one_row_one_bump(roadmap):
    a, d = roadmap.epics["a"], roadmap.epics["d"]
    key = roadmap_live_key(roadmap.flow_team.pk)
    live_before = live_versions([key])[key]
    with CaptureQueriesContext(connection) as ctx:
        response = move(client_of(roadmap.cpo), a, before=d.pk, lane=str(roadmap.m2.pk))
    assert response.status_code == 200, response.content
    assert lane(roadmap.m2) == ["Epic a", "Epic d"]
    assert lane(roadmap.m1) == ["Epic b", "Epic c"]
    a.refresh_from_db()
    assert a.version == 2
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert len([w for w in writes if "backlog_epic" in w]) == 1  # one row written
    assert live_versions([key])[key] == live_before + 1
    kinds = set(RoadmapChange.objects.filter(epic=a).values_list("kind", flat=True))
    assert {"moved", "ranked"} <= kinds
    html = response.content.decode()
    assert "Moved “Epic a” to position 1 of 2 in M1" in html
    assert 'id="roadmap-lanes" hx-swap-oob' in html  # the current lanes come along
    assert response["X-Roadmap-Focus"] == f"{a.pk}:drop"


def test_keyboard_moves_up_down_and_to_another_lane(roadmap):
    client = client_of(roadmap.cpo)
    b = roadmap.epics["b"]
    assert move(client, b, direction="up").status_code == 200
    assert lane(roadmap.m1) == ["Epic b", "Epic a", "Epic c"]
    response = move(client, b, direction="up")
    assert response.status_code == 400
    assert "already first in its lane" in response.content.decode()
    assert move(client, b, direction="down").status_code == 200
    assert move(client, b, direction="down").status_code == 200
    assert lane(roadmap.m1) == ["Epic a", "Epic c", "Epic b"]
    assert "already last" in move(client, b, direction="down").content.decode()
    # "Move to" puts it at the end of that lane.
    assert move(client, b, lane=str(roadmap.m2.pk)).status_code == 200
    assert lane(roadmap.m2) == ["Epic d", "Epic b"]
    assert move(client, b, lane="none").status_code == 200
    assert lane(None) == ["Epic u1", "Epic u2", "Epic b"]


def test_a_move_into_an_empty_lane_keeps_the_rank_order_following_the_lanes(roadmap):
    u1 = roadmap.epics["u1"]
    assert move(client_of(roadmap.cpo), u1, lane=str(roadmap.m3.pk)).status_code == 200
    assert lane(roadmap.m3) == ["Epic u1"]
    order = list(Epic.objects.order_by("rank").values_list("title", flat=True))
    # After the last epic of the lanes before it (M0, M1), before the unscheduled one.
    assert order.index("Epic u1") == order.index("Epic d") + 1
    assert order.index("Epic u1") < order.index("Epic u2")


def test_a_move_by_someone_who_read_an_old_version_is_refused_and_told_who(roadmap):
    a = roadmap.epics["a"]
    stale = a.version
    services.epic_rank_move(actor=roadmap.actor("cpo"), epic=a, before=roadmap.epics["c"])
    before = snapshot()
    response = client_of(roadmap.cpo).post(
        f"/roadmap/epics/{a.pk}/",
        {"action": "move", "version": stale, "direction": "down"},
        **htmx(target="roadmap-status"),
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert f"{roadmap.cpo.display_name} changed it at" in html
    assert "current order is shown" in html and 'id="roadmap-lanes"' in html
    assert snapshot() == before


@pytest.mark.parametrize("who", ["csm", "architect", "stakeholder", "po1", "dev1"])
def test_a_forged_move_by_anyone_but_the_cpo_is_refused_with_nothing_written(roadmap, who):
    before = snapshot()
    client = client_of(roadmap.users[who])
    assert move(client, roadmap.epics["b"], direction="up").status_code == 403
    assert move(client, roadmap.epics["b"], lane=str(roadmap.m2.pk)).status_code == 403
    response = client.post(
        f"/roadmap/milestones/{roadmap.m2.pk}/",
        {"action": "move", "direction": "earlier", "version": 1},
    )
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"after": "x"}, "after"),
        ({"after": "1", "before": "2"}, "before"),
        ({"lane": "M2"}, "lane"),
        ({"lane": "99999"}, "no such milestone"),
        ({}, "say where the epic goes"),
    ],
)
def test_a_bad_move_names_the_field_and_writes_nothing(roadmap, data, named):
    before = snapshot()
    response = move(client_of(roadmap.cpo), roadmap.epics["b"], **data)
    assert response.status_code == 400
    assert named in response.content.decode()
    assert snapshot() == before


def test_a_move_without_htmx_redirects_back_with_the_result(roadmap):
    b = roadmap.epics["b"]
    client = client_of(roadmap.cpo)
    response = client.post(
        f"/roadmap/epics/{b.pk}/?since=2026-01-01",
        {"action": "move", "version": b.version, "direction": "up"},
    )
    assert response.status_code == 302 and response["Location"] == "/roadmap/?since=2026-01-01"
    assert "Moved “Epic b” to position 1 of 3" in client.get(response["Location"]).content.decode()


def test_milestones_move_earlier_and_later(roadmap):
    client = client_of(roadmap.cpo)
    m2 = roadmap.m2
    response = client.post(
        f"/roadmap/milestones/{m2.pk}/",
        {"action": "move", "direction": "earlier", "version": m2.version},
        **htmx(target="roadmap-status"),
    )
    assert response.status_code == 200
    assert list(Milestone.objects.order_by("order").values_list("name", flat=True)) == [
        "M1",
        "M0",
        "M2",
    ]
    m2.refresh_from_db()
    response = client.post(
        f"/roadmap/milestones/{m2.pk}/",
        {"action": "move", "direction": "earlier", "version": m2.version},
        **htmx(target="roadmap-status"),
    )
    assert (
        response.status_code == 400 and "already the first milestone" in response.content.decode()
    )


# --- WSJF ------------------------------------------------------------------------------


def wsjf_post(client, epic, **scores):
    epic.refresh_from_db()
    data = {
        "action": "wsjf",
        "version": epic.version,
        "business_value": epic.business_value,
        "time_criticality": epic.time_criticality,
        "risk_reduction": epic.risk_reduction,
        "job_size": epic.job_size,
        **scores,
    }
    return client.post(f"/roadmap/epics/{epic.pk}/", data, **htmx(target="roadmap-panel"))


def test_re_scoring_updates_the_score_at_once_and_is_logged(roadmap):
    a = roadmap.epics["a"]
    response = wsjf_post(client_of(roadmap.cpo), a, business_value=20, job_size=2)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="wsjf-score">11.0<' in html  # (20 + 1 + 1) / 2
    assert "Re-scored “Epic a”: WSJF 11.0." in html
    a.refresh_from_db()
    assert (a.business_value, a.job_size) == (20, 2)
    change = RoadmapChange.objects.get(epic=a, kind="rescored")
    assert change.before == {"business_value": 1, "job_size": 1}
    assert change.after == {"business_value": 20, "job_size": 2}


def test_a_score_off_the_scale_is_refused_naming_it(roadmap):
    before = snapshot()
    response = wsjf_post(client_of(roadmap.cpo), roadmap.epics["a"], job_size=4)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert snapshot() == before


def test_a_stale_re_score_comes_back_with_the_persons_values_and_who_changed_it(roadmap):
    a = roadmap.epics["a"]
    stale = a.version
    services.epic_change(actor=roadmap.actor("cpo"), epic=a, data={"business_value": 8})
    response = client_of(roadmap.cpo).post(
        f"/roadmap/epics/{a.pk}/",
        {
            "action": "wsjf",
            "version": stale,
            "business_value": 13,
            "time_criticality": 1,
            "risk_reduction": 1,
            "job_size": 1,
        },
        **htmx(target="roadmap-panel"),
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "while you were editing" in html
    assert re.search(r'<option value="13" selected>', html)  # their value is kept
    assert f'name="version" value="{stale + 1}"' in html  # saving again replaces knowingly
    a.refresh_from_db()
    assert a.business_value == 8


def test_rank_by_wsjf_shows_the_proposal_and_applies_only_on_confirm(roadmap):
    cpo = roadmap.actor("cpo")
    c = roadmap.epics["c"]
    services.epic_change(actor=cpo, epic=c, data={"business_value": 20})
    client = client_of(roadmap.cpo)
    order = list(Epic.objects.order_by("rank").values_list("title", flat=True))
    panel = client.get("/roadmap/?wsjf=propose", **htmx(target="roadmap-panel"))
    html = panel.content.decode()
    assert panel.status_code == 200 and "Apply this order" in html
    assert list(Epic.objects.order_by("rank").values_list("title", flat=True)) == order
    proposal = re.search(r'name="proposal" value="([^"]+)"', html).group(1)
    assert proposal.startswith(f"{c.pk}:")
    response = client.post(
        "/roadmap/",
        {"action": "rank-by-wsjf", "proposal": proposal},
        **htmx(target="roadmap-panel"),
    )
    assert response.status_code == 200
    assert Epic.objects.order_by("rank").first() == c
    # Ties keep their current order.
    rest = list(Epic.objects.order_by("rank").values_list("title", flat=True))[1:]
    assert rest == [t for t in order if t != "Epic c"]


def test_rank_by_wsjf_is_refused_when_an_epic_changed_since_the_proposal(roadmap):
    client = client_of(roadmap.cpo)
    html = client.get("/roadmap/?wsjf=propose", **htmx(target="roadmap-panel")).content.decode()
    proposal = re.search(r'name="proposal" value="([^"]+)"', html).group(1)
    services.epic_change(actor=roadmap.actor("cpo"), epic=roadmap.epics["d"], data={"job_size": 2})
    before = snapshot()
    response = client.post(
        "/roadmap/",
        {"action": "rank-by-wsjf", "proposal": proposal},
        **htmx(target="roadmap-panel"),
    )
    assert response.status_code == 409
    assert "Nothing was applied" in response.content.decode()
    assert snapshot() == before


# --- Milestones, epics, the Product Goal, feasibility ----------------------------------


def test_the_cpo_creates_edits_and_closes_a_milestone(roadmap):
    client = client_of(roadmap.cpo)
    response = client.post(
        "/roadmap/",
        {
            "action": "milestone-create",
            "name": "M9",
            "objective": "half of invoices paid online",
            "start": "2026-06-01",
            "end": "2026-08-03",
        },
        **htmx(target="roadmap-panel"),
    )
    assert response.status_code == 200 and "Added the milestone “M9”" in response.content.decode()
    m9 = Milestone.objects.get(name="M9")
    response = client.post(
        f"/roadmap/milestones/{m9.pk}/",
        {
            "action": "edit",
            "version": m9.version,
            "name": "M9",
            "objective": "o",
            "start": "2026-06-01",
            "end": "2026-05-01",
        },
        **htmx(target="roadmap-panel"),
    )
    assert response.status_code == 400
    assert "a milestone ends after it starts" in response.content.decode()
    response = client.post(
        f"/roadmap/milestones/{m9.pk}/",
        {"action": "close", "version": m9.version},
        **htmx(target="roadmap-panel"),
    )
    assert response.status_code == 200
    m9.refresh_from_db()
    assert m9.closed_at is not None
    assert RoadmapChange.objects.filter(milestone=m9, kind="closed").count() == 1


def test_the_cpo_creates_and_edits_an_epic_with_its_acceptance_conditions(roadmap):
    client = client_of(roadmap.cpo)
    response = client.post(
        "/roadmap/",
        {"action": "epic-create", "title": "Dunning", "milestone": str(roadmap.m2.pk)},
        **htmx(target="roadmap-panel"),
    )
    assert response.status_code == 200
    epic = Epic.objects.get(title="Dunning")
    assert epic.milestone == roadmap.m2
    data = {
        "action": "edit",
        "version": epic.version,
        "title": "Dunning letters",
        "description": "",
        "acceptance_conditions": "",
        "milestone": str(roadmap.m2.pk),
        "state": "ready",
    }
    response = client.post(f"/roadmap/epics/{epic.pk}/", data, **htmx(target="roadmap-panel"))
    assert response.status_code == 400
    assert "a ready epic has acceptance conditions" in response.content.decode()
    data["acceptance_conditions"] = "Letters go out on day 3"
    response = client.post(f"/roadmap/epics/{epic.pk}/", data, **htmx(target="roadmap-panel"))
    assert response.status_code == 200
    epic.refresh_from_db()
    assert (epic.title, epic.state, epic.version) == ("Dunning letters", "ready", 2)


def test_the_cpo_sets_and_edits_the_product_goal(flow):
    client = client_of(flow.cpo)
    response = client.post("/roadmap/", {"action": "goal", "statement": "  "})
    assert response.status_code == 400
    response = client.post(
        "/roadmap/", {"action": "goal", "statement": "Paid on time", "target_date": "2027-01-01"}
    )
    assert response.status_code == 302
    goal = ProductGoal.objects.get(flow_team=flow.flow_team)
    response = client.post(
        "/roadmap/", {"action": "goal", "statement": "Paid in a week", "status": "achieved"}
    )
    assert response.status_code == 302
    goal.refresh_from_db()
    assert (goal.statement, goal.status, goal.target_date) == ("Paid in a week", "achieved", None)


def test_the_architect_records_feasibility_from_the_roadmap(roadmap):
    a = roadmap.epics["a"]
    client = client_of(roadmap.architect)
    html = client.get(f"/roadmap/?epic={a.pk}").content.decode()
    assert "Record feasibility" in html and 'value="wsjf"' not in html
    data = {"action": "feasibility", "version": a.version, "feasibility": "concerns"}
    response = client.post(f"/roadmap/epics/{a.pk}/", data, **htmx(target="roadmap-panel"))
    assert response.status_code == 400 and "say what the concern is" in response.content.decode()
    data["feasibility_note"] = "Needs the new ledger"
    response = client.post(f"/roadmap/epics/{a.pk}/", data, **htmx(target="roadmap-panel"))
    assert response.status_code == 200
    a.refresh_from_db()
    assert (a.feasibility, a.feasibility_note) == ("concerns", "Needs the new ledger")
    assert RoadmapChange.objects.filter(epic=a, kind="feasibility", by=roadmap.architect).exists()
    # The CPO re-scores and moves; feasibility is the Architect's.
    data["version"] = a.version + 1
    assert client_of(roadmap.cpo).post(f"/roadmap/epics/{a.pk}/", data).status_code == 403


# --- Changes since the last refinement -------------------------------------------------


def test_changes_start_at_the_last_product_roadmap_refinement(roadmap):
    sprint = FlowSprintFactory(flow_team=roadmap.flow_team)
    now = timezone.now()
    RoadmapChange.objects.update(at=now - dt.timedelta(days=40))  # before the refinement
    refinement = EventFactory(
        flow_sprint=sprint,
        kind=Event.Kind.ROADMAP_REFINEMENT,
        starts_at=now - dt.timedelta(days=20),
        state=Event.State.DONE,
        started_at=now - dt.timedelta(days=20),
        ended_at=now - dt.timedelta(days=20) + dt.timedelta(hours=2),
    )
    services.epic_rank_move(
        actor=roadmap.actor("cpo"),
        epic=roadmap.epics["u1"],
        milestone=roadmap.m3,
        after=roadmap.epics["d"],
    )
    client = client_of(roadmap.dev1)
    html = client.get("/roadmap/").content.decode()
    assert "From the last Product Roadmap Refinement." in html
    assert "2 changes since" in html  # the move and its new rank
    assert "milestone: unscheduled → M2" in html
    # A chosen date reaches further back.
    html = client.get("/roadmap/?since=" + (now - dt.timedelta(days=60)).date().isoformat())
    assert "From the date you chose." in html.content.decode()
    assert "Epic a</a>" in html.content.decode()
    # A bad date says so and falls back.
    html = client.get("/roadmap/?since=2026-02-31").content.decode()
    assert "Changes since: Enter a valid date." in html
    # In refinement mode the changes start at the refinement before it.
    later = EventFactory(
        flow_sprint=sprint, kind=Event.Kind.ROADMAP_REFINEMENT, starts_at=now, occurrence=2
    )
    html = client.get(f"/roadmap/?refinement={later.pk}").content.decode()
    assert "Product Roadmap Refinement · Flow Sprint" in html
    assert f'href="/events/{later.pk}/"' in html
    assert "2 changes since" in html
    assert client.get(f"/roadmap/?refinement={refinement.pk + 999}").status_code == 404


def test_the_refinement_event_screen_opens_the_roadmap_in_refinement_mode(roadmap):
    sprint = FlowSprintFactory(flow_team=roadmap.flow_team)
    event = EventFactory(flow_sprint=sprint, kind=Event.Kind.ROADMAP_REFINEMENT)
    html = client_of(roadmap.stakeholder).get(f"/events/{event.pk}/").content.decode()
    assert f'href="/roadmap/?refinement={event.pk}"' in html
    other = EventFactory(flow_sprint=sprint, kind=Event.Kind.SCRUM_OF_SCRUMS)
    assert (
        "refinement mode" not in client_of(roadmap.csm).get(f"/events/{other.pk}/").content.decode()
    )
    assert client_of(roadmap.csm).get(f"/roadmap/?refinement={other.pk}").status_code == 404


# --- Live -------------------------------------------------------------------------------


def poll_url(html: str) -> str:
    return re.search(r'id="live-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_the_poll_answers_204_in_one_query_then_the_regions_after_a_write(roadmap):
    csm = client_of(roadmap.csm)
    url = poll_url(csm.get("/roadmap/").content.decode())
    with CaptureQueriesContext(connection) as ctx:
        response = csm.get(url)
    assert response.status_code == 204 and len(ctx) <= 2
    services.epic_rank_move(
        actor=roadmap.actor("cpo"), epic=roadmap.epics["u2"], milestone=roadmap.m3
    )
    response = csm.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    # Only what changed: the two lanes the epic left and joined, and the change log.
    m1, m3 = roadmap.m1.pk, roadmap.m3.pk
    assert f'<section hx-swap-oob="true" class="lane" aria-labelledby="lane-{m3}-name"' in html
    assert '<section hx-swap-oob="true" class="lane lane-unscheduled"' in html
    assert f'id="lane-{m1}"' not in html and 'id="roadmap-goal"' not in html
    assert 'id="roadmap-changes" hx-swap-oob' in html
    assert "<input" not in html.split('id="live-poll"')[1]  # no field anyone types in
    assert "drag-handle" not in html  # the CSM's variant
    assert csm.get(poll_url(html)).status_code == 204
    # A screen in another state (a lane added, or "p" mangled) gets every region whole.
    services.milestone_create(
        actor=roadmap.actor("cpo"),
        name="M9",
        objective="o",
        start=dt.date(2027, 1, 4),
        end=dt.date(2027, 3, 8),
    )
    html = csm.get(poll_url(html)).content.decode()
    assert 'id="roadmap-lanes" hx-swap-oob="innerHTML"' in html and "M9" in html
    assert 'id="roadmap-goal" hx-swap-oob' in html
    garbled = re.sub(r"p=[^&]*", "p=x%3Ay.z", url)
    assert 'id="roadmap-lanes" hx-swap-oob="innerHTML"' in csm.get(garbled).content.decode()


def test_a_poll_token_of_someone_else_or_another_flow_team_is_refused(roadmap, foreign):
    url = poll_url(client_of(roadmap.csm).get("/roadmap/").content.decode())
    services.epic_create(actor=roadmap.actor("cpo"), title="New")
    assert client_of(roadmap.dev1).get(url).status_code == 403
    assert client_of(foreign.csm).get(url).status_code == 403
    forged = url.replace("t=", "t=x")
    assert client_of(roadmap.csm).get(forged).status_code == 403
    other_team = re.sub(r"/live/\d+/", f"/live/{foreign.flow_team.pk}/", url)
    assert client_of(foreign.csm).get(other_team).status_code == 404


# --- Query counts -------------------------------------------------------------------------


def grow(ns, epics: int):
    cpo = ns.actor("cpo")
    milestones = list(Milestone.objects.filter(flow_team=ns.flow_team))
    have = Epic.objects.filter(flow_team=ns.flow_team).count()
    Epic.objects.bulk_create(
        Epic(
            flow_team=ns.flow_team,
            title=f"Bulk {n}",
            rank=10**9 + n,
            milestone=milestones[n % len(milestones)] if n % 5 else None,
        )
        for n in range(have, epics)
    )
    for epic in Epic.objects.filter(flow_team=ns.flow_team)[:3]:
        services.epic_change(actor=cpo, epic=epic, data={"job_size": 2})


def counted(client, url, **headers):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return len(ctx)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/roadmap/", {}),
        ("/roadmap/?epic={epic}", {}),
        ("/roadmap/?wsjf=propose", htmx(target="roadmap-panel")),
        ("/backlog/", {}),
    ],
)
def test_pages_run_the_same_queries_at_10_and_300_epics(roadmap, url, headers):
    from django.core.cache import cache

    counts = []
    for size in (10, 300):
        grow(roadmap, size)
        cache.clear()  # the shared regions render afresh each time
        epic = Epic.objects.filter(flow_team=roadmap.flow_team).first().pk
        counts.append(counted(client_of(roadmap.cpo), url.format(epic=epic), **headers))
    assert Epic.objects.filter(flow_team=roadmap.flow_team).count() == 300
    assert counts[0] == counts[1], counts


def test_the_poll_runs_the_same_queries_at_10_and_300_epics(roadmap):
    from django.core.cache import cache

    counts = []
    for size in (10, 300):
        grow(roadmap, size)
        cache.clear()
        client = client_of(roadmap.csm)
        url = poll_url(client.get("/roadmap/").content.decode())
        services.epic_change(
            actor=roadmap.actor("cpo"), epic=roadmap.epics["a"], data={"job_size": 3}
        )
        counts.append(counted(client, url))
    assert counts[0] == counts[1], counts
