"""The roadmap through the REST API: milestones and the Product Goal written by the CPO,
epics moved between milestones and ranked by WSJF. Every write lands in the change log
and bumps the roadmap's live version; everyone else is refused and nothing is written."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services
from backlog.models import Epic, Milestone, ProductGoal, RoadmapChange, Story
from backlog.services import roadmap_live_key
from sem.live import live_versions
from tests.backlog.factories import EpicFactory, MilestoneFactory, StoryFactory

pytestmark = pytest.mark.django_db

MILESTONES = "/api/v1/milestones/"
GOALS = "/api/v1/product-goals/"
WSJF = "/api/v1/epics/rank-by-wsjf/"
NOT_ROADMAP_PEOPLE = ["po1", "sm1", "dev1", "stakeholder", "architect", "csm"]


def live(flow) -> int:
    key = roadmap_live_key(flow.flow_team.pk)
    return live_versions([key])[key]


def changes(**lookup):
    found = RoadmapChange.objects.filter(**lookup).order_by("id")
    return list(found.values_list("kind", flat=True))


def written(flow) -> dict:
    """What a refused write must leave as it was."""
    return {
        "milestones": list(
            Milestone.objects.filter(flow_team=flow.flow_team)
            .order_by("pk")
            .values_list("name", "objective", "start", "end", "order", "closed_at", "version")
        ),
        "goals": list(ProductGoal.objects.order_by("pk").values_list("statement", "status")),
        "epics": list(Epic.objects.order_by("pk").values_list("rank", "milestone", "version")),
        "changes": RoadmapChange.objects.count(),
        "live": live(flow),
    }


def if_match(version) -> dict:
    return {"HTTP_IF_MATCH": f'"{version}"'}


def _milestone(ns, name):
    return services.milestone_create(
        actor=ns.actor("cpo"),
        name=name,
        objective="Invoices go out without manual steps",
        start=datetime.date(2026, 1, 5),
        end=datetime.date(2026, 3, 9),
    )


@pytest.fixture
def milestone(flow):
    return _milestone(flow, "M1 Invoicing")


NEW = {
    "name": "M2 Payments",
    "objective": "Card payments settle the same day",
    "start": "2026-03-09",
    "end": "2026-05-11",
}


# --- Milestones ----------------------------------------------------------------------


def test_the_cpo_creates_a_milestone_at_the_end_of_the_timeline(api, flow, milestone):
    before = live(flow)
    response = api("cpo").post(MILESTONES, NEW, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "M2 Payments"
    assert body["order"] > milestone.order
    assert (body["closed_at"], body["version"], body["span_warning"]) == (None, 1, "")
    assert (body["points_done"], body["points_total"]) == (0, 0)
    assert response["ETag"] == '"1"'
    assert changes(milestone_id=body["id"]) == ["created"]
    assert live(flow) == before + 1
    listed = api("stakeholder").get(MILESTONES).json()["results"]
    assert [m["name"] for m in listed] == ["M1 Invoicing", "M2 Payments"]


def test_the_cpo_edits_a_milestone_with_if_match(api, flow, milestone):
    before = live(flow)
    url = f"{MILESTONES}{milestone.pk}/"
    tag = api("cpo").get(url)["ETag"]
    response = api("cpo").patch(
        url, {"objective": "Invoices go out nightly", "end": "2026-03-16"}, HTTP_IF_MATCH=tag
    )
    assert response.status_code == 200, response.json()
    assert response.json()["objective"] == "Invoices go out nightly"
    assert response.json()["end"] == "2026-03-16"
    assert response["ETag"] == '"2"'
    assert changes(milestone=milestone) == ["created", "edited"]
    edited = RoadmapChange.objects.get(milestone=milestone, kind="edited")
    assert edited.after == {"objective": "Invoices go out nightly", "end": "2026-03-16"}
    assert edited.by == flow.cpo
    assert live(flow) == before + 1


def test_a_stale_if_match_is_412_and_a_missing_one_428_writing_nothing(api, flow, milestone):
    url = f"{MILESTONES}{milestone.pk}/"
    before = written(flow)
    for action_url, body in (
        (url, {"name": "Renamed"}),
        (f"{url}move/", {}),
        (f"{url}close/", {}),
    ):
        method = api("cpo").patch if action_url == url else api("cpo").post
        stale = method(action_url, body, format="json", **if_match(0))
        assert stale.status_code == 412, stale.json()
        assert stale.json()["current_version"] == 1
        missing = method(action_url, body, format="json")
        assert missing.status_code == 428, missing.json()
    assert written(flow) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "end": "2026-03-01"}, "end"),  # ends before it starts
        ({**NEW, "end": NEW["start"]}, "end"),
        ({**NEW, "start": "2026-02-30"}, "start"),
        ({**NEW, "end": "next month"}, "end"),
        ({**NEW, "name": "   "}, "name"),
        ({**NEW, "objective": ""}, "objective"),
        ({k: v for k, v in NEW.items() if k != "objective"}, "objective"),
        ({**NEW, "closed_at": "2026-01-01T00:00:00Z"}, "closed_at"),
    ],
)
def test_a_bad_new_milestone_is_400_naming_the_field(api, flow, milestone, body, field):
    before = written(flow)
    response = api("cpo").post(MILESTONES, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert written(flow) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"end": "2026-01-01"}, "end"),  # before the start it has
        ({"start": "2026-03-09"}, "start"),  # on the end it has
        ({"start": "2026-13-01"}, "start"),
        ({"order": 1}, "order"),
        ({"version": 7}, "version"),
    ],
)
def test_a_bad_milestone_edit_is_400_naming_the_field(api, flow, milestone, body, field):
    before = written(flow)
    response = api("cpo").patch(f"{MILESTONES}{milestone.pk}/", body, format="json", **if_match(1))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert written(flow) == before


def test_the_cpo_moves_a_milestone_on_the_timeline(api, flow, milestone):
    cpo = flow.actor("cpo")
    second = services.milestone_create(
        actor=cpo, name="M2", objective="o", start=datetime.date(2026, 3, 9), end=NEW_END
    )
    third = services.milestone_create(
        actor=cpo, name="M3", objective="o", start=datetime.date(2026, 5, 11), end=LATER
    )
    before = live(flow)
    response = api("cpo").post(
        f"{MILESTONES}{third.pk}/move/", {"before": milestone.pk}, format="json", **if_match(1)
    )
    assert response.status_code == 200, response.json()
    assert response["ETag"] == '"2"'
    listed = api("dev1").get(MILESTONES).json()["results"]
    assert [m["name"] for m in listed] == ["M3", "M1 Invoicing", "M2"]
    assert changes(milestone=third) == ["created", "ranked"]
    assert live(flow) == before + 1
    # Next to itself or to a milestone that is not on this timeline: 400 naming the side.
    for body, field in (({"after": third.pk}, "after"), ({"before": 999_999}, "before")):
        refused = api("cpo").post(
            f"{MILESTONES}{third.pk}/move/", body, format="json", **if_match(2)
        )
        assert refused.status_code == 400, refused.json()
        assert field in refused.json()["errors"]
    assert Milestone.objects.get(pk=second.pk).version == 1


NEW_END = datetime.date(2026, 5, 11)
LATER = datetime.date(2026, 7, 13)


def test_the_cpo_closes_a_milestone_and_no_epic_moves_into_it(api, flow, milestone):
    epic = services.epic_create(actor=flow.actor("cpo"), title="Billing")
    before = live(flow)
    url = f"{MILESTONES}{milestone.pk}/close/"
    response = api("cpo").post(url, format="json", **if_match(1))
    assert response.status_code == 200, response.json()
    assert response.json()["closed_at"] is not None
    assert changes(milestone=milestone) == ["created", "closed"]
    assert live(flow) == before + 1
    again = api("cpo").post(url, format="json", **if_match(2))
    assert again.status_code == 400
    assert "closed_at" in again.json()["errors"]
    moved = api("cpo").post(
        f"/api/v1/epics/{epic.pk}/rank/",
        {"milestone": milestone.pk},
        format="json",
        **if_match(epic.version),
    )
    assert moved.status_code == 400
    assert "milestone" in moved.json()["errors"]
    assert Epic.objects.get(pk=epic.pk).milestone_id is None


@pytest.mark.parametrize("key", NOT_ROADMAP_PEOPLE)
def test_only_the_cpo_writes_milestones(api, flow, milestone, key):
    client = api(key)
    url = f"{MILESTONES}{milestone.pk}/"
    before = written(flow)
    assert client.post(MILESTONES, NEW, format="json").status_code == 403
    assert client.patch(url, {"name": "X"}, format="json", **if_match(1)).status_code == 403
    assert client.post(f"{url}move/", {}, format="json", **if_match(1)).status_code == 403
    assert client.post(f"{url}close/", format="json", **if_match(1)).status_code == 403
    assert written(flow) == before
    assert client.get(url).status_code == 200  # everyone in the Flow Team reads the roadmap


def test_another_flow_teams_milestone_is_404(api, flow, foreign):
    theirs = _milestone(foreign, "Theirs")
    url = f"{MILESTONES}{theirs.pk}/"
    client = api("cpo")
    state = Milestone.objects.values_list("name", "order", "closed_at", "version")
    before = state.get(pk=theirs.pk)
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "Mine"}, format="json", **if_match(1)).status_code == 404
    assert client.post(f"{url}move/", {}, format="json", **if_match(1)).status_code == 404
    assert client.post(f"{url}close/", format="json", **if_match(1)).status_code == 404
    assert client.get(MILESTONES).json()["count"] == 0
    assert state.get(pk=theirs.pk) == before


def test_a_milestone_shows_the_progress_of_its_open_epics(api, flow, milestone):
    team = flow.scrum_teams[0]
    open_epic = EpicFactory(flow_team=flow.flow_team, milestone=milestone)
    cancelled = EpicFactory(flow_team=flow.flow_team, milestone=milestone, state="cancelled")
    elsewhere = EpicFactory(flow_team=flow.flow_team)
    StoryFactory(scrum_team=team, epic=open_epic, points=5, state=Story.State.DONE)
    StoryFactory(scrum_team=team, epic=open_epic, points=3)
    StoryFactory(scrum_team=team, epic=open_epic, points=None)
    StoryFactory(scrum_team=team, epic=cancelled, points=8, state=Story.State.DONE)
    StoryFactory(scrum_team=team, epic=elsewhere, points=13, state=Story.State.DONE)
    body = api("dev2").get(f"{MILESTONES}{milestone.pk}/").json()
    assert (body["points_done"], body["points_total"]) == (5, 8)
    assert (body["stories_done"], body["stories_total"]) == (1, 3)


def _grow_roadmap(flow, n, offset):
    team = flow.scrum_teams[0]
    for i in range(offset, offset + n):
        m = MilestoneFactory(flow_team=flow.flow_team, order=(i + 1) * 1000)
        epic = EpicFactory(flow_team=flow.flow_team, milestone=m)
        StoryFactory(scrum_team=team, epic=epic, state=Story.State.DONE)
        StoryFactory(scrum_team=team, epic=epic)


def _count(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_milestones_and_the_wsjf_proposal_take_the_same_queries_at_10_and_300(api, flow):
    client = api("stakeholder")
    client.get("/api/v1/flow-teams/")  # the token's last-used write happens once
    _grow_roadmap(flow, 10, 0)
    small = (_count(client, MILESTONES, {"limit": 200})[0], _count(client, WSJF)[0])
    _grow_roadmap(flow, 290, 10)
    milestones = _count(client, MILESTONES, {"limit": 200})
    proposal = _count(client, WSJF)
    assert milestones[1]["count"] == 300
    assert all(m["stories_total"] == 2 for m in milestones[1]["results"])
    assert len(proposal[1]["proposal"]) == 300
    assert (milestones[0], proposal[0]) == small


# --- The Product Goal -----------------------------------------------------------------


def test_the_cpo_sets_edits_and_achieves_the_product_goal(api, flow):
    client = api("cpo")
    start = live(flow)
    created = client.post(GOALS, {"statement": "  Invoicing runs itself  "}, format="json")
    assert created.status_code == 201, created.json()
    goal = created.json()
    assert (goal["statement"], goal["status"], goal["target_date"]) == (
        "Invoicing runs itself",
        "active",
        None,
    )
    url = f"{GOALS}{goal['id']}/"
    edited = client.patch(url, {"target_date": "2026-12-31"}, format="json")
    assert edited.status_code == 200, edited.json()
    assert edited.json()["target_date"] == "2026-12-31"
    achieved = client.patch(url, {"status": "achieved"}, format="json")
    assert achieved.json()["status"] == "achieved"
    assert live(flow) == start + 3
    # With no active goal left, a new one may be set.
    assert client.post(GOALS, {"statement": "Payments"}, format="json").status_code == 201
    assert list(ProductGoal.objects.values_list("status", flat=True).order_by("pk")) == [
        "achieved",
        "active",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "dreamt"}, "status"),
        ({"status": 1}, "status"),
        ({"statement": "  "}, "statement"),
        ({"target_date": "soon"}, "target_date"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_a_bad_product_goal_edit_is_400_naming_the_field(api, flow, body, field):
    goal = services.product_goal_create(actor=flow.actor("cpo"), statement="Invoicing")
    before = written(flow)
    response = api("cpo").patch(f"{GOALS}{goal.pk}/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert written(flow) == before


def test_a_second_active_goal_is_refused_naming_the_status(api, flow):
    first = services.product_goal_create(actor=flow.actor("cpo"), statement="Invoicing")
    services.product_goal_close(actor=flow.actor("cpo"), goal=first, status="abandoned")
    services.product_goal_create(actor=flow.actor("cpo"), statement="Payments")
    before = written(flow)
    reopened = api("cpo").patch(f"{GOALS}{first.pk}/", {"status": "active"}, format="json")
    assert reopened.status_code == 400
    assert "status" in reopened.json()["errors"]
    another = api("cpo").post(GOALS, {"statement": "Third"}, format="json")
    assert another.status_code == 400
    assert "status" in another.json()["errors"]
    assert written(flow) == before


@pytest.mark.parametrize("key", NOT_ROADMAP_PEOPLE)
def test_only_the_cpo_writes_the_product_goal(api, flow, foreign, key):
    goal = services.product_goal_create(actor=flow.actor("cpo"), statement="Invoicing")
    theirs = services.product_goal_create(actor=foreign.actor("cpo"), statement="Theirs")
    before = written(flow)
    assert api(key).patch(f"{GOALS}{goal.pk}/", {"statement": "X"}, format="json").status_code == (
        403
    )
    assert api(key).patch(f"{GOALS}{theirs.pk}/", {"statement": "X"}).status_code == 404
    assert written(flow) == before
    assert api(key).get(f"{GOALS}{goal.pk}/").json()["statement"] == "Invoicing"


# --- Epics on the roadmap -------------------------------------------------------------


def test_the_cpo_drags_an_epic_into_a_milestone_and_back_out(api, flow, milestone):
    cpo = flow.actor("cpo")
    first = services.epic_create(actor=cpo, title="First")
    epic = services.epic_create(actor=cpo, title="Second")
    start = live(flow)
    url = f"/api/v1/epics/{epic.pk}/rank/"
    response = api("cpo").post(
        url, {"before": first.pk, "milestone": milestone.pk}, format="json", **if_match(1)
    )
    assert response.status_code == 200, response.json()
    assert response.json()["milestone"] == milestone.pk
    assert response["ETag"] == '"2"'
    assert [e.title for e in Epic.objects.order_by("rank")] == ["Second", "First"]
    assert Epic.objects.get(pk=first.pk).version == 1  # one row written
    assert sorted(changes(epic=epic)) == ["created", "moved", "ranked"]
    back = api("cpo").post(url, {"milestone": None}, format="json", **if_match(2))
    assert back.json()["milestone"] is None
    stays = api("cpo").post(url, {"after": first.pk}, format="json", **if_match(3))
    assert stays.json()["milestone"] is None
    assert live(flow) == start + 3


def test_an_epic_moves_into_no_other_flow_teams_milestone(api, flow, foreign):
    epic = services.epic_create(actor=flow.actor("cpo"), title="Billing")
    theirs = _milestone(foreign, "Theirs")
    before = written(flow)
    for url, method, body in (
        (f"/api/v1/epics/{epic.pk}/rank/", "post", {"milestone": theirs.pk}),
        (f"/api/v1/epics/{epic.pk}/", "patch", {"milestone": theirs.pk}),
    ):
        response = getattr(api("cpo"), method)(url, body, format="json", **if_match(1))
        assert response.status_code == 400, response.json()
        assert "milestone" in response.json()["errors"]
    assert written(flow) == before


def test_wsjf_and_feasibility_are_written_by_their_roles(api, flow):
    epic = services.epic_create(actor=flow.actor("cpo"), title="Billing")
    url = f"/api/v1/epics/{epic.pk}/"
    off_scale = api("cpo").patch(url, {"business_value": 4}, format="json", **if_match(1))
    assert off_scale.status_code == 400
    assert "business_value" in off_scale.json()["errors"]
    scored = api("cpo").patch(
        url,
        {"business_value": 13, "time_criticality": 8, "risk_reduction": 5, "job_size": 2},
        format="json",
        **if_match(1),
    )
    assert scored.status_code == 200, scored.json()
    assert (scored.json()["cost_of_delay"], scored.json()["wsjf"]) == (26, 13.0)
    assessed = api("architect").patch(
        url,
        {"feasibility": "concerns", "feasibility_note": "needs the new ledger"},
        format="json",
        **if_match(2),
    )
    assert assessed.status_code == 200, assessed.json()
    assert changes(epic=epic) == ["created", "rescored", "feasibility"]
    architect_scores = api("architect").patch(url, {"job_size": 1}, format="json", **if_match(3))
    assert architect_scores.status_code == 400
    assert "job_size" in architect_scores.json()["errors"]


def _epics(flow, *scores):
    cpo = flow.actor("cpo")
    return [
        services.epic_create(actor=cpo, title=title, business_value=value, job_size=size)
        for title, value, size in scores
    ]


def test_rank_by_wsjf_shows_the_proposal_and_applies_it_when_sent_back(api, flow):
    low, high, tie_a, tie_b = _epics(
        flow, ("Low", 1, 13), ("High", 20, 1), ("Tie A", 5, 5), ("Tie B", 5, 5)
    )
    shown = api("cpo").get(WSJF)
    assert shown.status_code == 200
    proposal = shown.json()["proposal"]
    assert [(p["id"], p["current_position"]) for p in proposal] == [
        (high.pk, 2),
        (tie_a.pk, 3),
        (tie_b.pk, 4),
        (low.pk, 1),
    ]
    assert Epic.objects.get(pk=high.pk).rank > Epic.objects.get(pk=low.pk).rank  # not yet
    start = live(flow)
    applied = api("cpo").post(WSJF, shown.json(), format="json")  # sent back as shown
    assert applied.status_code == 200, applied.json()
    assert [e["id"] for e in applied.json()["epics"]] == [high.pk, tie_a.pk, tie_b.pk, low.pk]
    assert list(Epic.objects.order_by("rank").values_list("pk", flat=True)) == [
        high.pk,
        tie_a.pk,
        tie_b.pk,
        low.pk,
    ]
    assert [e["version"] for e in applied.json()["epics"]] == [2, 2, 2, 2]
    assert RoadmapChange.objects.filter(kind="ranked").count() == 4  # each epic moved
    assert live(flow) == start + 1


def test_rank_by_wsjf_is_refused_with_409_when_an_epic_changed_since(api, flow):
    low, high = _epics(flow, ("Low", 1, 13), ("High", 20, 1))
    proposal = api("cpo").get(WSJF).json()
    services.epic_update(actor=flow.actor("cpo"), epic=low, data={"title": "Low, renamed"})
    before = written(flow)
    response = api("cpo").post(WSJF, proposal, format="json")
    assert response.status_code == 409, response.json()
    assert str(low.pk) in response.json()["detail"]
    assert written(flow) == before


def test_rank_by_wsjf_refuses_a_proposal_of_other_epics(api, flow, foreign):
    (mine,) = _epics(flow, ("Mine", 1, 1))
    theirs = services.epic_create(actor=foreign.actor("cpo"), title="Theirs")
    before = written(flow)
    for proposal in (
        [{"id": theirs.pk, "version": 1}],
        [{"id": mine.pk, "version": 1}, {"id": theirs.pk, "version": 1}],
        [{"id": mine.pk, "version": 1}, {"id": mine.pk, "version": 1}],
        [],
    ):
        response = api("cpo").post(WSJF, {"proposal": proposal}, format="json")
        assert response.status_code == 400, (proposal, response.json())
        assert "proposal" in response.json()["errors"]
    missing = api("cpo").post(WSJF, {"proposal": [{"id": mine.pk}]}, format="json")
    assert "proposal.0.version" in missing.json()["errors"]
    assert written(flow) == before


@pytest.mark.parametrize("key", NOT_ROADMAP_PEOPLE)
def test_only_the_cpo_applies_rank_by_wsjf(api, flow, key):
    _epics(flow, ("Low", 1, 13), ("High", 20, 1))
    proposal = api(key).get(WSJF)
    assert proposal.status_code == 200  # everyone may look
    before = written(flow)
    assert api(key).post(WSJF, proposal.json(), format="json").status_code == 403
    assert written(flow) == before
