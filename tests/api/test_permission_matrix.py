"""Every route × every role × own and foreign Flow Team (quality.md, security targets)."""

import datetime

import pytest

from backlog import services
from backlog.models import Epic
from teams.models import WebhookDelivery
from teams.webhooks import webhook_endpoint_create
from tests.flow.factories import FlowSprintFactory, TeamSprintFactory

pytestmark = pytest.mark.django_db

ROLES = ["cpo", "csm", "architect", "stakeholder", "po1", "sm1", "dev1", "po2", "dev2"]
LIST_ROUTES = [
    "flow-teams",
    "scrum-teams",
    "members",
    "product-goals",
    "milestones",
    "epics",
    "stories",
    "tasks",
    "acceptance-criteria",
    "dependencies",
    "risks",
    "flow-sprints",
    "team-sprints",
    "events",
    "webhooks",
    "webhook-deliveries",
]


def populate(ns):
    """One object on every route, owned by team 1 where it has a team."""
    cpo, po1 = ns.actor("cpo"), ns.actor("po1")
    services.product_goal_create(actor=cpo, statement=f"Goal of {ns.flow_team.name}")
    services.milestone_create(
        actor=cpo,
        name="M1",
        objective="o",
        start=datetime.date(2026, 1, 5),
        end=datetime.date(2026, 3, 9),
    )
    epic = services.epic_create(actor=cpo, title="Epic", acceptance_conditions="ac")
    story = services.story_create(
        actor=po1,
        scrum_team=ns.scrum_teams[0],
        title="Story",
        points=3,
        criteria=["c"],
    )
    other = services.story_create(
        actor=ns.actor("po2"), scrum_team=ns.scrum_teams[1], title="Other", points=2
    )
    services.task_create(actor=po1, story=story, title="Task")
    dependency = services.dependency_create(actor=po1, source=story, target=other)
    from flow import services as flow_services

    risk = flow_services.risk_create(actor=cpo, title="Risk", scrum_team=ns.scrum_teams[0])
    sprint = FlowSprintFactory(
        flow_team=ns.flow_team,
        number=1,
        state="planned",
        start=datetime.date(2030, 1, 7),
        end=datetime.date(2030, 1, 20),
    )
    team_sprint = TeamSprintFactory(flow_sprint=sprint, scrum_team=ns.scrum_teams[0])
    from tests.events.factories import EventFactory

    EventFactory(flow_sprint=sprint)
    EventFactory(flow_sprint=sprint, kind="review")  # one a stakeholder sees, too
    # Registered last: the writes above send nothing (and nothing is sent in these tests).
    webhook = webhook_endpoint_create(
        actor=cpo, url=f"https://hooks.example.com/{ns.flow_team.slug}", event_types=["story"]
    )
    WebhookDelivery.objects.create(
        endpoint=webhook, event="story.updated", payload={"data": {"id": story.pk}}
    )
    return {
        "webhook": webhook,
        "epic": epic,
        "story": story,
        "other": other,
        "dependency": dependency,
        "risk": risk,
        "team_sprint": team_sprint,
        "criterion": story.criteria.get(),
    }


@pytest.fixture
def world(flow, foreign):
    return populate(flow), populate(foreign)


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_the_own_flow_team(api, flow, foreign, world, route, role):
    response = api(role).get(f"/api/v1/{route}/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert results, f"{route} shows {role} their own Flow Team's data"
    own_ids = {r["id"] for r in results}
    foreign_ids = {r["id"] for r in api("cpo", foreign).get(f"/api/v1/{route}/").json()["results"]}
    assert not own_ids & foreign_ids
    for foreign_id in foreign_ids:
        assert api(role).get(f"/api/v1/{route}/{foreign_id}/").status_code == 404


def _writes(ns, objs):
    s, e, t1 = objs["story"], objs["epic"], ns.scrum_teams[0].pk
    return {
        "create story": ("post", "/api/v1/stories/", {"scrum_team": t1, "title": "New"}, None),
        "edit story": ("patch", f"/api/v1/stories/{s.pk}/", {"title": "Edited"}, s),
        "move story": ("patch", f"/api/v1/stories/{s.pk}/", {"state": "ready"}, s),
        "rank story": ("post", f"/api/v1/stories/{s.pk}/rank/", {}, s),
        "block story": ("post", f"/api/v1/stories/{s.pk}/block/", {"reason": "r"}, s),
        "add task": ("post", "/api/v1/tasks/", {"story": s.pk, "title": "T"}, None),
        "check criterion": (
            "patch",
            f"/api/v1/acceptance-criteria/{objs['criterion'].pk}/",
            {"checked": True},
            None,
        ),
        "create epic": ("post", "/api/v1/epics/", {"title": "E"}, None),
        "score epic": ("patch", f"/api/v1/epics/{e.pk}/", {"job_size": 3}, e),
        "assess epic": ("patch", f"/api/v1/epics/{e.pk}/", {"feasibility": "feasible"}, e),
        "rank epic": ("post", f"/api/v1/epics/{e.pk}/rank/", {}, e),
        "record dependency": (
            "post",
            "/api/v1/dependencies/",
            {"from_story": s.pk, "to_story": objs["other"].pk},
            None,
        ),
        "resolve dependency": (
            "patch",
            f"/api/v1/dependencies/{objs['dependency'].pk}/",
            {"state": "resolved"},
            objs["dependency"],
        ),
        "record team risk": ("post", "/api/v1/risks/", {"title": "R", "scrum_team": t1}, None),
        "roam risk": (
            "patch",
            f"/api/v1/risks/{objs['risk'].pk}/",
            {"roam": "owned"},
            objs["risk"],
        ),
        "claim story": (
            "post",
            f"/api/v1/team-sprints/{objs['team_sprint'].pk}/claim/",
            {"story": s.pk},
            None,
        ),
        "register webhook": (
            "post",
            "/api/v1/webhooks/",
            {"url": "https://ci.example.com/sem", "event_types": ["epic"]},
            None,
        ),
        "pause webhook": (
            "patch",
            f"/api/v1/webhooks/{objs['webhook'].pk}/",
            {"active": False},
            None,
        ),
        "remove webhook": ("delete", f"/api/v1/webhooks/{objs['webhook'].pk}/", {}, None),
    }


def if_match(obj):
    if obj is None:
        return {}
    return {"HTTP_IF_MATCH": f'"{type(obj).objects.get(pk=obj.pk).version}"'}


# Who may (domain.md "Who may do what"); everyone else gets 403 in their own Flow Team.
ALLOWED = {
    "create story": {"cpo", "po1", "sm1", "dev1"},
    "edit story": {"cpo", "po1", "sm1", "dev1"},
    "move story": {"po1", "sm1", "dev1"},
    "rank story": {"cpo", "po1", "sm1", "dev1"},
    "block story": {"po1", "sm1", "dev1"},
    "add task": {"po1", "sm1", "dev1"},
    "check criterion": {"po1", "sm1", "dev1"},
    "create epic": {"cpo"},
    "score epic": {"cpo"},
    "assess epic": {"architect"},
    "rank epic": {"cpo"},
    "record dependency": {"cpo", "csm", "architect", "po1", "sm1"},
    "resolve dependency": {"cpo", "csm", "architect", "po1", "sm1"},
    "record team risk": {"cpo", "csm", "architect", "po1", "sm1"},
    "roam risk": {"cpo", "csm", "architect", "po1", "sm1"},
    "claim story": {"po1", "sm1", "dev1"},
    "register webhook": {"cpo", "csm"},
    "pause webhook": {"cpo", "csm"},
    "remove webhook": {"cpo", "csm"},
}
# Roles that may edit epics but not this field get 400 naming the field.
SPECIAL = {("score epic", "architect"): 400, ("assess epic", "cpo"): 400}


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("role", ROLES)
def test_writes_follow_the_role_rules(api, flow, foreign, world, action, role):
    own, theirs = world
    method, url, body, versioned = _writes(flow, own)[action]
    headers = if_match(versioned)
    response = getattr(api(role), method)(url, body, format="json", **headers)
    created = action.startswith(("create", "add", "record", "claim", "register"))
    ok = 201 if created else 204 if method == "delete" else 200
    expected = ok if role in ALLOWED[action] else SPECIAL.get((action, role), 403)
    assert response.status_code == expected, response.json()

    # The same write aimed at the other Flow Team's objects: 404 or a refused id, never done.
    # These name no object: they land in the caller's own Flow Team.
    if action in ("create epic", "register webhook"):
        return
    method, url, body, versioned = _writes(foreign, theirs)[action]
    headers = if_match(versioned)
    response = getattr(api(role), method)(url, body, format="json", **headers)
    assert response.status_code in (400, 404), response.json()
    assert not Epic.objects.filter(flow_team=foreign.flow_team, title="E").exists()
