"""The Daily Scrum screen (events/daily_views.py, events/daily/): roles and isolation, each
person's own note, the board's moves and blockers through the backlog's rules, the aging of
started items against the team's cycle-time percentiles, the timer, the live poll, the Scrum
of Scrums draft, and the same queries for a small and a large board."""

import datetime
import functools
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog.models import StateChange, Story
from events.daily import selectors as daily_selectors
from events.daily import services as daily
from events.models import DailyScrumNote, Event, ScrumOfScrumsReport
from events.services import sos_reports_ensure
from sem.errors import NotFound, PermissionRefused, RuleViolation
from tests.events.daily_setup import HX, PERCENTILES, client_of, daily_board
from tests.events.factories import EventFactory, TeamEventFactory

pytestmark = pytest.mark.django_db
# Wednesday 14 January 2026, 08:00 UTC (09:00 in the Flow Team's Berlin).
NOW = datetime.datetime(2026, 1, 14, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def board(flow, clock):
    return daily_board(flow, now=NOW)


def url(board, tail=""):
    return f"/events/{board.event.pk}/daily/{tail}"


def team_refinement(flow, board) -> Event:
    """Team 1's Product Backlog Refinement in the board's Flow Sprint: an event of the
    team that is not its Daily Scrum."""
    return TeamEventFactory(
        flow_sprint=board.sprint,
        scrum_team=flow.scrum_teams[0],
        kind=Event.Kind.BACKLOG_REFINEMENT,
        occurrence=99,
        starts_at=NOW,
        duration_minutes=60,
    )


def note(**texts):
    return {"yesterday": "", "today": "", "impediments": "", **texts}


# --- Who sees it, who writes --------------------------------------------------------------


@pytest.mark.parametrize("role", ["dev1", "sm1", "po1", "csm", "cpo", "architect", "dev2", "sm3"])
def test_the_flow_team_reads_the_daily_scrum(flow, board, role):
    response = client_of(flow.users[role]).get(url(board))
    assert response.status_code == 200
    assert "Pay by card" in response.content.decode()


@pytest.mark.parametrize("role", ["dev1", "sm1", "po1"])
def test_the_scrum_team_sees_its_note_form_and_the_others_do_not(flow, board, role):
    html = client_of(flow.users[role]).get(url(board)).content.decode()
    assert 'name="yesterday"' in html and "daily-on" in html
    other = client_of(flow.csm).get(url(board)).content.decode()
    assert 'name="yesterday"' not in other and "daily-on" not in other


def test_a_stakeholder_and_another_flow_team_find_no_daily_scrum(flow, foreign, board):
    assert client_of(flow.stakeholder).get(url(board)).status_code == 404
    assert client_of(foreign.dev1).get(url(board)).status_code == 404
    assert client_of(foreign.dev1).post(url(board, "note/"), note(today="x")).status_code == 404
    assert not DailyScrumNote.objects.exists()


def test_another_event_kind_is_not_a_daily_scrum(flow, board, client):
    sos = EventFactory(flow_sprint=board.sprint, occurrence=1)
    assert client_of(flow.dev1).get(f"/events/{sos.pk}/daily/").status_code == 404


@pytest.mark.parametrize("role", ["csm", "cpo", "architect", "dev2", "po2"])
def test_only_the_scrum_team_writes_notes(flow, board, role):
    response = client_of(flow.users[role]).post(url(board, "note/"), note(today="x"), **HX)
    assert response.status_code == 403
    with pytest.raises(PermissionRefused) as refused:
        daily.daily_note_save(
            actor=flow.actor(role), event=board.event, yesterday="", today="x", impediments=""
        )
    assert str(refused.value) == ("the Scrum Team's PO, SM and developers write at its Daily Scrum")
    assert not DailyScrumNote.objects.exists()


def test_no_note_is_written_on_another_event_of_the_team(flow, board):
    refinement = team_refinement(flow, board)
    with pytest.raises(NotFound) as missing:
        daily.daily_note_save(
            actor=flow.actor("dev1"), event=refinement, yesterday="", today="x", impediments=""
        )
    assert str(missing.value) == "no such Daily Scrum in your Flow Team"
    assert not DailyScrumNote.objects.exists()


# --- Notes --------------------------------------------------------------------------------


def test_a_person_writes_their_own_note_and_everyone_sees_it(flow, board):
    response = client_of(flow.dev1).post(
        url(board, "note/"),
        note(yesterday="Paired on the card payment", today="Finish the card payment"),
        **HX,
    )
    assert response.status_code == 200
    saved = DailyScrumNote.objects.get(event=board.event)
    assert saved.person == flow.dev1 and saved.today == "Finish the card payment"
    for reader in ("sm1", "csm", "dev2"):
        html = client_of(flow.users[reader]).get(url(board)).content.decode()
        assert "Paired on the card payment" in html
    # Saving again replaces the note: one per person.
    client_of(flow.dev1).post(url(board, "note/"), note(today="Review"), **HX)
    assert DailyScrumNote.objects.get(event=board.event).today == "Review"


def test_forging_another_persons_note_is_refused(flow, board):
    response = client_of(flow.dev1).post(
        url(board, "note/"), {**note(today="I speak for sm1"), "person": flow.sm1.pk}, **HX
    )
    assert response.status_code == 403
    with pytest.raises(PermissionRefused):
        daily.daily_note_save(
            actor=flow.actor("dev1"),
            event=board.event,
            person_id=flow.sm1.pk,
            yesterday="",
            today="x",
            impediments="",
        )
    assert not DailyScrumNote.objects.exists()
    # Naming oneself is fine.
    ok = client_of(flow.dev1).post(
        url(board, "note/"), {**note(today="mine"), "person": flow.dev1.pk}, **HX
    )
    assert ok.status_code == 200 and DailyScrumNote.objects.get().person == flow.dev1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (note(), "today"),
        (note(today="   ", yesterday="\n"), "today"),
        (note(today="x" * 2001), "today"),
        (note(yesterday="y" * 2001, today="t"), "yesterday"),
        (note(impediments="i" * 2001), "impediments"),
        ({**note(today="t"), "person": "someone"}, "person"),
        ({**note(today="t"), "person": "9" * 30}, "person"),
    ],
)
def test_bad_notes_are_a_400_naming_the_field_and_the_typing_stays(flow, board, data, field):
    response = client_of(flow.dev1).post(url(board, "note/"), data, **HX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{field}:" in html
    assert not DailyScrumNote.objects.exists()
    if data["today"].strip():
        assert data["today"][:50] in html  # the person's text comes back in their form


def test_no_notes_once_the_daily_scrum_is_over(flow, board):
    Event.objects.filter(pk=board.event.pk).update(
        state="done", started_at=NOW, ended_at=NOW + datetime.timedelta(minutes=14)
    )
    response = client_of(flow.dev1).post(url(board, "note/"), note(today="late"), **HX)
    assert response.status_code == 400 and "state:" in response.content.decode()
    assert not DailyScrumNote.objects.exists()


def test_note_refusals_say_why_word_for_word_and_write_nothing(flow, board):
    save = functools.partial(daily.daily_note_save, actor=flow.actor("dev1"), event=board.event)
    with pytest.raises(PermissionRefused) as refused:
        save(person_id=flow.sm1.pk, yesterday="", today="x", impediments="")
    assert str(refused.value) == "you write only your own note"
    # 2,000 characters is the most a part of the note holds.
    for name in ("yesterday", "today", "impediments"):
        with pytest.raises(RuleViolation) as refused:
            save(**{**note(today="t"), name: "n" * 2001})
        assert refused.value.detail == {name: ["at most 2000 characters (this has 2001)"]}
    with pytest.raises(RuleViolation) as refused:
        save(yesterday=" ", today="\n", impediments="")
    assert refused.value.detail == {
        "today": ["write what you did yesterday, will do today, or what is in your way"]
    }
    assert not DailyScrumNote.objects.exists()
    kept = save(yesterday="y" * 2000, today="t" * 2000, impediments="i" * 2000)
    assert [len(t) for t in (kept.yesterday, kept.today, kept.impediments)] == [2000] * 3
    for state in ("done", "cancelled"):
        Event.objects.filter(pk=board.event.pk).update(state=state)
        board.event.refresh_from_db()
        with pytest.raises(RuleViolation) as refused:
            save(yesterday="", today="late", impediments="")
        assert refused.value.detail == {"state": [f"this Daily Scrum is {state}"]}
    assert DailyScrumNote.objects.get().today == "t" * 2000


def test_who_has_not_spoken_yet_and_who_is_next(flow, board):
    people = daily_selectors.daily_people(event=board.event)
    assert {p["user"] for p in people} == {flow.po1, flow.sm1, flow.dev1}
    client_of(flow.sm1).post(url(board, "note/"), note(today="Facilitate"), **HX)
    people = daily_selectors.daily_people(event=board.event)
    silent = {p["user"] for p in people if not p["spoken"]}
    assert silent == {flow.po1, flow.dev1}
    assert daily_selectors.next_speaker(people)["user"] in silent
    html = client_of(flow.csm).get(url(board)).content.decode()
    assert html.count('<span class="badge">not spoken yet</span>') == 2


def test_an_impediment_written_here_is_in_the_next_scrum_of_scrums_draft(flow, board, clock):
    client_of(flow.dev1).post(
        url(board, "note/"), note(impediments="The test server is down"), **HX
    )
    clock.move_to(NOW + datetime.timedelta(hours=2))
    sos = EventFactory(
        flow_sprint=board.sprint, occurrence=1, starts_at=NOW + datetime.timedelta(hours=3)
    )
    sos_reports_ensure(actor=flow.actor("csm"), event=sos)
    team1 = ScrumOfScrumsReport.objects.get(event=sos, scrum_team=flow.scrum_teams[0])
    assert "at the Daily Scrum" in team1.impediments
    assert "The test server is down" in team1.impediments
    other = ScrumOfScrumsReport.objects.get(event=sos, scrum_team=flow.scrum_teams[1])
    assert "The test server is down" not in other.impediments


# --- The board ----------------------------------------------------------------------------


def test_the_board_shows_the_team_sprint_by_state(flow, board):
    columns = {
        c["state"]: [s.title for s in c["stories"]]
        for c in daily_selectors.daily_board(event=board.event, today=NOW.date()).columns
    }
    assert columns == {
        "ready": ["Export the invoices"],
        "in_progress": ["Search by customer", "Pay by card", "Import the old orders"],
        "in_review": ["Send the receipt"],
        "done": ["Log in with SSO"],
    }
    html = client_of(flow.dev2).get(url(board)).content.decode()
    assert "Blocked:</strong> waiting for the legacy database export" in html


def test_another_teams_board_is_not_shown(flow, board):
    theirs = daily_board(flow, now=NOW + datetime.timedelta(days=1), team=1)
    html = client_of(flow.dev1).get(url(board)).content.decode()
    assert html.count('<li class="daily-story') == 6
    assert f"daily-story-{theirs.young.pk}" not in html


@pytest.mark.parametrize(
    ("age", "past", "words"),
    [
        (1, None, "younger than half"),
        (2, None, "younger than half"),  # 2 days: as old as the 50th percentile, not past it
        (3, 50, "older than 50%"),
        (5, 70, "older than 70%"),
        (7, 85, "older than 85%"),
        (9, 85, "older than 85%"),
        (10, 95, "older than 95%"),
    ],
)
def test_an_age_reads_against_the_teams_percentiles(age, past, words):
    band = daily_selectors.age_band(age, PERCENTILES)
    assert band["past"] == past and words in band["words"]


def test_ages_count_from_the_first_start_in_the_flow_teams_days(flow, board):
    stories = {
        s.title: s for s in daily_selectors.daily_board(event=board.event, today=NOW.date()).stories
    }
    # metrics.md: age = today - start date + 1.
    assert stories["Search by customer"].age == 1
    assert stories["Pay by card"].age == 5
    assert stories["Import the old orders"].age == 10
    assert stories["Pay by card"].band["past"] == 70
    assert stories["Import the old orders"].band["past"] == 95
    assert stories["Export the invoices"].age is None and stories["Log in with SSO"].age is None
    html = client_of(flow.dev1).get(url(board)).content.decode()
    assert "10 days old: older than 95% of the finished items" in html
    assert "85% ≤ 6 d" in html


def test_without_percentiles_ages_show_plainly(flow, board):
    from flow.models import MetricSnapshot

    MetricSnapshot.objects.all().delete()
    html = client_of(flow.dev1).get(url(board)).content.decode()
    assert "10 days old" in html and "older than" not in html
    assert "no finished items yet" in html


def test_a_team_member_moves_a_story_and_the_history_records_it(flow, board):
    story = board.ready
    response = client_of(flow.dev1).post(
        url(board, f"stories/{story.pk}/move/"),
        {"to_state": "in_progress", "version": story.version},
        **HX,
    )
    assert response.status_code == 200
    story.refresh_from_db()
    assert story.state == "in_progress"
    assert StateChange.objects.filter(story=story, to_state="in_progress").count() == 1
    assert re.search(rf'id="daily-story-{story.pk}"', response.content.decode())


def test_a_refused_move_says_which_rule_failed(flow, board):
    story = board.review  # one acceptance criterion unchecked
    response = client_of(flow.sm1).post(
        url(board, f"stories/{story.pk}/move/"),
        {"to_state": "done", "version": story.version},
        **HX,
    )
    assert response.status_code == 400
    assert "every acceptance criterion checked" in response.content.decode()
    story.refresh_from_db()
    assert story.state == "in_review"


def test_a_stale_move_is_a_conflict_and_changes_nothing(flow, board):
    story = board.ready
    response = client_of(flow.dev1).post(
        url(board, f"stories/{story.pk}/move/"),
        {"to_state": "in_progress", "version": story.version + 5},
        **HX,
    )
    assert response.status_code == 409
    story.refresh_from_db()
    assert story.state == "ready"


@pytest.mark.parametrize("role", ["dev2", "csm", "cpo"])
def test_only_the_team_moves_its_stories(flow, board, role):
    story = board.ready
    response = client_of(flow.users[role]).post(
        url(board, f"stories/{story.pk}/move/"), {"to_state": "in_progress", "version": 1}, **HX
    )
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.state == "ready"


def test_a_story_off_the_board_is_not_found(flow, foreign, board):
    from tests.backlog.factories import StoryFactory

    uncommitted = StoryFactory(scrum_team=flow.scrum_teams[0], state="ready")
    theirs = StoryFactory(scrum_team=foreign.scrum_teams[0], state="ready")
    for story in (uncommitted, theirs):
        response = client_of(flow.dev1).post(
            url(board, f"stories/{story.pk}/move/"), {"to_state": "in_progress", "version": 1}
        )
        assert response.status_code == 404
        with pytest.raises(NotFound):
            daily.daily_blocker_clear(
                actor=flow.actor("dev1"), event=board.event, story_id=story.pk
            )
    assert not Story.objects.filter(state="in_progress", pk__in=[uncommitted.pk, theirs.pk])


def test_only_this_team_sprints_open_commitments_are_on_the_board(flow, board):
    """The board is this Scrum Team's commitments in this Flow Sprint, dropped ones left out;
    any other story, and any event that is not a Daily Scrum, is not found, saying which."""
    from tests.backlog.factories import StoryFactory
    from tests.flow.factories import (
        FlowSprintFactory,
        SprintCommitmentFactory,
        TeamSprintFactory,
    )

    next_sprint = FlowSprintFactory(
        flow_team=flow.flow_team,
        number=2,
        start=board.sprint.end + datetime.timedelta(days=1),
        end=board.sprint.end + datetime.timedelta(days=14),
    )
    team_1, team_2 = flow.scrum_teams[0], flow.scrum_teams[1]
    elsewhere = {
        "dropped": (board.team_sprint, team_1, "dropped"),
        "next Flow Sprint": (
            TeamSprintFactory(flow_sprint=next_sprint, scrum_team=team_1),
            team_1,
            "open",
        ),
        "Team 2's": (
            TeamSprintFactory(flow_sprint=board.sprint, scrum_team=team_2),
            team_2,
            "open",
        ),
    }
    dev = {team_1.pk: flow.actor("dev1"), team_2.pk: flow.actor("dev2")}
    for why, (team_sprint, team, outcome) in elsewhere.items():
        story = StoryFactory(scrum_team=team, state="ready", points=3)
        SprintCommitmentFactory(team_sprint=team_sprint, story=story, outcome=outcome)
        with pytest.raises(NotFound) as missing:
            daily.daily_blocker_raise(
                actor=dev[team.pk], event=board.event, story_id=story.pk, reason="waiting"
            )
        assert str(missing.value) == "no such story on this board", why
        assert not Story.objects.get(pk=story.pk).blocked, why
    # Team 1's own refinement, same Flow Sprint, asked for a story that is on the board.
    refinement = team_refinement(flow, board)
    with pytest.raises(NotFound) as missing:
        daily.daily_blocker_raise(
            actor=dev[team_1.pk], event=refinement, story_id=board.ready.pk, reason="waiting"
        )
    assert str(missing.value) == "no such Daily Scrum in your Flow Team"
    assert not Story.objects.get(pk=board.ready.pk).blocked


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"to_state": "in_progress"}, "version"),
        ({"to_state": "in_progress", "version": "x"}, "version"),
        ({"to_state": "shipped", "version": "1"}, "state"),
        ({"version": "1"}, "state"),
    ],
)
def test_bad_moves_are_a_400_naming_the_field(flow, board, data, field):
    response = client_of(flow.dev1).post(url(board, f"stories/{board.ready.pk}/move/"), data, **HX)
    assert response.status_code == 400 and f"{field}:" in response.content.decode()
    board.ready.refresh_from_db()
    assert board.ready.state == "ready"


def test_a_blocker_is_raised_and_cleared_from_the_board(flow, board):
    story = board.older
    dev = client_of(flow.dev1)
    response = dev.post(url(board, "blockers/"), {"story": story.pk, "reason": "API key"}, **HX)
    assert response.status_code == 200
    story.refresh_from_db()
    assert story.blocked and story.blocked_reason == "API key"
    assert "Blocked:</strong> API key" in response.content.decode()
    response = dev.post(url(board, f"stories/{story.pk}/clear/"), **HX)
    assert response.status_code == 200
    story.refresh_from_db()
    assert not story.blocked


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"story": "", "reason": "r"}, "story"),
        ({"story": "x", "reason": "r"}, "story"),
        ({"story": "{older}", "reason": "  "}, "blocked_reason"),
        ({"story": "{older}", "reason": "r" * 301}, "blocked_reason"),
        ({"story": "{oldest}", "reason": "again"}, "blocked"),
    ],
)
def test_bad_blockers_are_a_400_naming_the_field_and_keep_the_reason(flow, board, data, field):
    data = {k: v.format(older=board.older.pk, oldest=board.oldest.pk) for k, v in data.items()}
    response = client_of(flow.dev1).post(url(board, "blockers/"), data, **HX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{field}:" in html
    if data["reason"].strip():
        assert data["reason"][:40] in html
    assert not Story.objects.filter(pk=board.older.pk, blocked=True).exists()


def test_a_blocker_reason_of_300_characters_is_kept_and_301_are_refused_saying_so(flow, board):
    dev = client_of(flow.dev1)
    refused = dev.post(
        url(board, "blockers/"), {"story": board.older.pk, "reason": "r" * 301}, **HX
    )
    assert refused.status_code == 400
    assert 'role="alert">blocked_reason: at most 300 characters</p>' in refused.content.decode()
    kept = dev.post(url(board, "blockers/"), {"story": board.older.pk, "reason": "r" * 300}, **HX)
    assert kept.status_code == 200
    board.older.refresh_from_db()
    assert board.older.blocked_reason == "r" * 300


# --- The timer ----------------------------------------------------------------------------


def test_the_sm_starts_the_timer_and_every_screen_counts_from_the_same_start(flow, board):
    assert (
        client_of(flow.dev1).post(url(board, "timer/"), {"action": "start"}, **HX).status_code
        == 403
    )
    response = client_of(flow.sm1).post(url(board, "timer/"), {"action": "start"}, **HX)
    assert response.status_code == 200
    board.event.refresh_from_db()
    assert board.event.state == "running" and board.event.started_at == NOW
    started = board.event.started_at.isoformat()
    for role in ("dev1", "csm"):
        html = client_of(flow.users[role]).get(url(board)).content.decode()
        assert f'data-started="{started}"' in html and 'data-seconds="900"' in html
    response = client_of(flow.sm1).post(url(board, "timer/"), {"action": "start"}, **HX)
    assert response.status_code == 400 and "state:" in response.content.decode()


def test_ending_the_daily_scrum_stops_the_notes(flow, board):
    sm = client_of(flow.sm1)
    sm.post(url(board, "timer/"), {"action": "start"}, **HX)
    assert sm.post(url(board, "timer/"), {"action": "end"}, **HX).status_code == 200
    html = sm.get(url(board)).content.decode()
    assert "The Daily Scrum is over" in html and 'name="yesterday"' not in html
    assert sm.post(url(board, "timer/"), {"action": "pause"}, **HX).status_code == 400


# --- Live ---------------------------------------------------------------------------------


def poll_url(html: str) -> str:
    return re.search(r'id="live-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_the_poll_brings_a_note_and_a_move_but_never_the_typing_form(flow, board):
    sm = client_of(flow.sm1)
    poll = poll_url(sm.get(url(board)).content.decode())
    with CaptureQueriesContext(connection) as ctx:
        assert sm.get(poll).status_code == 204
    assert len(ctx) <= 2  # live.md: nothing changed costs at most two queries
    client_of(flow.dev1).post(url(board, "note/"), note(today="Ship the receipt"), **HX)
    answer = sm.get(poll)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Ship the receipt" in html
    assert 'id="daily-mine"' not in html and 'name="today"' not in html
    poll = poll_url(html)
    assert sm.get(poll).status_code == 204
    client_of(flow.dev1).post(
        url(board, f"stories/{board.young.pk}/move/"),
        {"to_state": "in_review", "version": board.young.version},
        **HX,
    )
    answer = sm.get(poll)
    assert answer.status_code == 200
    assert re.search(r'data-state="in_review">.*?Search by customer', answer.content.decode(), re.S)


def test_a_poll_token_is_worthless_for_another_daily_scrum(flow, board):
    other = daily_board(flow, now=NOW + datetime.timedelta(days=1), team=1)
    poll = poll_url(client_of(flow.dev1).get(url(board)).content.decode())
    forged = poll.replace(f"/events/{board.event.pk}/", f"/events/{other.event.pk}/")
    assert client_of(flow.dev1).get(forged).status_code == 404


# --- Queries ------------------------------------------------------------------------------


def test_the_screen_runs_the_same_queries_for_a_small_and_a_large_board(flow, foreign, clock):
    small = daily_board(flow, now=NOW)
    large = daily_board(foreign, now=NOW, extra=60)
    counts = []
    for ns, b in ((flow, small), (foreign, large)):
        client = client_of(ns.dev1)
        client.post(url(b, "note/"), note(today="t"), **HX)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(b))
        assert response.status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]
