"""Improvement items (events/improvements/): retro and Scrum of Scrums actions become items
of the Flow Backlog or of a team's backlog, in priority order, with their age and the flow
metric they should move (then and now); the backlog pages, their order, done and live."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.improvements import selectors, services
from events.models import ActionItem, Event
from events.retro import services as retro
from events.retro.selectors import retro_live_key
from events.services import action_item_add
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_versions
from tests.events import retro_setup
from tests.events.retro_setup import HX, NOW, client_of, to_phase
from tests.flow.factories import MetricSnapshotFactory

pytestmark = pytest.mark.django_db
clock, retros = retro_setup.clock, retro_setup.retros
DUE = NOW.date() + datetime.timedelta(days=14)


def snapshot(flow, team=None, *, day, wip):
    return MetricSnapshotFactory(
        flow_team=flow.flow_team,
        scrum_team=team,
        as_of=day,
        data={"daily": {"throughput": [1], "wip": [wip]}, "cycle_time": {"85": wip * 2}},
    )


def act(flow, event, text, *, metric="", who=None):
    who = who or ("sm1" if event.scrum_team_id else "csm")
    return retro.action_add(
        actor=flow.actor(who),
        event=event,
        text=text,
        owner_id=flow.users["sm1"].pk,
        due_date=DUE,
        metric=metric,
    )


@pytest.fixture
def discussing(flow, retros):
    team, flow_retro = retros
    to_phase(flow, team, "discuss")
    to_phase(flow, flow_retro, "discuss")
    return team, flow_retro


def test_a_flow_retro_action_goes_to_the_flow_backlog_and_a_team_retros_to_the_team(
    flow, discussing
):
    team, flow_retro = discussing
    flow_item = act(flow, flow_retro, "Shorten the review queue")
    team_item = act(flow, team, "Pair on the flaky tests")
    assert (flow_item.scrum_team_id, team_item.scrum_team_id) == (None, flow.scrum_teams[0].pk)
    flow_backlog = selectors.improvement_backlog(flow_team_id=flow.flow_team.pk, scrum_team_id=None)
    team_backlog = selectors.improvement_backlog(
        flow_team_id=flow.flow_team.pk, scrum_team_id=flow.scrum_teams[0].pk
    )
    assert [i.text for i in flow_backlog["open"]] == ["Shorten the review queue"]
    assert [i.text for i in team_backlog["open"]] == ["Pair on the flaky tests"]


def test_each_backlog_numbers_its_own_open_items(flow, foreign, discussing):
    """A new item goes after the open items of its own backlog: not after another
    backlog's, another Flow Team's, or a closed item's number."""
    team, flow_retro = discussing
    with time_machine.travel(NOW, tick=False):
        _theirs, their_flow_retro = retro_setup.retro_events(foreign)
        to_phase(foreign, their_flow_retro, "discuss")
        for n in range(5):
            retro.action_add(
                actor=foreign.actor("csm"),
                event=their_flow_retro,
                text=f"theirs {n}",
                owner_id=foreign.users["sm1"].pk,
                due_date=DUE,
                metric="",
            )
    first, second = act(flow, flow_retro, "first"), act(flow, flow_retro, "second")
    services.improvement_item_close(actor=flow.actor("csm"), item_id=second.pk)
    third = act(flow, flow_retro, "third")
    team_item = act(flow, team, "the team's")
    priorities = ActionItem.objects.in_bulk([first.pk, second.pk, third.pk, team_item.pk])
    assert [priorities[i.pk].priority for i in (first, second, third, team_item)] == [1, 2, 2, 1]


def test_a_metric_not_listed_is_refused_saying_so(flow, discussing):
    _team, flow_retro = discussing
    with pytest.raises(RuleViolation) as refused:
        act(flow, flow_retro, "Measure happiness", metric="happiness")
    assert refused.value.detail == {"metric": ["choose one of the flow metrics listed, or none"]}
    assert not ActionItem.objects.exists()


def test_the_metric_keeps_its_value_of_the_day_it_was_raised_and_shows_todays(flow, discussing):
    team, flow_retro = discussing
    snapshot(flow, day=NOW.date() - datetime.timedelta(days=3), wip=9)
    snapshot(flow, day=NOW.date() - datetime.timedelta(days=1), wip=8)
    # The team's own snapshot, not the Flow Team's, is the team item's scope.
    snapshot(flow, flow.scrum_teams[0], day=NOW.date() - datetime.timedelta(days=1), wip=3)
    flow_item = act(flow, flow_retro, "Limit WIP per team", metric="wip")
    team_item = act(flow, team, "Smaller stories", metric="cycle_time_85")
    plain = act(flow, flow_retro, "No metric")
    assert (flow_item.metric_before, flow_item.metric_before_as_of) == (
        8.0,
        datetime.date(2026, 1, 4),
    )
    assert team_item.metric_before == 6
    assert (plain.metric, plain.metric_before) == ("", None)
    # A week later the metrics job has a new figure: the item shows both, and which way it went.
    snapshot(flow, day=NOW.date() + datetime.timedelta(days=6), wip=5)
    backlog = selectors.improvement_backlog(flow_team_id=flow.flow_team.pk, scrum_team_id=None)
    info = {i.text: i.metric_info for i in backlog["open"]}
    assert info["No metric"] is None
    assert info["Limit WIP per team"] | {} == {
        "label": "Work in progress",
        "unit": "items",
        "before": 8.0,
        "before_as_of": datetime.date(2026, 1, 4),
        "now": 5.0,
        "now_as_of": datetime.date(2026, 1, 11),
        "movement": "better",
    }


def test_without_metrics_yet_the_item_names_its_metric_and_has_no_before(flow, discussing):
    _team, flow_retro = discussing
    item = act(flow, flow_retro, "Measure first", metric="throughput_4w")
    assert (item.metric, item.metric_before, item.metric_before_as_of) == (
        "throughput_4w",
        None,
        None,
    )


def test_an_unknown_metric_is_refused_naming_the_field(flow, discussing):
    _team, flow_retro = discussing
    with pytest.raises(RuleViolation) as refusal:
        act(flow, flow_retro, "Feel better", metric="mood")
    assert refusal.value.detail == {"metric": ["choose one of the flow metrics listed, or none"]}
    assert not ActionItem.objects.exists()


def test_scrum_of_scrums_actions_are_improvement_items_too(flow, retros):
    team_retro, _flow_retro = retros
    snapshot(flow, flow.scrum_teams[1], day=NOW.date() - datetime.timedelta(days=1), wip=4)
    sos = Event.objects.filter(
        flow_sprint=team_retro.flow_sprint, kind=Event.Kind.SCRUM_OF_SCRUMS
    ).first()
    item = action_item_add(
        actor=flow.actor("csm"),
        event=sos,
        text="Agree an API freeze",
        owner=flow.users["po2"],
        due_date=DUE,
        scrum_team=flow.scrum_teams[1],
        metric="wip",
    )
    assert (item.scrum_team_id, item.metric_before, item.priority) == (
        flow.scrum_teams[1].pk,
        4.0,
        1,
    )


def test_new_items_go_to_the_end_and_the_order_moves_one_step_or_to_the_top(flow, discussing):
    _team, flow_retro = discussing
    a, b, c = (act(flow, flow_retro, text) for text in "abc")
    assert [a.priority, b.priority, c.priority] == [1, 2, 3]

    def order():
        backlog = selectors.improvement_backlog(flow_team_id=flow.flow_team.pk, scrum_team_id=None)
        return [i.text for i in backlog["open"]]

    csm, cpo = flow.actor("csm"), flow.actor("cpo")
    services.improvement_item_move(actor=csm, item_id=c.pk, move="up")
    assert order() == ["a", "c", "b"]
    services.improvement_item_move(actor=cpo, item_id=b.pk, move="top")
    assert order() == ["b", "a", "c"]
    services.improvement_item_move(actor=csm, item_id=b.pk, move="down")
    assert order() == ["a", "b", "c"]
    # At the ends a step goes nowhere.
    services.improvement_item_move(actor=csm, item_id=a.pk, move="up")
    services.improvement_item_move(actor=csm, item_id=c.pk, move="down")
    assert order() == ["a", "b", "c"]
    assert sorted(ActionItem.objects.values_list("priority", flat=True)) == [1, 2, 3]
    with pytest.raises(RuleViolation) as refusal:
        services.improvement_item_move(actor=csm, item_id=a.pk, move="sideways")
    assert refusal.value.detail == {"move": ["move up, down or to the top"]}


def test_a_move_renumbers_the_backlog_in_one_statement(flow, discussing):
    _team, flow_retro = discussing
    items = [act(flow, flow_retro, f"item {n}") for n in range(6)]
    with CaptureQueriesContext(connection) as queries:
        services.improvement_item_move(actor=flow.actor("csm"), item_id=items[5].pk, move="top")
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and '"events_actionitem"' in updates[0]
    assert list(ActionItem.objects.order_by("priority").values_list("pk", flat=True)) == [
        items[5].pk,
        *(i.pk for i in items[:5]),
    ]


def test_a_move_renumbers_only_the_open_items_of_its_own_backlog(flow, foreign, discussing):
    team, flow_retro = discussing
    their_retro = retro_setup.retro_events(foreign)[1]
    to_phase(foreign, their_retro, "discuss")
    act(foreign, their_retro, "theirs")
    a, b, c = (act(flow, flow_retro, text) for text in "abc")
    act(flow, team, "team's")
    services.improvement_item_close(actor=flow.actor("csm"), item_id=b.pk)
    services.improvement_item_move(actor=flow.actor("csm"), item_id=c.pk, move="up")
    priorities = dict(ActionItem.objects.values_list("text", "priority"))
    # c passes a, not the closed b; the other Flow Team's and the team's items keep theirs.
    assert priorities == {"c": 1, "a": 2, "b": 2, "theirs": 1, "team's": 1}


def test_items_sharing_a_priority_move_in_the_order_the_backlog_shows_oldest_first(
    flow, discussing
):
    _team, flow_retro = discussing
    young, old, last = (act(flow, flow_retro, text) for text in ("young", "old", "last"))
    ActionItem.objects.filter(pk=young.pk).update(priority=1, created_at=NOW)
    ActionItem.objects.filter(pk=old.pk).update(
        priority=1, created_at=NOW - datetime.timedelta(days=1)
    )
    ActionItem.objects.filter(pk=last.pk).update(priority=2)

    def order():
        backlog = selectors.improvement_backlog(flow_team_id=flow.flow_team.pk, scrum_team_id=None)
        return [i.text for i in backlog["open"]]

    assert order() == ["old", "young", "last"]
    services.improvement_item_move(actor=flow.actor("csm"), item_id=last.pk, move="up")
    assert order() == ["old", "last", "young"]


@pytest.mark.parametrize(
    "who, flow_level, allowed",
    [
        ("csm", True, True),
        ("cpo", True, True),
        ("po1", True, False),
        ("sm1", True, False),
        ("architect", True, False),
        ("po1", False, True),
        ("sm1", False, True),
        ("dev1", False, False),
        ("sm2", False, False),
        ("csm", False, False),
    ],
)
def test_who_orders_which_backlog(flow, discussing, who, flow_level, allowed):
    team, flow_retro = discussing
    first = act(flow, flow_retro if flow_level else team, "first")
    second = act(flow, flow_retro if flow_level else team, "second")
    if allowed:
        services.improvement_item_move(actor=flow.actor(who), item_id=second.pk, move="top")
        assert ActionItem.objects.get(pk=first.pk).priority == 2
    else:
        with pytest.raises(PermissionRefused) as refusal:
            services.improvement_item_move(actor=flow.actor(who), item_id=second.pk, move="top")
        assert str(refusal.value) == (
            "the CSM and the CPO order the Flow Backlog; a team's PO and SM order its items"
        )
        assert ActionItem.objects.get(pk=first.pk).priority == 1


def test_the_owner_or_whoever_orders_closes_an_item_once(flow, discussing):
    team, _flow_retro = discussing
    item = act(flow, team, "Fix the build light")  # owned by sm1
    with pytest.raises(PermissionRefused) as refused:
        services.improvement_item_close(actor=flow.actor("dev1"), item_id=item.pk)
    assert str(refused.value) == (
        "the item's owner closes it, or whoever orders its backlog "
        "(the CSM or the CPO for the Flow Backlog, the team's PO or SM for a team's)"
    )
    services.improvement_item_close(actor=flow.actor("sm1"), item_id=item.pk)
    item.refresh_from_db()
    assert item.done and item.done_by == flow.users["sm1"] and item.done_at is not None
    with pytest.raises(RuleViolation) as refusal:
        services.improvement_item_close(actor=flow.actor("po1"), item_id=item.pk)
    assert refusal.value.detail == {"done": ["this item was closed already"]}
    with pytest.raises(RuleViolation) as refusal:
        services.improvement_item_move(actor=flow.actor("po1"), item_id=item.pk, move="top")
    assert refusal.value.detail == {"move": ["a done item has no place in the order any more"]}


def test_another_flow_teams_item_is_not_found(flow, foreign, discussing):
    _team, flow_retro = discussing
    item = act(flow, flow_retro, "ours")
    for do in (
        lambda: services.improvement_item_close(actor=foreign.actor("csm"), item_id=item.pk),
        lambda: services.improvement_item_move(
            actor=foreign.actor("csm"), item_id=item.pk, move="top"
        ),
    ):
        with pytest.raises(NotFound, match="^no such improvement item in your Flow Team$"):
            do()
    assert not ActionItem.objects.get(pk=item.pk).done


def test_age_counts_until_today_and_stops_when_done(flow, discussing):
    _team, flow_retro = discussing
    _open, done_item = act(flow, flow_retro, "open"), act(flow, flow_retro, "done")
    with time_machine.travel(NOW + datetime.timedelta(days=4), tick=False):
        services.improvement_item_close(actor=flow.actor("csm"), item_id=done_item.pk)
    with time_machine.travel(NOW + datetime.timedelta(days=10), tick=False):
        backlog = selectors.improvement_backlog(flow_team_id=flow.flow_team.pk, scrum_team_id=None)
    assert [(i.text, i.age_days) for i in backlog["open"]] == [("open", 10)]
    assert [(i.text, i.age_days) for i in backlog["done"]] == [("done", 4)]
    assert backlog["open"][0].overdue is False


def test_every_write_bumps_the_improvements_topic(flow, discussing):
    _team, flow_retro = discussing
    key = services.improvements_live_key(flow.flow_team.pk)
    before = live_versions([key])[key]
    item = act(flow, flow_retro, "x")
    act(flow, flow_retro, "y")
    services.improvement_item_move(actor=flow.actor("csm"), item_id=item.pk, move="down")
    services.improvement_item_close(actor=flow.actor("csm"), item_id=item.pk)
    assert live_versions([key])[key] == before + 4


def test_an_item_closed_in_its_retro_bumps_that_board_and_the_backlog(flow, discussing):
    team, _flow_retro = discussing
    item = act(flow, team, "Fix the build light")  # owned by sm1
    keys = [retro_live_key(team.pk), services.improvements_live_key(flow.flow_team.pk)]
    before = live_versions(keys)
    retro.action_done(actor=flow.actor("sm1"), event=team, action_id=item.pk)
    assert live_versions(keys) == {key: before[key] + 1 for key in keys}


# --- The pages ----------------------------------------------------------------------


def test_the_flow_backlog_page_lists_items_in_order_with_the_buttons_of_the_role(flow, discussing):
    team, flow_retro = discussing
    act(flow, flow_retro, "Visualise blocked time", metric="wip")
    act(flow, flow_retro, "Invite users to the review")
    act(flow, team, "Team only item")
    page = client_of(flow.users["csm"]).get("/improvements/").content.decode()
    assert page.index("Visualise blocked time") < page.index("Invite users to the review")
    assert "Team only item" not in page
    assert "Move “Invite users to the review” up" in page
    assert "Work in progress" in page
    # A developer reads the Flow Backlog without order buttons; a team's page is the team's.
    dev_page = client_of(flow.users["dev1"]).get("/improvements/").content.decode()
    assert "Visualise blocked time" in dev_page and "Move “" not in dev_page
    team_page = (
        client_of(flow.users["dev1"])
        .get(f"/improvements/?team={flow.scrum_teams[0].pk}")
        .content.decode()
    )
    assert "Team only item" in team_page and "Visualise blocked time" not in team_page


def test_stakeholders_and_other_flow_teams_do_not_see_the_backlogs(flow, foreign, discussing):
    _team, flow_retro = discussing
    act(flow, flow_retro, "internal")
    assert client_of(flow.users["stakeholder"]).get("/improvements/").status_code == 404
    theirs = client_of(foreign.users["csm"])
    assert "internal" not in theirs.get("/improvements/").content.decode()
    assert theirs.get(f"/improvements/?team={flow.scrum_teams[0].pk}").status_code == 404
    assert theirs.get(f"/improvements/teams/{flow.scrum_teams[0].pk}/").status_code == 404
    assert client_of(flow.users["csm"]).get("/improvements/?team=x").status_code == 404


def test_the_buttons_post_through_the_services_and_answer_the_list(flow, discussing):
    _team, flow_retro = discussing
    first, second = act(flow, flow_retro, "first"), act(flow, flow_retro, "second")
    csm = client_of(flow.users["csm"])
    response = csm.post(f"/improvements/{second.pk}/move/", {"move": "top"}, **HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("second") < body.index("first")
    assert (
        client_of(flow.users["dev1"])
        .post(f"/improvements/{first.pk}/move/", {"move": "top"}, **HX)
        .status_code
        == 403
    )
    refused = csm.post(f"/improvements/{first.pk}/move/", {"move": "left"}, **HX)
    assert refused.status_code == 400 and "move up, down or to the top" in refused.content.decode()
    assert csm.post(f"/improvements/{first.pk}/done/", {}).status_code == 302
    assert ActionItem.objects.get(pk=first.pk).done


def test_the_team_panel_on_the_backlog_page(flow, discussing):
    team, _flow_retro = discussing
    act(flow, team, "Fix the flaky pipeline")
    sm1 = client_of(flow.users["sm1"])
    backlog = sm1.get("/backlog/?team=1").content.decode()
    assert f'hx-get="/improvements/teams/{flow.scrum_teams[0].pk}/"' in backlog
    panel = sm1.get(f"/improvements/teams/{flow.scrum_teams[0].pk}/").content.decode()
    assert "Fix the flaky pipeline" in panel
    stakeholder = client_of(flow.users["stakeholder"]).get("/backlog/?team=1").content.decode()
    assert "/improvements/teams/" not in stakeholder


def test_the_page_polls_and_gets_the_list_after_a_change(flow, discussing):
    _team, flow_retro = discussing
    act(flow, flow_retro, "first")
    cpo = client_of(flow.users["cpo"])
    page = cpo.get("/improvements/").content.decode()
    poll_url = page.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert poll_url.startswith("/improvements/live/0/")
    assert cpo.get(poll_url).status_code == 204
    act(flow, flow_retro, "raised at the retro just now")
    answer = cpo.get(poll_url)
    assert answer.status_code == 200
    assert "raised at the retro just now" in answer.content.decode()
    # Someone else's token is refused; another scope is not found.
    assert client_of(flow.users["csm"]).get(poll_url).status_code == 403
    assert cpo.get(poll_url.replace("/live/0/", "/live/7/")).status_code == 404


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_page_reads_the_same_number_of_queries_for_few_and_many_items(flow, discussing):
    team, flow_retro = discussing
    snapshot(flow, day=NOW.date() - datetime.timedelta(days=1), wip=2)
    act(flow, flow_retro, "one", metric="wip")
    csm = client_of(flow.users["csm"])
    few = _queries(csm, "/improvements/")
    for n in range(12):
        item = act(flow, flow_retro, f"more {n}", metric="wip" if n % 2 else "")
        if n % 3 == 0:
            services.improvement_item_close(actor=flow.actor("csm"), item_id=item.pk)
    assert _queries(csm, "/improvements/") == few


def test_the_closing_record_reads_every_owner_at_once_and_names_a_removed_one(flow, discussing):
    """The items' owners come with the items (the queries do not grow with them), and an
    item whose owner's account is gone (the owner is set null) reads "no owner"."""
    _, flow_retro = discussing
    first = act(flow, flow_retro, "One")

    def recorded():
        Event.objects.filter(pk=flow_retro.pk).update(recorded_outputs={})
        flow_retro.refresh_from_db()
        with CaptureQueriesContext(connection) as ctx:
            retro._record_actions(flow.actor("csm"), flow_retro)
        flow_retro.refresh_from_db()
        return len(ctx.captured_queries), flow_retro.recorded_outputs["improvements"]

    few, _ = recorded()
    for n in range(4):
        act(flow, flow_retro, f"More {n}")
    ActionItem.objects.filter(pk=first.pk).update(owner=None)
    many, text = recorded()
    assert many == few
    assert text.splitlines()[0] == "1. One (no owner, due 19 Jan 2026)"
    assert len(text.splitlines()) == 5
    # An item closed before the retro ends comes after the open ones.
    services.improvement_item_close(actor=flow.actor("csm"), item_id=first.pk)
    _, text = recorded()
    assert text.splitlines()[0].startswith("1. More 0 ")
    assert text.splitlines()[4] == "5. One (no owner, due 19 Jan 2026)"


def test_closing_the_retro_records_its_items_in_order_as_the_events_output(flow, discussing):
    team, flow_retro = discussing
    act(flow, flow_retro, "Second by now", metric="wip")
    first = act(flow, flow_retro, "First by now")
    services.improvement_item_move(actor=flow.actor("csm"), item_id=first.pk, move="top")
    retro.retro_phase(actor=flow.actor("csm"), event=flow_retro, to="closed")
    flow_retro.refresh_from_db()
    sm1 = flow.users["sm1"].display_name
    assert flow_retro.recorded_outputs == {
        "improvements": f"1. First by now ({sm1}, due 19 Jan 2026)\n"
        f"2. Second by now ({sm1}, due 19 Jan 2026; should move work in progress)"
    }
    assert flow_retro.outputs_recorded_by == flow.users["csm"]
    # What someone wrote by hand stays: the team retro's output was recorded already.
    team.recorded_outputs = {"action_items": "written by the SM"}
    team.save()
    act(flow, team, "Team action")
    retro.retro_phase(actor=flow.actor("sm1"), event=team, to="closed")
    team.refresh_from_db()
    assert team.recorded_outputs == {"action_items": "written by the SM"}


def test_an_items_owner_closes_it_though_they_do_not_order_its_backlog(flow, discussing):
    team, _flow_retro = discussing
    item = retro.action_add(
        actor=flow.actor("sm1"),
        event=team,
        text="Pair on the flaky test",
        owner_id=flow.users["dev1"].pk,
        due_date=DUE,
    )
    with pytest.raises(PermissionRefused) as refused:
        services.improvement_item_close(actor=flow.actor("po2"), item_id=item.pk)
    assert str(refused.value) == (
        "the item's owner closes it, or whoever orders its backlog "
        "(the CSM or the CPO for the Flow Backlog, the team's PO or SM for a team's)"
    )
    services.improvement_item_close(actor=flow.actor("dev1"), item_id=item.pk)
    assert ActionItem.objects.get(pk=item.pk).done_by == flow.users["dev1"]
