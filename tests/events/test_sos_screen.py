"""The Scrum of Scrums screen (/events/<pk>/sos/), its poll, its forms, the record of past
ones (/events/scrum-of-scrums/) and the home page's reminder."""

import datetime
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events import services
from events.models import ActionItem, ScrumOfScrumsReport
from tests.api.test_hostile_input import snapshot
from tests.conftest import build_flow_team
from tests.events.factories import EventFactory
from tests.events.sos_helpers import NOW, client_of, sos_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def week(flow, clock):
    return sos_week(flow)


def url(ns) -> str:
    return f"/events/{ns.sos.pk}/sos/"


def answer_url(ns, team_index: int) -> str:
    return f"/events/{ns.sos.pk}/sos/teams/{ns.scrum_teams[team_index].pk}/"


def report_of(ns, team_index: int) -> ScrumOfScrumsReport:
    return ScrumOfScrumsReport.objects.get(event=ns.sos, scrum_team=ns.scrum_teams[team_index])


def poll_url(html: str) -> str:
    return re.search(r'id="live-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def forms_on(html: str) -> list[str]:
    return re.findall(r'id="sos-form-(\d+)"', html)


HTMX = {"HTTP_HX_REQUEST": "true"}


# --- Who sees what ---------------------------------------------------------------------------


def test_the_csm_opens_it_and_every_team_gets_its_draft_and_a_form(week):
    html = client_of(week.csm).get(url(week)).content.decode()
    assert ScrumOfScrumsReport.objects.filter(event=week.sos).count() == 3
    assert forms_on(html) == [str(t.pk) for t in week.scrum_teams]
    for team in week.scrum_teams:
        assert f'id="sos-team-{team.pk}"' in html and team.name in html
    assert "draft" in html and "What impediments does your team have" in html
    assert 'id="live-poll"' in html


def test_an_sm_edits_only_their_own_team_and_a_developer_reads(week):
    html = client_of(week.sm2).get(url(week)).content.decode()
    assert forms_on(html) == [str(week.scrum_teams[1].pk)]
    html = client_of(week.dev1).get(url(week)).content.decode()
    assert forms_on(html) == [] and "sos-answers" in html
    assert 'id="sos-add"' not in html  # developers add no action items


def test_stakeholders_other_flow_teams_and_other_events_are_not_found(week, foreign):
    assert client_of(week.stakeholder).get(url(week)).status_code == 404
    assert client_of(foreign.csm).get(url(week)).status_code == 404
    review = EventFactory(flow_sprint=week.sprint1, kind="review", occurrence=1)
    assert client_of(week.csm).get(f"/events/{review.pk}/sos/").status_code == 404
    assert client_of(week.stakeholder).get("/events/scrum-of-scrums/").status_code == 404
    assert not ScrumOfScrumsReport.objects.exists()


def test_the_event_screen_and_the_calendar_lead_to_it(week):
    csm = client_of(week.csm)
    html = csm.get(f"/events/{week.sos.pk}/").content.decode()
    assert f'href="/events/{week.sos.pk}/sos/"' in html
    assert 'href="/events/scrum-of-scrums/"' in csm.get("/calendar/").content.decode()
    assert 'href="/events/scrum-of-scrums/"' in csm.get(url(week)).content.decode()


# --- Answers ---------------------------------------------------------------------------------


def answers(version, **values) -> dict:
    return {"read_version": str(version), **values}


def test_an_sm_saves_their_teams_answers(week):
    sm1 = client_of(week.sm1)
    sm1.get(url(week))
    response = sm1.post(answer_url(week, 0), answers(1, impediments="CI is down"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Answers saved." in html
    assert f'<div hx-swap-oob="true" id="sos-team-{week.scrum_teams[0].pk}"' in html
    fresh = report_of(week, 0)
    assert (fresh.impediments, fresh.version, fresh.submitted_by) == ("CI is down", 2, week.sm1)
    # A plain form post is redirected back to the screen.
    response = sm1.post(answer_url(week, 0), answers(2, dependencies="none"))
    assert response.status_code == 302 and response["Location"] == url(week)


def test_an_sm_cannot_answer_for_another_team_nor_a_foreigner_at_all(week, foreign):
    client_of(week.csm).get(url(week))
    before = snapshot()
    assert (
        client_of(week.sm1).post(answer_url(week, 1), answers(1, impediments="x")).status_code
        == 403
    )
    assert (
        client_of(week.dev2).post(answer_url(week, 1), answers(1, impediments="x")).status_code
        == 403
    )
    assert (
        client_of(foreign.csm).post(answer_url(week, 1), answers(1, impediments="x")).status_code
        == 404
    )
    foreign_team = f"/events/{week.sos.pk}/sos/teams/{foreign.scrum_teams[0].pk}/"
    assert client_of(week.csm).post(foreign_team, answers(1, impediments="x")).status_code == 404
    assert snapshot() == before


def test_a_stale_save_comes_back_with_both_versions_and_the_text_kept(week):
    csm, sm1 = client_of(week.csm), client_of(week.sm1)
    csm.get(url(week))
    sm1.post(answer_url(week, 0), answers(1, impediments="Theirs: CI is down"))
    response = csm.post(answer_url(week, 0), answers(1, impediments="Mine: bank API late"), **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert f"{week.sm1.display_name} saved version 2" in html
    assert "Theirs: CI is down" in html and "Mine: bank API late" in html
    assert 'name="read_version" value="2"' in html
    assert html.count('data-kept="1"') == 5  # sos.js keeps their unsaved text from now on
    assert report_of(week, 0).impediments == "Theirs: CI is down"
    # Saving again, knowingly, replaces theirs.
    response = csm.post(answer_url(week, 0), answers(2, impediments="Mine: bank API late"))
    assert response.status_code == 302
    assert report_of(week, 0).impediments == "Mine: bank API late"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "read_version"),
        ({"read_version": "x"}, "read_version"),
        ({"read_version": "9" * 30}, "read_version"),
        ({"read_version": "1", "impediments": "x" * 5001}, "impediments"),
    ],
)
def test_refused_answers_keep_the_page_and_name_the_field(week, data, field):
    csm = client_of(week.csm)
    csm.get(url(week))
    before = snapshot()
    response = csm.post(answer_url(week, 0), data)
    assert response.status_code == 400
    assert f'data-field="{field}"' in response.content.decode()
    assert snapshot() == before


# --- Live ------------------------------------------------------------------------------------


def test_the_poll_is_204_in_one_query_then_brings_the_saved_answer(week):
    csm = client_of(week.csm)
    poll = poll_url(csm.get(url(week)).content.decode())
    with CaptureQueriesContext(connection) as ctx:
        response = csm.get(poll)
    assert response.status_code == 204 and len(ctx) <= 2
    services.sos_report_update(
        actor=week.actor("sm2"), report=report_of(week, 1), data={"impediments": "Bank cut-off"}
    )
    response = csm.get(poll)
    html = response.content.decode()
    assert response.status_code == 200 and "Bank cut-off" in html
    assert "<textarea" not in html and "<input" not in html  # nothing anyone types in
    # Only the card that changed: not the other teams', the action items or the state.
    one, two, three = (t.pk for t in week.scrum_teams)
    assert f'id="sos-team-{two}"' in html
    assert f'id="sos-team-{one}"' not in html and f'id="sos-team-{three}"' not in html
    assert 'id="sos-actions"' not in html and 'id="sos-state"' not in html
    # A screen in another state ("p" mangled) gets every card.
    garbled = re.sub(r"p=[^&]*", "p=x%3Ay", poll)
    assert f'id="sos-team-{three}"' in csm.get(garbled).content.decode()
    assert csm.get(poll_url(html)).status_code == 204
    # A developer's screen shows the answer as text.
    dev = client_of(week.dev1)
    dev_poll = poll_url(dev.get(url(week)).content.decode())
    services.sos_report_update(
        actor=week.actor("sm2"), report=report_of(week, 1), data={"impediments": "Cut-off moved"}
    )
    assert "Cut-off moved" in dev.get(dev_poll).content.decode()


def test_a_poll_token_of_someone_else_is_refused(week, foreign):
    poll = poll_url(client_of(week.csm).get(url(week)).content.decode())
    services.sos_report_update(
        actor=week.actor("sm2"), report=report_of(week, 1), data={"impediments": "x"}
    )
    assert client_of(week.dev1).get(poll).status_code == 403
    forged = client_of(week.csm).get(poll.replace("t=", "t=x"))
    assert forged.status_code == 403
    assert forged.content.decode() == "live token not valid for this screen"


# --- Action items ----------------------------------------------------------------------------


def add_item(client, ns, text="Book the bank", owner=None, due="2026-01-21", team=""):
    return client.post(
        f"/events/{ns.sos.pk}/sos/actions/",
        {"text": text, "owner": str((owner or ns.sm2).pk), "due_date": due, "scrum_team": team},
    )


def test_the_csm_adds_an_action_item_and_it_shows_with_its_age(week):
    csm = client_of(week.csm)
    assert add_item(csm, week, team=str(week.scrum_teams[1].pk)).status_code == 302
    item = ActionItem.objects.get()
    assert (item.owner, item.scrum_team, item.due_date) == (
        week.sm2,
        week.scrum_teams[1],
        datetime.date(2026, 1, 21),
    )
    html = csm.get(url(week)).content.decode()
    assert "Book the bank" in html and "0 d" in html


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": "", "owner": "", "due_date": ""}, "text"),
        ({"text": "t", "owner": "x", "due_date": "2026-01-21"}, "owner"),
        ({"text": "t", "owner": "999999", "due_date": "2026-01-21"}, "owner"),
        ({"text": "t", "owner": "{sm2}", "due_date": "someday"}, "due_date"),
        (
            {"text": "t", "owner": "{sm2}", "due_date": "2026-01-21", "scrum_team": "{foreign}"},
            "scrum_team",
        ),
    ],
)
def test_refused_action_items_name_the_field(week, foreign, data, field):
    csm = client_of(week.csm)
    data = {
        k: v.format(sm2=week.sm2.pk, foreign=foreign.scrum_teams[0].pk) for k, v in data.items()
    }
    response = csm.post(f"/events/{week.sos.pk}/sos/actions/", data)
    assert response.status_code == 400
    assert f'data-field="{field}"' in response.content.decode()
    assert not ActionItem.objects.exists()


def test_developers_add_and_close_nothing(week):
    dev = client_of(week.dev1)
    assert add_item(dev, week).status_code == 403
    add_item(client_of(week.csm), week)
    item = ActionItem.objects.get()
    assert dev.post(f"/events/{week.sos.pk}/sos/actions/{item.pk}/close/").status_code == 403
    assert not ActionItem.objects.get().done


def test_open_items_stay_on_every_later_sos_until_closed_with_their_age(week, clock):
    csm = client_of(week.csm)
    add_item(csm, week, text="Fix the shared test data")
    add_item(csm, week, text="Ask legal")
    early, late = ActionItem.objects.order_by("pk")
    later = EventFactory(
        flow_sprint=week.sprint1, occurrence=3,
        starts_at=datetime.datetime(2026, 1, 21, 9, 0, tzinfo=datetime.UTC),
    )  # fmt: skip
    clock.move_to(datetime.datetime(2026, 1, 21, 8, 0, tzinfo=datetime.UTC))
    services.sos_reports_ensure(actor=week.actor("csm"), event=week.sos)
    Event = type(week.sos)
    Event.objects.filter(pk=week.sos.pk).update(
        state="done", started_at=NOW + datetime.timedelta(hours=1),
        ended_at=NOW + datetime.timedelta(hours=2),
    )  # fmt: skip
    html = csm.get(f"/events/{later.pk}/sos/").content.decode()
    assert "Fix the shared test data" in html and "Ask legal" in html
    assert "7 d" in html and "raised at the Scrum of Scrums of 14 Jan" in html
    response = csm.post(f"/events/{later.pk}/sos/actions/{late.pk}/close/", **HTMX)
    assert response.status_code == 200
    assert ActionItem.objects.get(pk=late.pk).done_at is not None
    html = csm.get(f"/events/{later.pk}/sos/").content.decode()
    assert "<s>Ask legal</s>" in html  # closed since the last Scrum of Scrums
    # The one after that shows only what is still open.
    clock.move_to(datetime.datetime(2026, 1, 28, 8, 0, tzinfo=datetime.UTC))
    Event.objects.filter(pk=later.pk).update(
        state="done",
        started_at=later.starts_at,
        ended_at=later.starts_at + datetime.timedelta(hours=1),
    )
    next_one = EventFactory(
        flow_sprint=week.sprint2, occurrence=1,
        starts_at=datetime.datetime(2026, 1, 28, 9, 0, tzinfo=datetime.UTC),
    )  # fmt: skip
    html = client_of(week.dev1).get(f"/events/{next_one.pk}/sos/").content.decode()
    assert "Fix the shared test data" in html and "14 d" in html and "Ask legal" not in html
    assert (
        early.pk and 'hx-post="/events/' not in html.split('id="sos-actions"')[1].split("</ul>")[0]
    )


def test_closing_twice_is_a_400_naming_the_reason(week):
    csm = client_of(week.csm)
    add_item(csm, week)
    item = ActionItem.objects.get()
    close = f"/events/{week.sos.pk}/sos/actions/{item.pk}/close/"
    assert csm.post(close).status_code == 302
    response = csm.post(close, **HTMX)
    assert response.status_code == 400 and "closed already" in response.content.decode()


# --- The record ------------------------------------------------------------------------------


def test_the_record_lists_past_sos_and_searches_answers_and_action_items(week, clock):
    csm = client_of(week.csm)
    csm.get(url(week))
    services.sos_report_update(
        actor=week.actor("sm2"), report=report_of(week, 1), data={"impediments": "Payment gateway"}
    )
    add_item(csm, week, text="Rotate the signing keys")
    clock.shift(datetime.timedelta(hours=2))  # this week's has begun
    page = csm.get("/events/scrum-of-scrums/").content.decode()
    assert "2 Scrum of Scrums so far" in page and "Payment gateway" in page
    found = csm.get("/events/scrum-of-scrums/", {"q": "payment"}).content.decode()
    assert "1 Scrum of Scrums mention" in found and "Payment gateway" in found
    found = csm.get("/events/scrum-of-scrums/", {"q": "signing keys"}).content.decode()
    assert "Rotate the signing keys" in found
    assert (
        "No Scrum of Scrums mentions"
        in csm.get("/events/scrum-of-scrums/", {"q": "nothing like it"}).content.decode()
    )


def test_the_record_is_paged_in_the_same_queries(week, foreign):
    for n in range(25):
        EventFactory(
            flow_sprint=week.sprint1, occurrence=10 + n,
            starts_at=datetime.datetime(2025, 12, 1, 9, 0, tzinfo=datetime.UTC)
            + datetime.timedelta(days=n),
        )  # fmt: skip
    csm = client_of(week.csm)
    first = csm.get("/events/scrum-of-scrums/").content.decode()
    assert "26 Scrum of Scrums so far" in first and "Page 1 of 3" in first
    assert "Page 3 of 3" in csm.get("/events/scrum-of-scrums/", {"page": "3"}).content.decode()
    assert csm.get("/events/scrum-of-scrums/", {"page": "x"}).status_code == 400
    with CaptureQueriesContext(connection) as one:
        csm.get("/events/scrum-of-scrums/", {"page": "3"})
    with CaptureQueriesContext(connection) as other:
        csm.get("/events/scrum-of-scrums/", {"page": "1"})
    assert len(one) == len(other)


# --- Home ------------------------------------------------------------------------------------


def test_home_tells_a_po_their_teams_report_is_still_empty(week):
    po1 = client_of(week.po1)
    html = po1.get("/").content.decode()
    assert "Team 1's report for the Scrum of Scrums" in html and "still empty" in html
    assert f'href="/events/{week.sos.pk}/sos/"' in html
    po1.get(url(week))  # the draft alone does not count
    assert "still empty" in po1.get("/").content.decode()
    services.sos_report_update(
        actor=week.actor("sm1"), report=report_of(week, 0), data={"impediments": "none"}
    )
    assert "still empty" not in po1.get("/").content.decode()
    assert "still empty" not in client_of(week.dev1).get("/").content.decode()
    assert "still empty" not in client_of(week.csm).get("/").content.decode()


# --- Query counts ----------------------------------------------------------------------------


def sized(teams: int):
    ns = sos_week(build_flow_team(prefix=f"Q{teams}", teams=teams))
    client_of(ns.csm).get(url(ns))  # the drafts exist
    for n in range(teams):
        services.sos_report_update(
            actor=ns.actor(f"sm{n + 1}"), report=report_of(ns, n), data={"impediments": f"i{n}"}
        )
        services.action_item_add(
            actor=ns.actor("csm"), event=ns.sos, text=f"a{n}", owner=ns.users[f"sm{n + 1}"],
            due_date=datetime.date(2026, 1, 21), scrum_team=ns.scrum_teams[n],
        )  # fmt: skip
    return ns


def counted(client, path, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **headers)
    assert response.status_code == 200, path
    return len(ctx)


# Exact counts. The screen: the session, the person, membership and roles, the event, the
# drafts' check in its savepoint (reports, teams: 4 with the savepoint's two), the versions,
# the previous Scrum of Scrums, the reports, the action items, and for those who add action
# items the people and the teams to choose from. The poll after a save: the versions, the
# session, the person, membership and roles, the event, the previous Scrum of Scrums, the
# reports, the action items.
SCREEN_QUERIES = {"csm": 15, "sm1": 15, "dev1": 13}
POLL_QUERIES = 9


@pytest.mark.parametrize("who", ["csm", "sm1", "dev1"])
def test_the_screen_and_its_poll_take_the_same_queries_at_3_and_15_teams(clock, who):
    screens, polls = [], []
    for teams in (3, 15):
        ns = sized(teams)
        cache.clear()  # the shared regions render afresh
        client = client_of(ns.users[who])
        screens.append(counted(client, url(ns)))
        poll = poll_url(client.get(url(ns)).content.decode())
        services.sos_report_update(
            actor=ns.actor("csm"), report=report_of(ns, 0), data={"dependencies": "d"}
        )
        cache.clear()
        polls.append(counted(client, poll))
    assert screens == [SCREEN_QUERIES[who]] * 2, screens
    assert polls == [POLL_QUERIES] * 2, polls


def test_the_record_takes_the_same_queries_at_3_and_15_teams(clock):
    sizes = [sized(3), sized(15)]
    clock.shift(datetime.timedelta(hours=2))  # this week's Scrum of Scrums has begun
    counts = []
    for ns in sizes:
        client = client_of(ns.csm)
        page = client.get("/events/scrum-of-scrums/?q=i").content.decode()
        assert "1 Scrum of Scrums mention" in page and "i0" in page and "a0" in page
        counts.append(counted(client, "/events/scrum-of-scrums/?q=i"))
    # The session, the person and roles, the page's count, its meetings, their reports and
    # their action items (the search runs inside the count and the page).
    assert counts == [8, 8], counts


# --- The demo ----------------------------------------------------------------------------------


def test_the_demo_has_past_sos_and_the_next_one_opens_with_open_items_and_drafts():
    from events import seeding
    from teams.models import FlowTeam, User

    with time_machine.travel(datetime.datetime(2026, 11, 25, 16, 0, tzinfo=datetime.UTC)):
        seeding.build("demo", seed=1, today=datetime.date(2026, 11, 25))
        team = FlowTeam.objects.get(slug="atlas")
        from events.models import Event

        past = Event.objects.filter(flow_team=team, kind="scrum_of_scrums", state="done")
        assert past.count() >= 4
        assert (
            ScrumOfScrumsReport.objects.filter(event__in=past, submitted_by__isnull=False).count()
            == 5 * past.count()
        )
        items = ActionItem.objects.filter(event__in=past)
        assert items.filter(done=True).exists() and items.filter(done=False).exists()
        upcoming = (
            Event.objects.filter(flow_team=team, kind="scrum_of_scrums", state="scheduled")
            .order_by("starts_at")
            .first()
        )
        csm = client_of(User.objects.get(email="csm@example.com"))
        html = csm.get(f"/events/{upcoming.pk}/sos/").content.decode()
        open_items = items.filter(done=False)
        assert all(item.text in html for item in open_items)
        drafts = ScrumOfScrumsReport.objects.filter(event=upcoming)
        assert drafts.count() == 5 and any(r.impediments for r in drafts)
        text = " ".join(r.impediments for r in drafts)
        assert "at the Daily Scrum" in text and text.count("New risk:") == 2
