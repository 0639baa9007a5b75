"""Every route × every role × own and foreign Flow Team (quality.md, security targets).

The routes come from the router (tests/api/routes.py): a route, action or method the
matrix does not walk fails ``test_the_matrix_walks_every_route_of_the_router``.
"""

import datetime

import pytest
from django.db.models import Count, Max, Sum

from backlog import services
from backlog.models import (
    AcceptanceCriterion,
    Blocker,
    Dependency,
    DependencyStep,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    StateChange,
    Story,
    Task,
)
from flow.models import Risk, SprintCommitment
from teams.models import WebhookDelivery, WebhookEndpoint
from teams.webhooks import webhook_endpoint_create
from tests.api.routes import list_routes, route_of, write_routes
from tests.flow.factories import FlowSprintFactory, TeamSprintFactory

pytestmark = pytest.mark.django_db

ROLES = ["cpo", "csm", "architect", "stakeholder", "po1", "sm1", "dev1", "po2", "dev2"]
# Read routes that answer with something other than a paginated list of rows, and where
# their role and Flow Team rules are walked instead.
NOT_ROW_LISTS = {
    "metrics": "a report of the stored snapshot: tests/api/test_metrics_api.py, every role",
}
LIST_ROUTES = sorted(list_routes() - set(NOT_ROW_LISTS))


def populate(ns):
    """One object on every route, owned by team 1 where it has a team."""
    cpo, po1 = ns.actor("cpo"), ns.actor("po1")
    goal = services.product_goal_create(actor=cpo, statement=f"Goal of {ns.flow_team.name}")
    milestone = services.milestone_create(
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
    task = services.task_create(actor=po1, story=story, title="Task")
    blocked = services.story_create(actor=po1, scrum_team=ns.scrum_teams[0], title="Stuck")
    blocked = services.blocker_raise(actor=po1, story=blocked, reason="waiting on legal")
    dependency = services.dependency_create(actor=po1, source=story, target=other)
    from flow import services as flow_services

    risk = flow_services.risk_create(actor=cpo, title="Risk", scrum_team=ns.scrum_teams[0])
    sprint, later = (
        FlowSprintFactory(
            flow_team=ns.flow_team,
            number=n,
            state="planned",
            start=datetime.date(2030, 1, 7) + datetime.timedelta(weeks=2 * (n - 1)),
            end=datetime.date(2030, 1, 20) + datetime.timedelta(weeks=2 * (n - 1)),
        )
        for n in (1, 2)
    )
    team_sprint = TeamSprintFactory(flow_sprint=sprint, scrum_team=ns.scrum_teams[0])
    # Needed by sprint 1, the providing team (team 2) proposes sprint 2.
    countered = services.dependency_create(actor=po1, source=story, target=other, needed_by=sprint)
    countered = services.dependency_counter(
        actor=ns.actor("po2"), dependency=countered, flow_sprint=later
    )
    from tests.events.factories import EventFactory

    EventFactory(flow_sprint=sprint)
    EventFactory(flow_sprint=sprint, kind="review")  # one a stakeholder sees, too
    # Registered last: the writes above send nothing (and nothing is sent in these tests).
    webhook = webhook_endpoint_create(
        actor=cpo, url=f"https://hooks.example.com/{ns.flow_team.slug}", event_types=["story"]
    )
    WebhookDelivery.objects.create(
        endpoint=webhook,
        event="story.updated",
        payload={  # as teams.webhooks.webhook_emit writes it
            "event": "story.updated",
            "flow_team": ns.flow_team.pk,
            "occurred_at": "2026-03-02T09:00:00+00:00",
            "data": {"id": story.pk},
        },
    )
    return {
        "webhook": webhook,
        "epic": epic,
        "story": story,
        "blocked": blocked,
        "task": task,
        "other": other,
        "dependency": dependency,
        "countered": countered,
        "sprint": sprint,
        "later_sprint": later,
        "risk": risk,
        "team_sprint": team_sprint,
        "criterion": story.criteria.get(),
        "goal": goal,
        "milestone": milestone,
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
    blocked, risk, m = objs["blocked"], objs["risk"], objs["milestone"]
    return {
        "create story": ("post", "/api/v1/stories/", {"scrum_team": t1, "title": "New"}, None),
        "edit story": ("patch", f"/api/v1/stories/{s.pk}/", {"title": "Edited"}, s),
        "move story": ("patch", f"/api/v1/stories/{s.pk}/", {"state": "ready"}, s),
        "edit and move story": (
            "patch",
            f"/api/v1/stories/{s.pk}/",
            {"title": "Edited", "state": "ready"},
            s,
        ),
        "rank story": ("post", f"/api/v1/stories/{s.pk}/rank/", {}, s),
        "rank story after itself": (
            "post",
            f"/api/v1/stories/{s.pk}/rank/",
            {"after": s.pk},
            s,
        ),
        "block story": ("post", f"/api/v1/stories/{s.pk}/block/", {"reason": "r"}, s),
        "unblock story": ("post", f"/api/v1/stories/{blocked.pk}/unblock/", {}, blocked),
        "add task": ("post", "/api/v1/tasks/", {"story": s.pk, "title": "T"}, None),
        "finish task": ("patch", f"/api/v1/tasks/{objs['task'].pk}/", {"done": True}, None),
        "add criterion": (
            "post",
            "/api/v1/acceptance-criteria/",
            {"story": s.pk, "text": "Totals match"},
            None,
        ),
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
        "rank epic before itself": ("post", f"/api/v1/epics/{e.pk}/rank/", {"before": e.pk}, e),
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
        "commit to dependency": (
            "post",
            f"/api/v1/dependencies/{objs['dependency'].pk}/commit/",
            {"flow_sprint": objs["sprint"].pk, "note": "we can"},
            objs["dependency"],
        ),
        "commit after the needed-by sprint": (
            "post",
            f"/api/v1/dependencies/{objs['countered'].pk}/commit/",
            {"flow_sprint": objs["later_sprint"].pk},
            objs["countered"],
        ),
        "counter dependency": (
            "post",
            f"/api/v1/dependencies/{objs['dependency'].pk}/counter/",
            {"flow_sprint": objs["later_sprint"].pk},
            objs["dependency"],
        ),
        "accept counter-proposal": (
            "post",
            f"/api/v1/dependencies/{objs['countered'].pk}/accept/",
            {"note": "fine"},
            objs["countered"],
        ),
        "accept with nothing proposed": (
            "post",
            f"/api/v1/dependencies/{objs['dependency'].pk}/accept/",
            {},
            objs["dependency"],
        ),
        "renegotiate dependency": (
            "post",
            f"/api/v1/dependencies/{objs['countered'].pk}/renegotiate/",
            {"needed_by": objs["later_sprint"].pk},
            objs["countered"],
        ),
        "record team risk": ("post", "/api/v1/risks/", {"title": "R", "scrum_team": t1}, None),
        "roam risk": ("patch", f"/api/v1/risks/{risk.pk}/", {"roam": "owned"}, risk),
        "move risk to another team": (
            "patch",
            f"/api/v1/risks/{risk.pk}/",
            {"scrum_team": ns.scrum_teams[1].pk},
            risk,
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
        "refresh metrics": ("post", "/api/v1/metrics/refresh/", {}, None),
        "move epic into milestone": (
            "post",
            f"/api/v1/epics/{e.pk}/rank/",
            {"milestone": m.pk},
            e,
        ),
        "rank epics by wsjf": (
            "post",
            "/api/v1/epics/rank-by-wsjf/",
            {"proposal": [{"id": e.pk, "version": getattr(e, "version", 1)}]},
            None,
        ),
        # The world has an active goal already: the CPO is told to close it first.
        "create product goal": ("post", "/api/v1/product-goals/", {"statement": "G2"}, None),
        "edit product goal": (
            "patch",
            f"/api/v1/product-goals/{objs['goal'].pk}/",
            {"statement": "Edited"},
            None,
        ),
        "create milestone": (
            "post",
            "/api/v1/milestones/",
            {"name": "M2", "objective": "o", "start": "2026-03-09", "end": "2026-05-11"},
            None,
        ),
        "edit milestone": ("patch", f"/api/v1/milestones/{m.pk}/", {"objective": "Edited"}, m),
        "move milestone": ("post", f"/api/v1/milestones/{m.pk}/move/", {}, m),
        "close milestone": ("post", f"/api/v1/milestones/{m.pk}/close/", {}, m),
    }


def if_match(obj):
    if obj is None:
        return {}
    return {"HTTP_IF_MATCH": f'"{type(obj).objects.get(pk=obj.pk).version}"'}


# Who may (domain.md "Who may do what"); everyone else gets 403 in their own Flow Team.
TEAM_1 = {"po1", "sm1", "dev1"}
REGISTER = {"cpo", "csm", "architect", "po1", "sm1"}
PROVIDER = {"cpo", "csm", "architect", "po2"}
ALLOWED = {
    "create story": {"cpo", *TEAM_1},
    "edit story": {"cpo", *TEAM_1},
    "move story": TEAM_1,
    "edit and move story": TEAM_1,  # the CPO edits but does not move: the whole change is 403
    "rank story": {"cpo", *TEAM_1},
    "rank story after itself": {"cpo", *TEAM_1},
    "block story": TEAM_1,
    "unblock story": TEAM_1,
    "add task": TEAM_1,
    "finish task": TEAM_1,
    "add criterion": {"cpo", *TEAM_1},
    "check criterion": TEAM_1,
    "create epic": {"cpo"},
    "score epic": {"cpo"},
    "assess epic": {"architect"},
    "rank epic": {"cpo"},
    "rank epic before itself": {"cpo"},
    "record dependency": REGISTER,
    "resolve dependency": REGISTER,
    # The provider side: team 2 owns the target story (po2), or the register's Flow roles.
    "commit to dependency": PROVIDER,
    "commit after the needed-by sprint": PROVIDER,
    "counter dependency": PROVIDER,
    "accept counter-proposal": REGISTER,
    "accept with nothing proposed": REGISTER,
    "renegotiate dependency": REGISTER,
    "record team risk": REGISTER,
    "roam risk": REGISTER,
    "move risk to another team": {"cpo", "csm", "architect"},
    "claim story": TEAM_1,
    "register webhook": {"cpo", "csm"},
    "pause webhook": {"cpo", "csm"},
    "remove webhook": {"cpo", "csm"},
    "refresh metrics": {"cpo", "csm", "architect", "po1", "sm1", "dev1", "po2", "dev2"},
    "move epic into milestone": {"cpo"},
    "rank epics by wsjf": {"cpo"},
    "create product goal": {"cpo"},
    "edit product goal": {"cpo"},
    "create milestone": {"cpo"},
    "edit milestone": {"cpo"},
    "move milestone": {"cpo"},
    "close milestone": {"cpo"},
}
# Bad input from someone allowed: 400 naming the field, nothing written.
BAD_INPUT = {
    "rank story after itself": "after",
    "rank epic before itself": "before",
    "create product goal": "status",
    "commit after the needed-by sprint": "flow_sprint",
    "accept with nothing proposed": "contract",
}
# Roles that may write the object but not this field get 400 naming the field.
SPECIAL = {
    ("score epic", "architect"): 400,
    ("assess epic", "cpo"): 400,
    ("move risk to another team", "po1"): 400,
    ("move risk to another team", "sm1"): 400,
}
ACCEPTED = {"refresh metrics": 202}
# Writes that name no object: they land in the caller's own Flow Team.
NAME_NO_OBJECT = {
    "create epic",
    "register webhook",
    "refresh metrics",
    "create product goal",
    "create milestone",
    # Another Flow Team's epic ids in the proposal: tests/api/test_roadmap_api.py.
    "rank epics by wsjf",
}


def fingerprint() -> dict:
    """What a write could change, in a few queries: rows and versions of every written table."""
    found = {}
    for model in (Story, Epic, Dependency, Risk, Milestone):
        found[model.__name__] = model.objects.aggregate(n=Count("pk"), v=Sum("version"))
    found["ProductGoal"] = ProductGoal.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
    found["RoadmapChange"] = RoadmapChange.objects.count()
    for model in (
        Task,
        AcceptanceCriterion,
        StateChange,
        Blocker,
        DependencyStep,
        SprintCommitment,
        WebhookEndpoint,
    ):
        found[model.__name__] = model.objects.count()
    found["done tasks"] = Task.objects.filter(done=True).count()
    found["checked"] = AcceptanceCriterion.objects.filter(checked=True).count()
    found["active webhooks"] = WebhookEndpoint.objects.filter(active=True).count()
    return found


def expected_status(action, role, method):
    if role not in ALLOWED[action]:
        return SPECIAL.get((action, role), 403)
    if action in BAD_INPUT:
        return 400
    if action in ACCEPTED:
        return ACCEPTED[action]
    created = action.startswith(("create", "add", "record", "claim", "register"))
    return 201 if created else 204 if method == "delete" else 200


def test_the_matrix_walks_every_route_of_the_router(flow):
    """A new write route (or method, or action) must be added to the matrix."""
    walked = {route_of(method, url) for method, url, _, _ in _writes(flow, WORLD_IDS).values()}
    assert walked == write_routes(), {
        "missing from the matrix": write_routes() - walked,
        "not a route any more": walked - write_routes(),
    }
    assert set(ALLOWED) == set(_writes(flow, WORLD_IDS))


class _Id:
    pk = 1


# Enough of a world to build every URL, for the coverage test (ids need not exist).
WORLD_IDS = {
    key: _Id()
    for key in (
        "story",
        "epic",
        "blocked",
        "risk",
        "task",
        "criterion",
        "dependency",
        "countered",
        "sprint",
        "later_sprint",
        "team_sprint",
        "webhook",
        "other",
        "goal",
        "milestone",
    )
}


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("role", ROLES)
def test_writes_follow_the_role_rules(api, flow, foreign, world, action, role):
    own, theirs = world
    method, url, body, versioned = _writes(flow, own)[action]
    headers = if_match(versioned)
    before = fingerprint()
    response = getattr(api(role), method)(url, body, format="json", **headers)
    expected = expected_status(action, role, method)
    assert response.status_code == expected, response.json()
    if expected >= 400:
        assert fingerprint() == before, "a refused write changed nothing"
    if action in BAD_INPUT and expected == 400:
        assert BAD_INPUT[action] in response.json()["errors"]

    # The same write aimed at the other Flow Team's objects: 404 or a refused id, never done.
    if action in NAME_NO_OBJECT:
        return
    method, url, body, versioned = _writes(foreign, theirs)[action]
    headers = if_match(versioned)
    before = fingerprint()
    response = getattr(api(role), method)(url, body, format="json", **headers)
    assert response.status_code in (400, 404), response.json()
    assert fingerprint() == before
