"""Scrum of Scrums writes (events/services.py): the prefilled drafts from each source,
the teams' answers with their versions and roles, and the action items."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog_services
from backlog.models import Dependency
from events import services
from events.improvements.services import sos_actions_live_key
from events.models import ActionItem, Event, ScrumOfScrumsReport
from events.sos import sos_activity, sos_drafts
from flow.models import MetricSnapshot
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from tests.backlog.factories import StoryFactory
from tests.conftest import build_flow_team
from tests.events.factories import (
    ActionItemFactory,
    DailyScrumNoteFactory,
    EventFactory,
    TeamEventFactory,
)
from tests.events.sos_helpers import NOW, PREVIOUS_START, sos_week
from tests.flow.factories import (
    FlowSprintFactory,
    RiskFactory,
    SprintCommitmentFactory,
    TeamSprintFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def week(flow, clock):
    return sos_week(flow)


def report_of(ns, team_index: int) -> ScrumOfScrumsReport:
    return ScrumOfScrumsReport.objects.get(event=ns.sos, scrum_team=ns.scrum_teams[team_index])


def story(ns, team_index: int, title: str, **kwargs):
    return StoryFactory(scrum_team=ns.scrum_teams[team_index], title=title, **kwargs)


# --- The drafts ----------------------------------------------------------------------------


def test_first_open_gives_every_team_a_draft_once(week):
    assert services.sos_reports_ensure(actor=week.actor("dev1"), event=week.sos) == 3
    assert services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos) == 0
    reports = ScrumOfScrumsReport.objects.filter(event=week.sos)
    assert reports.count() == 3
    assert all(r.drafted_at == NOW and r.submitted_by is None for r in reports)
    assert live_versions([services.sos_live_key(week.sos.pk)])[services.sos_live_key(week.sos.pk)]


def test_a_finished_or_foreign_sos_gets_no_drafts(week, foreign):
    assert services.sos_reports_ensure(actor=week.actor("csm"), event=week.previous) == 0
    with pytest.raises(NotFound):
        services.sos_reports_ensure(actor=foreign.actor("csm"), event=week.sos)
    with pytest.raises(NotFound):
        services.sos_reports_ensure(actor=week.actor("stakeholder"), event=week.sos)
    assert not ScrumOfScrumsReport.objects.exists()


def test_refusing_the_drafts_says_why(week, foreign):
    for actor in (foreign.actor("csm"), week.actor("stakeholder")):
        with pytest.raises(NotFound) as refused:
            services.sos_reports_ensure(actor=actor, event=week.sos)
        assert str(refused.value) == "no such Scrum of Scrums in your Flow Team"


def test_teams_with_a_report_keep_it_whatever_the_ids(week, foreign):
    # Other Flow Teams' reports first, so that report ids and Scrum Team ids differ.
    foreign_sos = EventFactory(flow_sprint=FlowSprintFactory(flow_team=foreign.flow_team))
    services.sos_reports_ensure(actor=foreign.actor("csm"), event=foreign_sos)
    first = services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    assert first == 3
    assert services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos) == 0
    assert ScrumOfScrumsReport.objects.filter(event=week.sos).count() == 3


def test_a_report_written_meanwhile_is_kept_and_the_rest_are_drafted(week, monkeypatch):
    # Two first viewers at once: the other one's row lands between this one's read of
    # the reports there are and its insert.
    drafts = services.sos_drafts

    def other_viewer_first(activity, missing):
        ScrumOfScrumsReport.objects.create(
            event=week.sos, scrum_team=week.scrum_teams[0], impediments="theirs"
        )
        return drafts(activity, missing)

    monkeypatch.setattr(services, "sos_drafts", other_viewer_first)
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    assert report_of(week, 0).impediments == "theirs"
    assert ScrumOfScrumsReport.objects.filter(event=week.sos).count() == 3


def test_blocked_stories_and_blockers_cleared_since_go_to_impediments(week):
    dev1 = week.actor("dev1")
    waiting = story(week, 0, "Export invoices", state="in_progress")
    backlog_services.blocker_raise(actor=dev1, story=waiting, reason="waiting for the bank API")
    cleared = story(week, 0, "Import payments", state="in_progress")
    backlog_services.blocker_raise(actor=dev1, story=cleared, reason="test data missing")
    backlog_services.blocker_clear(actor=dev1, story=cleared)
    services.sos_reports_ensure(actor=dev1, event=week.sos)
    text = report_of(week, 0).impediments
    assert "'Export invoices' blocked: waiting for the bank API" in text
    assert "'Import payments' was blocked, cleared since: test data missing" in text
    assert report_of(week, 1).impediments == ""


def test_dependency_steps_since_go_to_both_teams(week):
    needing = story(week, 0, "Checkout")
    providing = story(week, 1, "Payment API")
    dep = backlog_services.dependency_create(
        actor=week.actor("po1"), source=needing, target=providing, needed_by=week.sprint2
    )
    backlog_services.dependency_commit(
        actor=week.actor("sm2"), dependency=dep, flow_sprint=week.sprint2
    )
    other = backlog_services.dependency_create(
        actor=week.actor("po1"), source=story(week, 0, "Refunds"), target=story(week, 2, "Ledger"),
        needed_by=week.sprint1,
    )  # fmt: skip
    backlog_services.dependency_counter(
        actor=week.actor("sm3"), dependency=other, flow_sprint=week.sprint2
    )
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    one, two, three = (report_of(week, n) for n in range(3))
    assert "New dependency: 'Checkout' needs 'Payment API' of Team 2 by Flow Sprint 2" in (
        one.dependencies
    )
    assert "Team 1 needs 'Payment API' by Flow Sprint 2" in two.dependencies
    assert "Committed 'Payment API' to Team 1 for Flow Sprint 2" in two.done_since_last
    assert "Counter-proposed Flow Sprint 2 for 'Ledger'" in three.done_since_last
    # Team 3 only proposed a later sprint and planned nothing; due now: red, in Team 1's way.
    assert "'Ledger' is red: not planned, Team 1 needs it by Flow Sprint 1" in (three.in_others_way)
    assert "Red: 'Ledger' of Team 3 is not planned; needed by Flow Sprint 1" in one.dependencies
    # Due soon: on track in answer 2, a red one only in answer 4.
    assert "Deliver 'Payment API' to Team 1 (needed by Flow Sprint 2)" in two.next_until_next
    assert "Ledger" not in three.next_until_next


def test_a_provider_planned_after_the_needed_by_sprint_is_red_for_both(week):
    providing = story(week, 1, "Payment API")
    backlog_services.dependency_create(
        actor=week.actor("po1"), source=story(week, 0, "Checkout"), target=providing,
        needed_by=week.sprint1,
    )  # fmt: skip
    team_sprint = TeamSprintFactory(flow_sprint=week.sprint2, scrum_team=week.scrum_teams[1])
    SprintCommitmentFactory(team_sprint=team_sprint, story=providing, committed_at=NOW)
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    assert "'Payment API' is red: planned for Flow Sprint 2" in report_of(week, 1).in_others_way
    assert "Red: 'Payment API' of Team 2 is planned for Flow Sprint 2" in (
        report_of(week, 0).dependencies
    )


def test_steps_before_the_last_sos_are_left_out(week, clock):
    clock.move_to(PREVIOUS_START - datetime.timedelta(days=1))
    backlog_services.dependency_create(
        actor=week.actor("po1"), source=story(week, 0, "Old"), target=story(week, 1, "Older")
    )
    clock.move_to(NOW)
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    assert "Old" not in report_of(week, 0).dependencies


def test_since_is_when_the_last_sos_really_began(week, clock):
    # It began five days late, on 12 January: a step on the 10th is before it.
    Event.objects.filter(pk=week.previous.pk).update(
        started_at=datetime.datetime(2026, 1, 12, 9, 0, tzinfo=datetime.UTC),
        ended_at=datetime.datetime(2026, 1, 12, 9, 40, tzinfo=datetime.UTC),
    )
    for day, title in ((10, "Before"), (13, "After")):
        clock.move_to(datetime.datetime(2026, 1, day, 12, 0, tzinfo=datetime.UTC))
        backlog_services.dependency_create(
            actor=week.actor("po1"), source=story(week, 0, title), target=story(week, 1, "API")
        )
    clock.move_to(NOW)
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    assert "'After'" in report_of(week, 0).dependencies
    assert "'Before'" not in report_of(week, 0).dependencies


def test_new_risks_and_daily_scrum_impediments_go_to_their_team(week, clock):
    RiskFactory(flow_team=week.flow_team, scrum_team=week.scrum_teams[2], title="Bank cut-off",
                impact="high", owner=week.sm3)  # fmt: skip
    clock.move_to(PREVIOUS_START - datetime.timedelta(days=2))
    RiskFactory(flow_team=week.flow_team, scrum_team=week.scrum_teams[2], title="Old risk")
    daily_old = TeamEventFactory(flow_sprint=week.sprint1, scrum_team=week.scrum_teams[2])
    DailyScrumNoteFactory(event=daily_old, person=week.dev3, impediments="stale")
    clock.move_to(NOW)
    daily = TeamEventFactory(
        flow_sprint=week.sprint1,
        scrum_team=week.scrum_teams[2],
        starts_at=datetime.datetime(2026, 1, 13, 8, 0, tzinfo=datetime.UTC),
    )
    DailyScrumNoteFactory(event=daily, person=week.dev3, impediments="CI is down\nsince Monday")
    DailyScrumNoteFactory(event=daily, person=week.sm3, impediments="")
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    text = report_of(week, 2).impediments
    assert f"New risk: Bank cut-off (impact high, open, owner {week.sm3.display_name})" in text
    assert f"{week.dev3.display_name} at the Daily Scrum (Tue 13 Jan): CI is down since Monday" in (
        text
    )
    assert "Old risk" not in text and "stale" not in text
    assert report_of(week, 0).impediments == ""


def snapshot(ns, team_index, as_of, p85, rows):
    MetricSnapshot.objects.create(
        flow_team=ns.flow_team,
        scrum_team=ns.scrum_teams[team_index],
        as_of=as_of,
        computed_at=NOW,
        data={
            "cycle_time": {"50": 2, "85": p85},
            "aging": {
                "columns": ["story", "title", "team", "kind", "state", "started", "age", "blocked"],
                "rows": rows,
            },
        },
    )


def test_items_aging_past_the_teams_85th_percentile(week):
    old = story(week, 1, "Slow one", state="in_progress")
    young = story(week, 1, "Fresh one", state="in_progress")
    done = story(week, 1, "Finished meanwhile", state="done")
    day = datetime.date(2026, 1, 13)
    snapshot(week, 1, day - datetime.timedelta(days=3), 4, [[old.pk, "Stale", 2, "feature",
             "in_progress", "2026-01-01", 9, False]])  # fmt: skip
    snapshot(week, 1, day, 6, [
        [old.pk, "Slow one", 2, "feature", "in_progress", "2026-01-05", 6, False],
        [young.pk, "Fresh one", 2, "feature", "in_progress", "2026-01-12", 2, False],
        [done.pk, "Finished meanwhile", 2, "feature", "in_review", "2026-01-01", 13, False],
    ])  # fmt: skip
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    text = report_of(week, 1).impediments
    # The newest snapshot (13 Jan) aged on to today (14 Jan): 7 days > 6.
    assert text == (
        "- 'Slow one' is 7 days old, past the team's 85th percentile of cycle time (6 days)"
    )


def test_the_drafts_take_the_same_queries_at_3_and_15_teams(clock):
    counts = []
    for size, prefix in ((3, "S"), (15, "L")):
        ns = sos_week(build_flow_team(prefix=prefix, teams=size))
        for n in range(size):
            s = story(ns, n, f"Blocked {n}", state="in_progress")
            backlog_services.blocker_raise(actor=ns.actor(f"dev{n + 1}"), story=s, reason="r")
            RiskFactory(flow_team=ns.flow_team, scrum_team=ns.scrum_teams[n])
        with CaptureQueriesContext(connection) as ctx:
            drafts = sos_drafts(
                sos_activity(flow_team=ns.flow_team, since=PREVIOUS_START),
                [t.pk for t in ns.scrum_teams],
            )
        assert len(drafts) == size and all(d["impediments"] for d in drafts.values())
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


# --- Answers -------------------------------------------------------------------------------


@pytest.fixture
def opened(week):
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    return week


@pytest.mark.parametrize("who", ["csm", "po1", "sm1"])
def test_the_csm_and_the_teams_po_and_sm_answer(opened, who):
    report = report_of(opened, 0)
    key = services.sos_live_key(opened.sos.pk)
    before = live_versions([key])[key]
    written = services.sos_report_update(
        actor=opened.actor(who), report=report, data={"impediments": " CI down "},
        expected_version=report.version,
    )  # fmt: skip
    fresh = report_of(opened, 0)
    assert fresh.impediments == "CI down" and fresh.version == written.version == 2
    assert fresh.submitted_by == opened.users[who]
    assert live_versions([key])[key] == before + 1


@pytest.mark.parametrize("who", ["po2", "sm2", "dev1", "cpo", "architect", "stakeholder"])
def test_nobody_else_answers_for_a_team(opened, who):
    report = report_of(opened, 0)
    with pytest.raises(PermissionRefused):
        services.sos_report_update(
            actor=opened.actor(who), report=report, data={"dependencies": "x"}
        )
    assert report_of(opened, 0).version == 1


def test_a_foreign_actor_gets_not_found(opened, foreign):
    with pytest.raises(NotFound):
        services.sos_report_update(
            actor=foreign.actor("csm"), report=report_of(opened, 0), data={"impediments": "x"}
        )


def test_a_stale_version_is_a_conflict_and_writes_nothing(opened):
    report = report_of(opened, 0)
    services.sos_report_update(actor=opened.actor("sm1"), report=report, data={"impediments": "a"},
                               expected_version=1)  # fmt: skip
    with pytest.raises(VersionConflict) as conflict:
        services.sos_report_update(
            actor=opened.actor("csm"), report=report, data={"impediments": "b"}, expected_version=1
        )
    assert conflict.value.current_version == 2
    assert report_of(opened, 0).impediments == "a"


@pytest.mark.parametrize(
    ("data", "field"),
    [({"version": 9}, "version"), ({"impediments": "x" * 5001}, "impediments")],
)
def test_refused_answers_name_the_field(opened, data, field):
    with pytest.raises(RuleViolation) as refused:
        services.sos_report_update(
            actor=opened.actor("po1"), report=report_of(opened, 0), data=data
        )
    assert list(refused.value.detail) == [field]


def test_a_finished_sos_is_a_record(opened):
    Event.objects.filter(pk=opened.sos.pk).update(
        state="done", started_at=NOW, ended_at=NOW + datetime.timedelta(minutes=30)
    )
    with pytest.raises(RuleViolation) as refused:
        services.sos_report_update(
            actor=opened.actor("csm"), report=report_of(opened, 0), data={"impediments": "late"}
        )
    assert refused.value.detail == {
        "state": ["the Scrum of Scrums is done; its answers are a record now"]
    }


def test_the_answers_refusals_say_why_word_for_word(opened, foreign):
    report = report_of(opened, 0)
    with pytest.raises(NotFound) as refused:
        services.sos_report_update(actor=foreign.actor("csm"), report=report, data={})
    assert str(refused.value) == "no such report in your Flow Team"
    with pytest.raises(PermissionRefused) as refused:
        services.sos_report_update(actor=opened.actor("po2"), report=report, data={})
    assert str(refused.value) == "the CSM, or the team's PO or SM, answer for the team"
    for data, detail in (
        ({"version": 9}, {"version": ["unknown or read-only field"]}),
        (
            {"impediments": "x" * 5001},
            {"impediments": ["at most 5000 characters (this has 5001)"]},
        ),
    ):
        with pytest.raises(RuleViolation) as refused:
            services.sos_report_update(actor=opened.actor("po1"), report=report, data=data)
        assert refused.value.detail == detail
    Event.objects.filter(pk=opened.sos.pk).update(state="cancelled")
    with pytest.raises(RuleViolation) as refused:
        services.sos_report_update(actor=opened.actor("csm"), report=report, data={})
    assert refused.value.detail == {
        "state": ["the Scrum of Scrums is cancelled; its answers are a record now"]
    }


def test_an_answer_of_5000_characters_is_kept_and_an_empty_one_clears_it(opened):
    report = report_of(opened, 0)
    services.sos_report_update(
        actor=opened.actor("sm1"), report=report, data={"impediments": "x" * 5000}
    )
    assert report_of(opened, 0).impediments == "x" * 5000
    for empty in ("", None):
        written = services.sos_report_update(
            actor=opened.actor("sm1"), report=report, data={"impediments": empty}
        )
        assert written.impediments == report_of(opened, 0).impediments == ""


def test_the_answer_comes_back_as_saved_with_who_and_when(opened, clock):
    clock.move_to(NOW + datetime.timedelta(minutes=7))
    written = services.sos_report_update(
        actor=opened.actor("po1"), report=report_of(opened, 0), data={"dependencies": " Bank late "}
    )
    fresh = report_of(opened, 0)
    assert written.dependencies == fresh.dependencies == "Bank late"
    assert written.submitted_by == fresh.submitted_by == opened.users["po1"]
    assert written.updated_at == fresh.updated_at == NOW + datetime.timedelta(minutes=7)


def test_an_answer_is_saved_in_five_queries(opened):
    report = report_of(opened, 0)
    actor = opened.actor("sm1")
    with CaptureQueriesContext(connection) as queries:
        services.sos_report_update(actor=actor, report=report, data={"impediments": "x"})
    # The report with its event (locked), the update, the live bump; SQLite's savepoint.
    assert len(queries) == 5, [q["sql"] for q in queries]


# --- Action items ---------------------------------------------------------------------------


def add(ns, who="csm", **kwargs):
    values = {"text": "Book the bank", "owner": ns.sm2, "due_date": datetime.date(2026, 1, 21)}
    return services.action_item_add(actor=ns.actor(who), event=ns.sos, **{**values, **kwargs})


@pytest.mark.parametrize("who", ["csm", "po2", "sm3"])
def test_the_csm_pos_and_sms_add_action_items(week, who):
    keys = [services.sos_live_key(week.sos.pk), sos_actions_live_key(week.flow_team.pk)]
    item = add(week, who, scrum_team=week.scrum_teams[1])
    assert (item.text, item.owner, item.scrum_team, item.done) == (
        "Book the bank",
        week.sm2,
        week.scrum_teams[1],
        False,
    )
    assert live_versions(keys) == dict.fromkeys(keys, 1)


@pytest.mark.parametrize("who", ["dev1", "cpo", "architect", "stakeholder"])
def test_others_add_no_action_items(week, who):
    with pytest.raises(PermissionRefused) as refused:
        add(week, who)
    assert str(refused.value) == "the CSM, the POs and the SMs plan actions"
    assert not ActionItem.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"text": "  "}, "text", "say what is to be done"),
        ({"text": None}, "text", "say what is to be done"),
        ({"text": "x" * 301}, "text", "at most 300 characters (this has 301)"),
        ({"owner": None}, "owner", "name who owns the action"),
        ({"due_date": None}, "due_date", "give the action a due date"),
    ],
)
def test_refused_action_items_name_the_field(week, kwargs, field, message):
    with pytest.raises(RuleViolation) as refused:
        add(week, **kwargs)
    assert refused.value.detail == {field: [message]}
    assert not ActionItem.objects.exists()


def test_an_action_item_of_300_characters_is_taken(week):
    assert len(add(week, text="x" * 300).text) == 300


def test_a_foreign_owner_or_team_is_refused(week, foreign):
    with pytest.raises(RuleViolation) as refused:
        add(week, owner=foreign.sm1)
    assert refused.value.detail == {"owner": ["the owner is not a member of this Flow Team"]}
    with pytest.raises(RuleViolation) as refused:
        add(week, scrum_team=foreign.scrum_teams[0])
    assert refused.value.detail == {"scrum_team": ["the Scrum Team is not in this Flow Team"]}
    assert not ActionItem.objects.exists()


def test_a_cancelled_scrum_of_scrums_takes_no_actions(week):
    week.sos = services.event_cancel(actor=week.actor("csm"), event=week.sos)
    with pytest.raises(RuleViolation) as refused:
        add(week)
    assert refused.value.detail == {"state": ["a cancelled Scrum of Scrums takes no actions"]}
    assert not ActionItem.objects.exists()


def test_closing_records_when_and_by_whom_once(week, clock):
    item = add(week)
    clock.shift(datetime.timedelta(hours=3))
    closed = services.action_item_close(actor=week.actor("sm1"), item=item)
    assert closed.done and closed.done_at == NOW + datetime.timedelta(hours=3)
    assert closed.done_by == week.sm1
    with pytest.raises(RuleViolation) as refused:
        services.action_item_close(actor=week.actor("csm"), item=item)
    assert refused.value.detail == {"done": ["this item was closed already"]}


def test_the_owner_closes_their_item_and_others_do_not(week, foreign):
    item = add(week, owner=week.dev2)
    with pytest.raises(PermissionRefused):
        services.action_item_close(actor=week.actor("dev1"), item=item)
    with pytest.raises(NotFound):
        services.action_item_close(actor=foreign.actor("csm"), item=item)
    assert services.action_item_close(actor=week.actor("dev2"), item=item).done


def test_no_action_items_on_another_kind_of_event(week):
    review = Event.objects.create(
        flow_team=week.flow_team, flow_sprint=week.sprint1, kind="review", level="flow",
        starts_at=NOW, duration_minutes=60,
    )  # fmt: skip
    with pytest.raises(RuleViolation):
        services.action_item_add(
            actor=week.actor("csm"), event=review, text="t", owner=week.sm1, due_date=NOW.date()
        )


def test_an_item_closed_before_done_at_existed_is_refused_by_the_database(week):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ActionItemFactory(event=week.sos, done=True)


def test_dependencies_of_other_flow_teams_stay_out(week, foreign):
    sos_week(foreign)
    theirs = backlog_services.dependency_create(
        actor=foreign.actor("po1"), source=story(foreign, 0, "Theirs A"),
        target=story(foreign, 1, "Theirs B"),
    )  # fmt: skip
    assert Dependency.objects.filter(pk=theirs.pk).exists()
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    assert not ScrumOfScrumsReport.objects.filter(event=week.sos, dependencies__contains="Theirs")


def test_closing_refusals_say_why_and_the_sos_screen_is_bumped(week, foreign):
    item = add(week, owner=week.dev2)
    with pytest.raises(PermissionRefused) as refused:
        services.action_item_close(actor=week.actor("dev1"), item=item)
    assert str(refused.value) == "the owner, the CSM, the POs and the SMs close actions"
    with pytest.raises(NotFound) as missing:
        services.action_item_close(actor=foreign.actor("csm"), item=item)
    assert str(missing.value) == "no such action item in your Flow Team"
    key = services.sos_live_key(week.sos.pk)
    before = live_versions([key])[key]
    services.action_item_close(actor=week.actor("dev2"), item=item)
    assert live_versions([key])[key] == before + 1
