"""Flow Sprint Planning 2 (/events/<pk>/planning-2/): who sees and does what, the warnings
before the CSM confirms (exactly), the confirmation closing the event with its outputs and
what it was made despite, the live poll, and query counts that do not grow with teams."""

import datetime
import functools
import itertools
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backlog.models import Dependency
from events.models import Event
from events.services import planning_2_confirm
from flow import selectors, services
from flow.models import FlowSprint, Risk
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from tests.backlog.factories import StoryFactory
from tests.conftest import build_flow_team
from tests.events.planning2_setup import build_planning_2, high_risk

pytestmark = pytest.mark.django_db
# Monday 5 January 2026, 10:00 UTC: day 1 of Flow Sprint 1 (the cadence anchor).
NOW = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def p2(flow, clock):
    found = build_planning_2(flow)
    found.ns = flow
    return found


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


HX = {"HTTP_HX_REQUEST": "true"}


def board_url(p2) -> str:
    return f"/events/{p2.event.pk}/planning-2/"


def poll_url(html: str, poll_id: str = "p2-poll") -> str:
    found = re.search(rf'id="{poll_id}"[^>]*hx-get="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&")


# --- The warnings, exactly --------------------------------------------------------


@pytest.mark.parametrize(
    ("impact", "roam", "plan"),
    list(itertools.product(Risk.Impact.values, Risk.Roam.values, ["", "  ", "Fallback queue"])),
)
def test_an_unmitigated_high_risk_is_high_or_critical_unsettled_and_without_a_plan(
    impact, roam, plan
):
    risk = Risk(pk=1, title="r", impact=impact, roam=roam, mitigation=plan)
    expected = impact in ("high", "critical") and roam not in ("resolved", "mitigated")
    expected = expected and not plan.strip()
    warnings = selectors.warnings_of([], [risk])
    assert [w["key"] for w in warnings] == (["risk:1"] if expected else [])


@pytest.mark.parametrize(
    ("colour", "warned"), [("red", True), ("orange", False), ("green", False), (None, False)]
)
def test_only_a_red_dependency_is_warned_about(colour, warned):
    dependency = {
        "id": 7,
        "colour": colour,
        "requester": "Checkout",
        "provider": "Payments",
        "planned": 3,
        "needed_by": 2,
    }
    warnings = selectors.warnings_of([dependency], [])
    assert [w["key"] for w in warnings] == (["dependency:7"] if warned else [])


def test_the_screen_says_plainly_what_still_stands(client, p2):
    high_risk(p2.ns)
    client.force_login(p2.ns.csm)
    html = client.get(board_url(p2), **HX).content.decode()
    assert "Before confirming: 2 things still stand." in html
    assert "Red dependency: <strong>Checkout flow needs Payment API</strong>" in html
    assert "planned for Flow Sprint 2, needed by Flow Sprint 1" in html
    assert "Unmitigated high risk: <strong>Load may exceed capacity</strong>" in html
    # A plan for the risk and the providing team's commitment to sprint 1 settle both.
    risk = Risk.objects.get()
    services.risk_update(
        actor=p2.ns.actor("sm1"), risk=risk, data={"mitigation": "Scale out the workers"}
    )
    type(p2.red).objects.filter(pk=p2.red.pk).update(committed_sprint=p2.sprint)
    html = client.get(board_url(p2), **HX).content.decode()
    assert "No red dependency and no unmitigated high risk remains." in html


def test_the_board_shows_each_teams_goal_stories_and_load(client, p2):
    client.force_login(p2.ns.po1)
    html = client.get(board_url(p2), **HX).content.decode()
    for n in (1, 2, 3):
        assert f"Goal of Team {n}" in html and f"Story {n}.0" in html
    assert html.count('aria-label="6 of 10 points planned"') == 3
    assert '<span class="bar-60">' in html
    # The red dependency offers to open a risk linked to it, on the event's screen.
    assert f'href="/events/{p2.event.pk}/?risk_for_dependency={p2.red.pk}"' in html


# --- Who may do what ------------------------------------------------------------------


def test_the_event_screen_of_a_planning_2_loads_the_board(client, p2):
    client.force_login(p2.ns.csm)
    html = client.get(f"/events/{p2.event.pk}/?risk_for_dependency={p2.red.pk}").content.decode()
    assert f'hx-get="/events/{p2.event.pk}/planning-2/?risk_for_dependency={p2.red.pk}"' in html
    assert f'href="/events/{p2.event.pk}/planning-2/"' in html


def test_a_stakeholder_follows_planning_2_read_only(p2):
    stakeholder = client_of(p2.ns.stakeholder)
    page = stakeholder.get(board_url(p2))
    html = page.content.decode()
    assert page.status_code == 200 and "Flow Sprint Planning 2" in html
    assert "p2-goal-input" not in html and "planning-2-confirm" not in html
    assert stakeholder.get(f"/events/{p2.event.pk}/").status_code == 200
    refused = stakeholder.post(f"{board_url(p2)}goal/", {"goal": "Mine", "version": "0"})
    assert refused.status_code == 403
    refused = stakeholder.post(f"{board_url(p2)}confirm/", {"version": "0"})
    assert refused.status_code == 403
    assert FlowSprint.objects.get(pk=p2.sprint.pk).goal_draft == ""


@pytest.mark.parametrize("role", ["csm", "architect", "po1", "sm1", "dev1"])
def test_only_the_cpo_drafts(p2, role):
    answer = client_of(p2.ns.users[role]).post(
        f"{board_url(p2)}goal/", {"goal": "Ours", "version": "0"}
    )
    assert answer.status_code == 403
    assert FlowSprint.objects.get(pk=p2.sprint.pk).goal_draft == ""


@pytest.mark.parametrize("role", ["cpo", "architect", "po1", "sm1"])
def test_only_the_csm_confirms(p2, role):
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    answer = client_of(p2.ns.users[role]).post(f"{board_url(p2)}confirm/", {"version": "1"})
    assert answer.status_code == 403
    assert Event.objects.get(pk=p2.event.pk).state == "scheduled"


def test_another_flow_teams_planning_2_is_not_found(p2, foreign):
    outsider = client_of(foreign.csm)
    for url in (board_url(p2), f"{board_url(p2)}live/?t=x&v=0"):
        assert outsider.get(url).status_code in (403, 404)
    assert outsider.get(board_url(p2)).status_code == 404
    assert outsider.post(f"{board_url(p2)}confirm/", {"version": "0"}).status_code == 404
    assert client_of(foreign.cpo).post(f"{board_url(p2)}goal/", {"goal": "x"}).status_code == 404


def test_another_kind_of_event_has_no_planning_2_board(client, p2):
    other = Event.objects.filter(flow_team=p2.ns.flow_team, kind="planning_1").first()
    client.force_login(p2.ns.csm)
    assert client.get(f"/events/{other.pk}/planning-2/").status_code == 404


# --- Drafting and confirming ------------------------------------------------------


def test_the_cpo_drafts_and_a_stale_draft_keeps_the_text_and_names_who(p2):
    cpo = client_of(p2.ns.cpo)
    saved = cpo.post(
        f"{board_url(p2)}goal/", {"goal": "Customers pay in one step", "version": "0"}, **HX
    )
    assert saved.status_code == 200 and "Draft saved." in saved.content.decode()
    assert "Customers pay in one step" in saved.content.decode()  # the goal region, oob
    sprint = FlowSprint.objects.get(pk=p2.sprint.pk)
    assert (sprint.goal_draft, sprint.goal_version, sprint.goal_drafted_by) == (
        "Customers pay in one step",
        1,
        p2.ns.cpo,
    )
    stale = cpo.post(f"{board_url(p2)}goal/", {"goal": "Another tab's goal", "version": "0"}, **HX)
    html = stale.content.decode()
    assert stale.status_code == 409
    assert f"{p2.ns.cpo.display_name} saved a draft at 11:00" in html
    assert "“Customers pay in one step”" in html and ">Another tab&#x27;s goal</textarea>" in html
    assert FlowSprint.objects.get(pk=p2.sprint.pk).goal_draft == "Customers pay in one step"
    empty = cpo.post(f"{board_url(p2)}goal/", {"goal": "  ", "version": "1"}, **HX)
    assert empty.status_code == 400 and "write the Flow Sprint Goal" in empty.content.decode()
    assert "has-error" in empty.content.decode()


def test_a_draft_is_stamped_and_each_one_counts_a_version(p2, clock):
    draft = functools.partial(services.flow_sprint_goal_draft, actor=p2.ns.actor("cpo"))
    draft(flow_sprint=p2.sprint, text="Pay", expected_version=0)
    clock.shift(datetime.timedelta(minutes=5))
    sprint = draft(flow_sprint=p2.sprint, text="Pay in one step", expected_version=1)
    stored = FlowSprint.objects.get(pk=p2.sprint.pk)
    for read in (sprint, stored):
        assert (read.goal_draft, read.goal_version, read.goal_drafted_by) == (
            "Pay in one step",
            2,
            p2.ns.cpo,
        )
        assert read.goal_drafted_at == NOW + datetime.timedelta(minutes=5)


def test_drafting_refusals_word_for_word_and_nothing_written(p2, foreign):
    def refused(exception, actor, **changes):
        FlowSprint.objects.filter(pk=p2.sprint.pk).update(**changes)
        with pytest.raises(exception) as caught:
            services.flow_sprint_goal_draft(
                actor=actor, flow_sprint=p2.sprint, text="Ours", expected_version=0
            )
        stored = FlowSprint.objects.get(pk=p2.sprint.pk)
        assert (stored.goal_draft, stored.goal_drafted_at) == ("", None)
        return caught.value

    cpo = p2.ns.actor("cpo")
    assert str(refused(PermissionRefused, p2.ns.actor("csm"))) == (
        "the CPO drafts the Flow Sprint Goal"
    )
    # Another Flow Team's CPO may draft goals, but not this Flow Team's.
    assert refused(RuleViolation, foreign.actor("cpo")).detail == {
        "flow_sprint": ["the Flow Sprint is not in this Flow Team"]
    }
    conflict = refused(VersionConflict, cpo, goal_version=3)
    assert conflict.current_version == 3
    assert refused(RuleViolation, cpo, goal_version=0, goal_confirmed_at=NOW).detail == {
        "goal": ["the CSM has confirmed this Flow Sprint Goal"]
    }
    closed = refused(RuleViolation, cpo, goal_confirmed_at=None, state=FlowSprint.State.CLOSED)
    assert closed.detail == {"goal": ["this Flow Sprint is closed"]}


def test_confirming_needs_a_draft_and_the_draft_read(p2):
    csm = p2.ns.actor("csm")
    with pytest.raises(RuleViolation) as refused:
        planning_2_confirm(actor=csm, event=p2.event, expected_version=0, acknowledged=set())
    assert refused.value.detail == {"goal": ["the CPO has not drafted the Flow Sprint Goal yet"]}
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    with pytest.raises(VersionConflict):
        planning_2_confirm(
            actor=csm,
            event=p2.event,
            expected_version=0,
            acknowledged={f"dependency:{p2.red.pk}"},
        )
    with pytest.raises(PermissionRefused) as forbidden:
        services.flow_sprint_goal_confirm(
            actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, expected_version=1, acknowledged=set()
        )
    assert str(forbidden.value) == "the CSM confirms the Flow Sprint Goal"


def test_the_csm_confirms_once_refusals_word_for_word_and_the_goal_topic_moves(p2):
    csm, sprint = p2.ns.actor("csm"), p2.sprint
    key = services.flow_sprint_goal_live_key(sprint.pk)

    def confirm(expected_version, acknowledged):
        services.flow_sprint_goal_confirm(
            actor=csm,
            flow_sprint=sprint,
            expected_version=expected_version,
            acknowledged=acknowledged,
        )

    with pytest.raises(RuleViolation) as refused:
        confirm(0, set())
    assert refused.value.detail == {"goal": ["the CPO has not drafted the Flow Sprint Goal yet"]}
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=sprint, text="Pay", expected_version=0
    )
    with pytest.raises(VersionConflict) as stale:
        confirm(0, set())
    assert stale.value.current_version == 1
    risk = high_risk(p2.ns)
    with pytest.raises(RuleViolation) as refused:
        confirm(1, set())
    assert refused.value.detail == {
        "confirm": [
            "new since your screen showed them: Checkout flow needs Payment API (red: planned "
            f"for Flow Sprint {p2.next_sprint.number}, needed by Flow Sprint {sprint.number}); "
            "Load may exceed capacity (impact high, ROAM open, no mitigation plan). "
            "Look again, then confirm."
        ]
    }
    before = live_versions([key])[key]
    confirm(1, {f"dependency:{p2.red.pk}", f"risk:{risk.pk}"})
    assert live_versions([key])[key] == before + 1
    with pytest.raises(RuleViolation) as refused:
        confirm(1, {f"dependency:{p2.red.pk}", f"risk:{risk.pk}"})
    assert refused.value.detail == {"goal": ["this Flow Sprint Goal is already confirmed"]}
    assert live_versions([key])[key] == before + 1


def test_a_warning_the_csm_did_not_see_refuses_the_confirmation(p2):
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    risk = high_risk(p2.ns)
    with pytest.raises(RuleViolation) as refused:
        planning_2_confirm(
            actor=p2.ns.actor("csm"),
            event=p2.event,
            expected_version=1,
            acknowledged={f"dependency:{p2.red.pk}"},
        )
    assert refused.value.detail == {
        "confirm": [
            f"new since your screen showed them: {risk.title} (impact high, ROAM open, "
            "no mitigation plan). Look again, then confirm."
        ]
    }
    sprint = FlowSprint.objects.get(pk=p2.sprint.pk)
    assert sprint.goal == "" and sprint.goal_confirmed_at is None
    assert Event.objects.get(pk=p2.event.pk).state == "scheduled"


def test_confirming_closes_planning_2_records_outputs_and_what_it_was_despite(p2):
    risk = high_risk(p2.ns)
    services.risk_create(
        actor=p2.ns.actor("sm1"),
        title="Payment API late",
        scrum_team=p2.ns.scrum_teams[0],
        dependency=p2.red,
        impact="medium",
        mitigation="Stub the API until sprint 2",
    )
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"),
        flow_sprint=p2.sprint,
        text="Customers pay in one step",
        expected_version=0,
    )
    csm = client_of(p2.ns.csm)
    html = csm.get(board_url(p2), **HX).content.decode()
    assert "Confirm despite 2 warnings" in html
    acks = re.findall(r'name="acknowledged" value="([^"]+)"', html)
    assert sorted(acks) == sorted([f"dependency:{p2.red.pk}", f"risk:{risk.pk}"])
    done = csm.post(f"{board_url(p2)}confirm/", {"version": "1", "acknowledged": acks}, **HX)
    assert done.status_code == 200
    assert "Flow Sprint Goal confirmed; Planning 2 is done." in done.content.decode()
    sprint = FlowSprint.objects.get(pk=p2.sprint.pk)
    assert sprint.goal == "Customers pay in one step"
    assert (sprint.goal_confirmed_by, sprint.goal_confirmed_at) == (p2.ns.csm, NOW)
    assert sorted((w["kind"], w["id"]) for w in sprint.confirmed_despite) == [
        ("dependency", p2.red.pk),
        ("risk", risk.pk),
    ]
    event = Event.objects.get(pk=p2.event.pk)
    assert event.state == "done" and event.ended_at == NOW
    goal = event.recorded_outputs["flow_sprint_goal"]
    # Each warning confirmed despite, in the order the screen listed them, "; " between.
    assert goal == (
        "Customers pay in one step\n\nConfirmed despite: Checkout flow needs Payment API "
        "(red: planned for Flow Sprint 2, needed by Flow Sprint 1); "
        "Load may exceed capacity (impact high, ROAM open, no mitigation plan)"
    )
    assert "Payment API late: Stub the API until sprint 2" in event.recorded_outputs["mitigations"]
    # Confirmed once: a second confirmation and a new draft are refused.
    again = csm.post(f"{board_url(p2)}confirm/", {"version": "1", "acknowledged": acks}, **HX)
    assert again.status_code == 400
    with pytest.raises(RuleViolation):
        services.flow_sprint_goal_draft(
            actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="x", expected_version=1
        )
    # The board now shows the confirmed goal with what it was confirmed despite.
    html = csm.get(board_url(p2), **HX).content.decode()
    assert 'data-confirmed="yes"' in html and "Confirmed despite:" in html


def test_nothing_standing_confirms_without_despite(p2):
    type(p2.red).objects.filter(pk=p2.red.pk).update(committed_sprint=p2.sprint)
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    planning_2_confirm(
        actor=p2.ns.actor("csm"), event=p2.event, expected_version=1, acknowledged=set()
    )
    assert FlowSprint.objects.get(pk=p2.sprint.pk).confirmed_despite == []
    assert (
        "Confirmed despite"
        not in Event.objects.get(pk=p2.event.pk).recorded_outputs["flow_sprint_goal"]
    )


def test_the_mitigations_output_lists_each_open_dependency_with_its_plans_word_for_word(p2):
    """One line per open dependency, in the order raised: who needs what, its colour (or
    "not planned yet"), then its risks' plans (gravest risk first; a blank plan is none)."""
    for title, impact, plan in (
        ("Stub it", "medium", "Stub the API until sprint 2"),
        ("Fallback", "low", " Pay by invoice meanwhile "),
        ("Worry", "low", "   "),
    ):
        high_risk(p2.ns, title=title, impact=impact, mitigation=plan, dependency=p2.red)
    Dependency.objects.create(
        flow_team=p2.ns.flow_team,
        from_story=StoryFactory(scrum_team=p2.ns.scrum_teams[2], title="Invoice run"),
        to_story=StoryFactory(scrum_team=p2.ns.scrum_teams[1], title="Ledger export"),
        needed_by=None,
    )
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    planning_2_confirm(
        actor=p2.ns.actor("csm"),
        event=p2.event,
        expected_version=1,
        acknowledged={f"dependency:{p2.red.pk}"},
    )
    outputs = Event.objects.get(pk=p2.event.pk).recorded_outputs
    assert outputs["flow_sprint_goal"] == (
        "Pay\n\nConfirmed despite: Checkout flow needs Payment API "
        "(red: planned for Flow Sprint 2, needed by Flow Sprint 1)"
    )
    assert outputs["mitigations"] == (
        "- Checkout flow needs Payment API (red): "
        "Stub it: Stub the API until sprint 2; Fallback: Pay by invoice meanwhile\n"
        "- Invoice run needs Ledger export (not planned yet): no mitigation plan"
    )


def test_confirming_elsewhere_or_again_is_refused_word_for_word(p2, foreign):
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    confirm = functools.partial(planning_2_confirm, expected_version=1, acknowledged=set())
    with pytest.raises(NotFound) as missing:
        confirm(actor=foreign.actor("csm"), event=p2.event)
    assert str(missing.value) == "no such event in your Flow Team"
    review = Event.objects.get(flow_sprint=p2.sprint, kind="review")
    with pytest.raises(RuleViolation) as refused:
        confirm(actor=p2.ns.actor("csm"), event=review)
    assert refused.value.detail == {"event": ["the Flow Sprint Goal is confirmed at Planning 2"]}
    Event.objects.filter(pk=p2.event.pk).update(state=Event.State.CANCELLED)
    with pytest.raises(RuleViolation) as refused:
        confirm(actor=p2.ns.actor("csm"), event=Event.objects.get(pk=p2.event.pk))
    assert refused.value.detail == {"state": ["this Planning 2 is cancelled"]}
    assert FlowSprint.objects.get(pk=p2.sprint.pk).goal_confirmed_at is None


def test_with_no_open_dependency_the_mitigations_output_says_so(p2):
    Dependency.objects.filter(pk=p2.red.pk).update(state=Dependency.State.RESOLVED)
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    planning_2_confirm(
        actor=p2.ns.actor("csm"), event=p2.event, expected_version=1, acknowledged=set()
    )
    outputs = Event.objects.get(pk=p2.event.pk).recorded_outputs
    assert outputs["mitigations"] == "No open dependencies."


# --- Live -------------------------------------------------------------------------------


def test_the_poll_answers_204_until_the_cpo_drafts_then_the_goal(p2):
    po = client_of(p2.ns.po1)
    url = poll_url(po.get(board_url(p2), **HX).content.decode())
    assert po.get(url).status_code == 204
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay in one step", expected_version=0
    )
    changed = po.get(url)
    html = changed.content.decode()
    assert changed.status_code == 200 and "Pay in one step" in html
    assert 'id="p2-goal" hx-swap-oob="innerHTML"' in html
    # The next poll carries the new versions: nothing more to send.
    assert po.get(poll_url(html)).status_code == 204


def test_a_risk_change_reaches_the_planning_2_screen(p2):
    po = client_of(p2.ns.po2)
    url = poll_url(po.get(board_url(p2), **HX).content.decode())
    high_risk(p2.ns)  # written directly: nothing bumped, nothing sent
    assert po.get(url).status_code == 204
    services.risk_create(
        actor=p2.ns.actor("sm1"), title="Vendor outage", scrum_team=p2.ns.scrum_teams[0]
    )
    html = po.get(url).content.decode()
    assert "Unmitigated high risk" in html
    # The embedded register's list comes with it (it has no poll of its own) ...
    assert 'id="risk-list" hx-swap-oob="innerHTML"' in html and "Vendor outage" in html
    # ... and only when the register changed.
    services.flow_sprint_goal_draft(
        actor=p2.ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    html = po.get(poll_url(html)).content.decode()
    assert "Pay" in html and 'id="risk-list"' not in html


def _queries(client, url, **extra) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(url, **extra)
    return answer, len(captured)


@pytest.mark.parametrize("teams", [3, 15])
def test_screen_and_poll_queries_do_not_grow_with_teams(teams, clock):
    ns = build_flow_team(prefix=f"T{teams}", teams=teams)
    p2 = build_planning_2(ns)
    high_risk(ns)
    services.risk_create(
        actor=ns.actor("sm1"), title="Late", scrum_team=ns.scrum_teams[0], dependency=p2.red
    )
    csm = client_of(ns.csm)
    url = f"/events/{p2.event.pk}/planning-2/"
    answer, count = _queries(csm, url, **HX)
    assert answer.status_code == 200
    assert count == 13
    poll = poll_url(answer.content.decode())
    answer, count = _queries(csm, poll)
    assert (answer.status_code, count) == (204, 1)
    services.flow_sprint_goal_draft(
        actor=ns.actor("cpo"), flow_sprint=p2.sprint, text="Pay", expected_version=0
    )
    answer, count = _queries(csm, poll)
    assert answer.status_code == 200
    assert count == 13


@pytest.mark.parametrize(
    ("who", "path", "data", "says"),
    [
        ("cpo", "goal/", {}, "the form&#x27;s version is missing"),
        ("cpo", "goal/", {"goal": "g", "version": "x"}, "the form&#x27;s version is missing"),
        ("cpo", "goal/", {"goal": "g", "version": "9" * 30}, "the form&#x27;s version is missing"),
        ("cpo", "goal/", {"goal": "g" * 2001, "version": "0"}, "at most 2000 characters"),
        ("csm", "confirm/", {"version": "-1"}, "the form&#x27;s version is missing"),
        ("csm", "confirm/", {"version": "0", "acknowledged": ["x" * 300]}, "not drafted"),
    ],
)
def test_hostile_planning_2_posts_are_refused_naming_why_and_write_nothing(
    p2, who, path, data, says
):
    answer = client_of(p2.ns.users[who]).post(f"{board_url(p2)}{path}", data, **HX)
    assert answer.status_code == 400 and says in answer.content.decode()
    sprint = FlowSprint.objects.get(pk=p2.sprint.pk)
    assert (sprint.goal_draft, sprint.goal_version, sprint.goal) == ("", 0, "")
    assert client_of(p2.ns.users[who]).get(f"{board_url(p2)}{path}").status_code == 405
