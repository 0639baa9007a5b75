import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog_services
from events.models import Event
from events.services import cadence_roll, event_cancel, event_move, event_start
from flow import services
from flow.models import FlowSprint, SprintCommitment, TeamSprint
from sem.errors import NotFound, PermissionRefused, RuleViolation

pytestmark = pytest.mark.django_db
D = datetime.date


def writes(ctx):
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().split(" ")[0] in ("INSERT", "UPDATE", "DELETE")
    ]


def sprints(flow_team):
    return list(
        FlowSprint.objects.filter(flow_team=flow_team)
        .order_by("number")
        .values_list("number", "start", "end", "state")
    )


def test_schedule_keeps_horizon_ahead_and_second_run_writes_nothing(flow):
    today = D(2026, 2, 18)  # anchor 2026-01-05: sprint 4 runs 16 Feb - 1 Mar
    first = cadence_roll(flow_team=flow.flow_team, today=today)
    rows = sprints(flow.flow_team)
    assert [r[0] for r in rows] == list(range(1, 11))  # 4 started + 6 ahead
    assert rows[3] == (4, D(2026, 2, 16), D(2026, 3, 1), "active")
    assert all(r[3] == "closed" for r in rows[:3]) and all(r[3] == "planned" for r in rows[4:])
    assert first["events_created"] > 0
    assert TeamSprint.objects.filter(flow_sprint__flow_team=flow.flow_team).count() == 10 * 3
    with CaptureQueriesContext(connection) as ctx:
        again = cadence_roll(flow_team=flow.flow_team, today=today)
    assert writes(ctx) == []
    assert sprints(flow.flow_team) == rows
    assert again["created"] == again["events_created"] == 0


def test_every_scrum_team_shares_the_dates(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 7))
    per_sprint = TeamSprint.objects.filter(flow_sprint__number=2).values_list(
        "flow_sprint__start", "scrum_team"
    )
    assert {start for start, _ in per_sprint} == {D(2026, 1, 19)}
    assert len(per_sprint) == 3


def test_changed_sprint_length_applies_to_future_sprints_only(flow):
    today = D(2026, 1, 7)
    services.flow_sprints_roll(flow_team=flow.flow_team, today=today)
    before = sprints(flow.flow_team)
    flow.flow_team.sprint_length_weeks = 3
    flow.flow_team.save()
    services.flow_sprints_roll(flow_team=flow.flow_team, today=today)
    after = sprints(flow.flow_team)
    assert after[0] == before[0]  # the active sprint keeps its dates
    assert after[1][1:3] == (D(2026, 1, 19), D(2026, 2, 8))  # three weeks from now on
    for prev, nxt in zip(after, after[1:], strict=False):
        assert nxt[1] == prev[2] + datetime.timedelta(days=1)


def test_past_sprints_are_never_rewritten(flow):
    services.flow_sprints_roll(flow_team=flow.flow_team, today=D(2026, 3, 4))
    closed = [r for r in sprints(flow.flow_team) if r[3] == "closed"]
    flow.flow_team.cadence_anchor = D(2026, 1, 12)
    flow.flow_team.save()
    services.flow_sprints_roll(flow_team=flow.flow_team, today=D(2026, 3, 4))
    assert [r for r in sprints(flow.flow_team) if r[3] == "closed"] == closed


def test_closing_carries_over_exactly_the_unfinished_committed_stories(flow):
    services.flow_sprints_roll(flow_team=flow.flow_team, today=D(2026, 1, 7))
    po = flow.actor("po1")
    done, open_, untouched = (
        backlog_services.story_create(
            actor=po, scrum_team=flow.scrum_teams[0], title=t, points=3, criteria=["ok"]
        )
        for t in ("done", "open", "not committed")
    )
    team_sprint = TeamSprint.objects.get(flow_sprint__number=1, scrum_team=flow.scrum_teams[0])
    for story in (done, open_):
        services.story_claim(actor=po, team_sprint=team_sprint, story=story)
    SprintCommitment.objects.update(planned=True)
    done = backlog_services.story_transition(actor=po, story=done, to_state="in_progress")
    backlog_services.criterion_check(actor=po, criterion=done.criteria.get(), checked=True)
    backlog_services.story_transition(actor=po, story=done, to_state="done")
    history_before = open_.history.count()

    services.flow_sprints_roll(flow_team=flow.flow_team, today=D(2026, 1, 20))
    outcomes = dict(SprintCommitment.objects.values_list("story__title", "outcome"))
    assert outcomes == {"done": "done", "open": "carried_over"}
    assert open_.history.count() == history_before
    sprint = FlowSprint.objects.get(flow_team=flow.flow_team, number=1)
    assert sprint.state == "closed"
    assert sprint.figures[str(flow.scrum_teams[0].pk)] == {"committed_points": 6, "done_points": 3}
    assert FlowSprint.objects.get(flow_team=flow.flow_team, number=2).state == "active"


@pytest.mark.parametrize(
    "berlin, planned",
    [
        ("2026-01-05 00:30", True),  # the first day, just after Berlin midnight (UTC: the 4th)
        ("2026-01-05 23:30", True),  # the first day's last hour (UTC: still the 5th)
        ("2026-01-06 00:30", False),  # the second day, while UTC is still on the first
    ],
)
def test_a_claim_counts_as_planned_through_the_sprints_first_day_in_its_timezone(
    flow, berlin, planned
):
    import time_machine

    services.flow_sprints_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    po = flow.actor("po1")
    story = backlog_services.story_create(
        actor=po, scrum_team=flow.scrum_teams[0], title="Claimed", points=3, criteria=["ok"]
    )
    team_sprint = TeamSprint.objects.get(flow_sprint__number=1, scrum_team=flow.scrum_teams[0])
    assert team_sprint.flow_sprint.state == "active"
    at = datetime.datetime.fromisoformat(berlin).replace(tzinfo=flow.flow_team.tzinfo)
    with time_machine.travel(at, tick=False):
        commitment = services.story_claim(actor=po, team_sprint=team_sprint, story=story)
    assert commitment.planned is planned


def test_dst_change_keeps_local_wall_clock_times(flow):
    # Sprint 7 of a Berlin team spans the switch to summer time (Sunday 28 March 2027).
    flow.flow_team.cadence_anchor = D(2027, 3, 22)
    flow.flow_team.save()
    cadence_roll(flow_team=flow.flow_team, today=D(2027, 3, 1))
    dailies = Event.objects.filter(
        flow_sprint__number=1, kind="daily_scrum", scrum_team=flow.scrum_teams[0]
    ).order_by("starts_at")
    utc_hours = {
        e.starts_at.astimezone(datetime.UTC).date(): e.starts_at.astimezone(datetime.UTC).hour
        for e in dailies
    }
    assert utc_hours[D(2027, 3, 23)] == 8  # 09:15 CET
    assert utc_hours[D(2027, 3, 29)] == 7  # 09:15 CEST
    berlin = flow.flow_team.tzinfo
    assert {e.starts_at.astimezone(berlin).time() for e in dailies} == {datetime.time(9, 15)}


def test_calendar_holds_every_event_of_the_method(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    kinds = {}
    for kind in Event.objects.filter(flow_sprint__number=1).values_list("kind", flat=True):
        kinds[kind] = kinds.get(kind, 0) + 1
    teams = 3
    assert kinds == {
        "planning_1": 1,
        "team_planning": teams,
        "planning_2": 1,
        "daily_scrum": teams * 9,
        "scrum_of_scrums": 2,
        "backlog_refinement": teams * 2,
        "roadmap_refinement": 1,
        "review": 1,
        "team_retro": teams,
        "flow_retro": 1,
    }
    sos = Event.objects.filter(flow_sprint__number=1, kind="scrum_of_scrums").first()
    assert sos.facilitator == flow.csm and "po" in sos.participant_roles
    retro = Event.objects.get(
        flow_sprint__number=1, kind="team_retro", scrum_team=flow.scrum_teams[1]
    )
    assert retro.facilitator == flow.sm2
    # Roadmap Refinement is monthly: sprint 2 starts in January too, so it holds none.
    assert not Event.objects.filter(flow_sprint__number=2, kind="roadmap_refinement").exists()
    assert Event.objects.filter(flow_sprint__number=3, kind="roadmap_refinement").exists()


def test_csm_moves_and_cancels_an_event_and_the_job_leaves_them(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    sos = Event.objects.filter(flow_sprint__number=2, kind="scrum_of_scrums").first()
    review = Event.objects.get(flow_sprint__number=2, kind="review")
    with pytest.raises(PermissionRefused):
        event_move(actor=flow.actor("po1"), event=sos, starts_at=sos.starts_at)
    new_time = sos.starts_at + datetime.timedelta(hours=3)
    event_move(actor=flow.actor("csm"), event=sos, starts_at=new_time)
    review_time = review.starts_at
    event_cancel(actor=flow.actor("csm"), event=review)
    flow.flow_team.sprint_length_weeks = 3  # even a cadence change leaves them alone
    flow.flow_team.save()
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    sos.refresh_from_db()
    review.refresh_from_db()
    assert sos.starts_at == new_time
    assert (review.state, review.starts_at) == ("cancelled", review_time)


def test_only_the_csm_cancels_an_event_saying_so(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    review = Event.objects.get(flow_sprint__number=2, kind="review")
    with pytest.raises(PermissionRefused) as refused:
        event_cancel(actor=flow.actor("po1"), event=review)
    assert str(refused.value) == "the CSM keeps the event schedule"
    assert Event.objects.get(pk=review.pk).state == "scheduled"


def test_cancelling_from_an_older_read_of_the_event_keeps_its_move_meanwhile(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    read_earlier = Event.objects.get(flow_sprint__number=2, kind="review")
    new_time = read_earlier.starts_at + datetime.timedelta(hours=2)
    event_move(
        actor=flow.actor("csm"), event=Event.objects.get(pk=read_earlier.pk), starts_at=new_time
    )
    event_cancel(actor=flow.actor("csm"), event=read_earlier)
    review = Event.objects.get(pk=read_earlier.pk)
    assert (review.state, review.starts_at) == ("cancelled", new_time)


def test_only_the_csm_moves_an_event_and_never_a_finished_or_cancelled_one_saying_so(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    sos, review = (
        Event.objects.filter(flow_sprint__number=2, kind=kind).first()
        for kind in ("scrum_of_scrums", "review")
    )
    with pytest.raises(PermissionRefused) as refused:
        event_move(actor=flow.actor("po1"), event=sos, starts_at=sos.starts_at)
    assert str(refused.value) == "the CSM keeps the event schedule"
    event_cancel(actor=flow.actor("csm"), event=review)
    with pytest.raises(RuleViolation) as refused:
        event_move(actor=flow.actor("csm"), event=review, starts_at=sos.starts_at)
    assert refused.value.detail == {"starts_at": ["a finished or cancelled event cannot move"]}
    assert Event.objects.get(pk=review.pk).starts_at == review.starts_at


def test_an_event_lasts_5_minutes_to_8_hours_when_moved(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    sos = Event.objects.filter(flow_sprint__number=2, kind="scrum_of_scrums").first()
    csm = flow.actor("csm")
    for minutes in (4, 481):
        with pytest.raises(RuleViolation) as refused:
            event_move(actor=csm, event=sos, starts_at=sos.starts_at, duration_minutes=minutes)
        assert refused.value.detail == {"duration_minutes": ["an event lasts 5 minutes to 8 hours"]}
    for minutes in (5, 480):
        event_move(actor=csm, event=sos, starts_at=sos.starts_at, duration_minutes=minutes)
        assert Event.objects.get(pk=sos.pk).duration_minutes == minutes


def test_moving_from_an_older_read_of_the_event_keeps_its_start_meanwhile(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    read_earlier = Event.objects.filter(flow_sprint__number=2, kind="scrum_of_scrums").first()
    event_start(actor=flow.actor("csm"), event=Event.objects.get(pk=read_earlier.pk))
    new_time = read_earlier.starts_at + datetime.timedelta(hours=1)
    event_move(actor=flow.actor("csm"), event=read_earlier, starts_at=new_time)
    sos = Event.objects.get(pk=read_earlier.pk)
    assert (sos.state, sos.starts_at, sos.started_at is not None) == ("running", new_time, True)


def test_celery_tick_rolls_every_flow_team(flow, foreign, django_capture_on_commit_callbacks):
    from events.tasks import cadence_tick

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert cadence_tick.delay().get() == 2
    assert len(callbacks) == 2
    assert FlowSprint.objects.filter(flow_team=foreign.flow_team).exists()
    assert Event.objects.filter(flow_team=flow.flow_team).exists()


def test_work_rolled_back_enqueues_nothing(flow, django_capture_on_commit_callbacks):
    from django.db import transaction

    from events.tasks import cadence_tick

    # The test's own transaction never commits: capture what would run on commit instead.
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        cadence_tick()
        raise RuntimeError("rolled back")
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        cadence_tick()
    assert len(callbacks) == 1  # the same work, committed, enqueues one roll


def test_a_move_from_a_page_read_before_the_cancel_is_refused_and_moves_nothing(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    read_earlier = Event.objects.get(flow_sprint__number=2, kind="review")
    event_cancel(actor=flow.actor("csm"), event=Event.objects.get(pk=read_earlier.pk))
    with pytest.raises(RuleViolation) as refused:
        event_move(
            actor=flow.actor("csm"),
            event=read_earlier,
            starts_at=read_earlier.starts_at + datetime.timedelta(hours=1),
        )
    assert refused.value.detail == {"starts_at": ["a finished or cancelled event cannot move"]}
    review = Event.objects.get(pk=read_earlier.pk)
    assert (review.state, review.starts_at) == ("cancelled", read_earlier.starts_at)


def test_a_finished_event_is_not_cancelled_saying_so(flow):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    read_earlier = Event.objects.get(flow_sprint__number=2, kind="review")
    Event.objects.filter(pk=read_earlier.pk).update(state="done")
    with pytest.raises(RuleViolation) as refused:
        event_cancel(actor=flow.actor("csm"), event=read_earlier)
    assert refused.value.detail == {"state": ["a finished event cannot be cancelled"]}
    assert Event.objects.get(pk=read_earlier.pk).state == "done"


def test_another_flow_teams_event_is_neither_moved_nor_cancelled(flow, foreign):
    cadence_roll(flow_team=foreign.flow_team, today=D(2026, 1, 5))
    theirs = Event.objects.get(flow_team=foreign.flow_team, flow_sprint__number=2, kind="review")
    csm = flow.actor("csm")
    for change in (
        lambda: event_move(actor=csm, event=theirs, starts_at=theirs.starts_at),
        lambda: event_cancel(actor=csm, event=theirs),
    ):
        with pytest.raises(NotFound, match="^no such event in your Flow Team$"):
            change()
    after = Event.objects.get(pk=theirs.pk)
    assert (after.state, after.starts_at, after.rescheduled_by_hand) == (
        "scheduled",
        theirs.starts_at,
        False,
    )


def test_each_roll_says_what_it_created_moved_closed_and_activated(flow):
    from teams.services import scrum_team_create

    def roll(today):
        return services.flow_sprints_roll(flow_team=flow.flow_team, today=today)

    # Sprint 1 runs 5-18 January: it starts, with 6 sprints ahead, each with 3 Team Sprints.
    assert roll(D(2026, 1, 7)) == {
        "created": 7,
        "moved": 0,
        "team_sprints": 21,
        "closed": 0,
        "activated": 1,
    }
    assert roll(D(2026, 1, 7)) == dict.fromkeys(
        ("created", "moved", "team_sprints", "closed", "activated"), 0
    )
    # A fourth Scrum Team joins: a Team Sprint in each of the 7 sprints not closed.
    scrum_team_create(flow_team=flow.flow_team, name="Team 4")
    assert roll(D(2026, 1, 7))["team_sprints"] == 7
    # Three-week sprints from the next one on: the 6 planned ones move.
    flow.flow_team.sprint_length_weeks = 3
    flow.flow_team.save()
    assert roll(D(2026, 1, 7))["moved"] == 6
    # Sprint 1 is over: it closes, sprint 2 starts, one more is scheduled (4 Team Sprints).
    assert roll(D(2026, 1, 20)) == {
        "created": 1,
        "moved": 0,
        "team_sprints": 4,
        "closed": 1,
        "activated": 1,
    }
    closed = TeamSprint.objects.filter(flow_sprint__state="closed")
    assert closed.count() == 4  # sprint 1's, Team 4's included: it joined while it ran


def test_a_shorter_sprint_moves_and_drops_the_untouched_events_of_planned_sprints_only(flow):
    flow.flow_team.sprint_length_weeks = 3
    flow.flow_team.save()
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))

    def calendar():
        return {
            (e.flow_sprint.number, e.kind, e.scrum_team_id, e.occurrence): (
                e.starts_at,
                e.duration_minutes,
            )
            for e in Event.objects.select_related("flow_sprint")
        }

    sos = Event.objects.filter(flow_sprint__number=3, kind="scrum_of_scrums").last()
    event_move(actor=flow.actor("csm"), event=sos, starts_at=sos.starts_at)  # placed by hand
    before = calendar()
    flow.flow_team.sprint_length_weeks = 2
    flow.flow_team.save()
    result = cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    after = calendar()
    moved = [k for k in before if k in after and before[k] != after[k]]
    dropped = [k for k in before if k not in after]
    assert moved and dropped
    assert all(k[0] >= 2 for k in moved + dropped)  # sprint 1 runs: its calendar stays
    assert (result["events_moved"], result["events_dropped"]) == (len(moved), len(dropped))
    # Sprint 3 now ends on 22 February; the Scrum of Scrums placed by hand stays where it was.
    key = (3, "scrum_of_scrums", None, sos.occurrence)
    assert after[key] == before[key] and sos.starts_at.date() > D(2026, 2, 22)
    for event in Event.objects.filter(flow_sprint__number__gte=2, rescheduled_by_hand=False):
        local = event.starts_at.astimezone(flow.flow_team.tzinfo).date()
        assert event.flow_sprint.start <= local <= event.flow_sprint.end, event


def test_the_calendar_is_facilitated_by_this_flow_teams_people_only(flow, foreign):
    cadence_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    facilitators = set(
        Event.objects.filter(flow_team=flow.flow_team).values_list("facilitator", flat=True)
    )
    assert facilitators == {flow.cpo.pk, flow.csm.pk, flow.sm1.pk, flow.sm2.pk, flow.sm3.pk}


def test_a_sprints_calendar_finds_its_facilitators_unless_given_them(flow):
    from events.services import calendar_ensure

    services.flow_sprints_roll(flow_team=flow.flow_team, today=D(2026, 1, 5))
    first, second = FlowSprint.objects.filter(flow_team=flow.flow_team).order_by("number")[:2]
    calendar_ensure(flow_sprint=first)
    sos = Event.objects.filter(flow_sprint=first, kind="scrum_of_scrums").first()
    assert sos.facilitator == flow.csm
    # Given them (the cadence job reads them once for every sprint), it reads no roles.
    with CaptureQueriesContext(connection) as ctx:
        calendar_ensure(flow_sprint=second, facilitators={("csm", None): flow.cpo.pk})
    assert not [q for q in ctx.captured_queries if "teams_roleassignment" in q["sql"]]
    sos = Event.objects.filter(flow_sprint=second, kind="scrum_of_scrums").first()
    assert sos.facilitator == flow.cpo
