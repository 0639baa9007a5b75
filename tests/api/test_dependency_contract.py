"""The dependency contract through the REST API: the requesting team raises with a
needed-by Flow Sprint, the providing team commits or counter-proposes, the requester
accepts or re-negotiates. Each step answers with the dependency's new ETag, shows in its
``steps``, bumps the roadmap's live version and tells the webhooks; stale or missing
If-Match is 412/428 and nothing is written."""

import datetime

import pytest

from backlog.models import Dependency, DependencyStep
from backlog.services import roadmap_live_key
from sem.live import live_versions
from teams.webhooks import webhook_endpoint_create
from tests.backlog.factories import EpicFactory, StoryFactory
from tests.flow.factories import FlowSprintFactory

pytestmark = pytest.mark.django_db

DEPENDENCIES = "/api/v1/dependencies/"


def live(flow) -> int:
    key = roadmap_live_key(flow.flow_team.pk)
    return live_versions([key])[key]


def sprints_of(ns):
    return {
        n: FlowSprintFactory(
            flow_team=ns.flow_team,
            number=n,
            start=datetime.date(2026, 1, 5) + datetime.timedelta(weeks=2 * (n - 1)),
        )
        for n in range(1, 6)
    }


@pytest.fixture
def sprints(flow):
    return sprints_of(flow)


@pytest.fixture
def raised(api, flow, sprints):
    """Team 1's story needs team 2's story by Flow Sprint 3, raised by team 1's PO."""
    needing = StoryFactory(scrum_team=flow.scrum_teams[0], title="Invoice export")
    providing = StoryFactory(scrum_team=flow.scrum_teams[1], title="Tax API")
    response = api("po1").post(
        DEPENDENCIES,
        {"from_story": needing.pk, "to_story": providing.pk, "needed_by": sprints[3].pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response


def step(api, role, dependency, action, body, version):
    return api(role).post(
        f"{DEPENDENCIES}{dependency}/{action}/",
        body,
        format="json",
        HTTP_IF_MATCH=f'"{version}"',
    )


def test_a_full_negotiation_with_etags_steps_live_versions_and_webhooks(api, flow, sprints, raised):
    webhook_endpoint_create(
        actor=flow.actor("cpo"), url="https://hooks.example.com/deps", event_types=["dependency"]
    )
    body = raised.json()
    pk = body["id"]
    assert (body["contract"], body["needed_by"], body["committed_sprint"]) == (
        "requested",
        sprints[3].pk,
        None,
    )
    assert [(s["kind"], s["flow_sprint"], s["by"]) for s in body["steps"]] == [
        ("raised", sprints[3].pk, flow.po1.pk)
    ]
    assert raised["ETag"] == '"1"'

    before = live(flow)
    countered = step(api, "po2", pk, "counter", {"flow_sprint": sprints[4].pk, "note": "busy"}, 1)
    assert countered.status_code == 200, countered.json()
    assert countered["ETag"] == '"2"'
    assert live(flow) == before + 1
    body = countered.json()
    assert (body["contract"], body["proposed_sprint"], body["committed_sprint"]) == (
        "countered",
        sprints[4].pk,
        None,
    )

    renegotiated = step(api, "sm1", pk, "renegotiate", {"needed_by": sprints[2].pk}, 2)
    assert renegotiated.status_code == 200, renegotiated.json()
    body = renegotiated.json()
    assert (body["contract"], body["needed_by"], body["proposed_sprint"]) == (
        "requested",
        sprints[2].pk,
        None,
    )

    countered = step(api, "sm2", pk, "counter", {"flow_sprint": sprints[3].pk}, 3)
    assert countered.status_code == 200, countered.json()
    accepted = step(api, "po1", pk, "accept", {"note": "we wait"}, 4)
    assert accepted.status_code == 200, accepted.json()
    assert accepted["ETag"] == '"5"'
    body = accepted.json()
    assert (body["contract"], body["needed_by"], body["committed_sprint"]) == (
        "accepted",
        sprints[3].pk,
        sprints[3].pk,
    )

    committed = step(api, "po2", pk, "commit", {"flow_sprint": sprints[2].pk}, 5)
    assert committed.status_code == 200, committed.json()
    assert committed.json()["committed_sprint"] == sprints[2].pk
    assert live(flow) == before + 5

    shown = api("dev1").get(f"{DEPENDENCIES}{pk}/")
    assert shown["ETag"] == '"6"'
    assert [(s["kind"], s["flow_sprint"], s["note"], s["by"]) for s in shown.json()["steps"]] == [
        ("raised", sprints[3].pk, "", flow.po1.pk),
        ("countered", sprints[4].pk, "busy", flow.po2.pk),
        ("renegotiated", sprints[2].pk, "", flow.sm1.pk),
        ("countered", sprints[3].pk, "", flow.sm2.pk),
        ("accepted", sprints[3].pk, "we wait", flow.po1.pk),
        ("committed", sprints[2].pk, "", flow.po2.pk),
    ]
    sent = list(flow.flow_team.webhooks.get().deliveries.order_by("pk"))
    assert [d.event for d in sent] == [
        "dependency.countered",
        "dependency.renegotiated",
        "dependency.countered",
        "dependency.accepted",
        "dependency.committed",
    ]
    assert sent[-1].payload["data"]["contract"] == "committed"
    assert sent[-1].payload["data"]["committed_sprint"] == sprints[2].pk


def _unchanged(pk):
    dependency = Dependency.objects.get(pk=pk)
    return (
        dependency.version,
        dependency.contract,
        dependency.needed_by_id,
        dependency.committed_sprint_id,
        dependency.proposed_sprint_id,
        DependencyStep.objects.count(),
    )


def test_stale_or_missing_if_match_writes_nothing(api, flow, sprints, raised):
    pk = raised.json()["id"]
    before, live_before = _unchanged(pk), live(flow)
    missing = api("po2").post(
        f"{DEPENDENCIES}{pk}/commit/", {"flow_sprint": sprints[3].pk}, format="json"
    )
    assert missing.status_code == 428
    stale = step(api, "po2", pk, "commit", {"flow_sprint": sprints[3].pk}, 7)
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 1
    assert (_unchanged(pk), live(flow)) == (before, live_before)


@pytest.mark.parametrize(
    ("role", "action", "body", "field"),
    [
        # A commitment later than needed is a counter-proposal.
        ("po2", "commit", {"flow_sprint": 4}, "flow_sprint"),
        # Counter-proposing the needed-by sprint is a commitment.
        ("po2", "counter", {"flow_sprint": 3}, "flow_sprint"),
        ("po1", "accept", {}, "contract"),  # nothing proposed
        ("po1", "renegotiate", {"needed_by": 3}, "needed_by"),  # needed by 3 already
        ("po2", "commit", {"flow_sprint": "closed"}, "flow_sprint"),
        ("po2", "commit", {"flow_sprint": "foreign"}, "flow_sprint"),
        ("po1", "renegotiate", {"needed_by": "foreign"}, "needed_by"),
        ("po2", "commit", {}, "flow_sprint"),
        ("po2", "counter", {"flow_sprint": None}, "flow_sprint"),
        ("po2", "commit", {"flow_sprint": 2, "needed_by": 2}, "needed_by"),
    ],
)
def test_bad_steps_are_refused_naming_the_field(
    api, flow, foreign, sprints, raised, role, action, body, field
):
    pk = raised.json()["id"]
    closed = FlowSprintFactory(
        flow_team=flow.flow_team, number=9, start=datetime.date(2027, 1, 4), state="closed"
    )
    theirs = sprints_of(foreign)[2]
    named = {"closed": closed.pk, "foreign": theirs.pk, None: None}
    body = {
        k: (named[v] if v in named else sprints[v].pk) if k != "note" else v
        for k, v in body.items()
    }
    before, live_before = _unchanged(pk), live(flow)
    response = step(api, role, pk, action, body, 1)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert (_unchanged(pk), live(flow)) == (before, live_before)


def test_sides_are_kept_apart(api, flow, sprints, raised):
    """The requester does not commit for the provider, nor the provider accept for the
    requester; a developer does neither; a resolved dependency is not negotiated."""
    pk = raised.json()["id"]
    before = _unchanged(pk)
    for role, action, body in [
        ("po1", "commit", {"flow_sprint": sprints[2].pk}),
        ("sm1", "counter", {"flow_sprint": sprints[4].pk}),
        ("dev2", "commit", {"flow_sprint": sprints[2].pk}),
        ("po3", "counter", {"flow_sprint": sprints[4].pk}),
        ("po2", "renegotiate", {"needed_by": sprints[4].pk}),
        ("stakeholder", "renegotiate", {"needed_by": sprints[4].pk}),
    ]:
        assert step(api, role, pk, action, body, 1).status_code == 403, (role, action)
    assert _unchanged(pk) == before
    Dependency.objects.filter(pk=pk).update(state="resolved")
    resolved = step(api, "po2", pk, "commit", {"flow_sprint": sprints[2].pk}, 1)
    assert resolved.status_code == 400
    assert "state" in resolved.json()["errors"]


def test_an_epic_is_provided_by_the_flow_roles(api, flow, sprints):
    """No one Scrum Team owns an epic: the CPO, CSM or Architect answer for it."""
    needing = StoryFactory(scrum_team=flow.scrum_teams[0])
    epic = EpicFactory(flow_team=flow.flow_team)
    created = api("sm1").post(
        DEPENDENCIES,
        {"from_story": needing.pk, "to_epic": epic.pk, "needed_by": sprints[3].pk},
        format="json",
    )
    pk = created.json()["id"]
    for role in ("po1", "po2", "sm2", "dev1"):
        denied = step(api, role, pk, "commit", {"flow_sprint": sprints[3].pk}, 1)
        assert denied.status_code == 403, role
    answer = step(api, "architect", pk, "commit", {"flow_sprint": sprints[3].pk}, 1)
    assert answer.status_code == 200


def test_another_flow_teams_dependency_is_not_found(api, flow, foreign, sprints):
    their_sprint = sprints_of(foreign)[3]
    a = StoryFactory(scrum_team=foreign.scrum_teams[0])
    b = StoryFactory(scrum_team=foreign.scrum_teams[1])
    created = api("po1", foreign).post(
        DEPENDENCIES,
        {"from_story": a.pk, "to_story": b.pk, "needed_by": their_sprint.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    for action, body in [
        ("commit", {"flow_sprint": sprints[3].pk}),
        ("counter", {"flow_sprint": sprints[3].pk}),
        ("accept", {}),
        ("renegotiate", {"needed_by": sprints[3].pk}),
    ]:
        assert step(api, "cpo", pk, action, body, 1).status_code == 404
    assert Dependency.objects.get(pk=pk).version == 1


def test_a_foreign_needed_by_sprint_is_refused_at_creation(api, flow, foreign, sprints):
    their_sprint = sprints_of(foreign)[3]
    a = StoryFactory(scrum_team=flow.scrum_teams[0])
    b = StoryFactory(scrum_team=flow.scrum_teams[1])
    response = api("po1").post(
        DEPENDENCIES,
        {"from_story": a.pk, "to_story": b.pk, "needed_by": their_sprint.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "needed_by" in response.json()["errors"]
    assert not Dependency.objects.exists()
