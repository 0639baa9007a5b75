import datetime

import pytest
import time_machine
from icalendar import Calendar

from events.models import Event
from events.services import cadence_roll

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 1, 14, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def calendar(flow):
    with time_machine.travel(NOW, tick=False):
        cadence_roll(flow_team=flow.flow_team)
        yield flow


def test_person_sees_their_events_and_the_whole_flow_team(client, calendar):
    with time_machine.travel(NOW, tick=False):
        client.force_login(calendar.dev1)
        mine = client.get("/calendar/").content.decode()
        assert "Scrum of Scrums" in mine and "Daily Scrum" in mine
        assert "Team 2" not in mine
        everyone = client.get("/calendar/?scope=flow").content.decode()
        assert "Team 2" in everyone


def test_csm_moves_and_cancels_others_may_not(client, calendar):
    event = Event.objects.filter(kind="scrum_of_scrums", flow_sprint__number=2).first()
    with time_machine.travel(NOW, tick=False):
        client.force_login(calendar.po1)
        client.post("/calendar/", {"event": event.pk, "cancel": "1"})
        event.refresh_from_db()
        assert event.state == "scheduled"
        client.force_login(calendar.csm)
        client.post("/calendar/", {"event": event.pk, "starts_at": "2026-01-22T15:30", "move": "1"})
        event.refresh_from_db()
        assert event.rescheduled_by_hand
        berlin = calendar.flow_team.tzinfo
        assert event.starts_at.astimezone(berlin).strftime("%Y-%m-%d %H:%M") == "2026-01-22 15:30"
        client.post("/calendar/", {"event": event.pk, "cancel": "1"})
        event.refresh_from_db()
        assert event.state == "cancelled"


def test_ical_feed_per_scope_with_secret_url(client, calendar):
    with time_machine.travel(NOW, tick=False):
        client.force_login(calendar.dev1)
        html = client.post("/calendar/", {"feed": "team"}).content.decode()
    url = html.split('id="feed-url">')[1].split("<")[0]
    path = url.split("testserver")[1]
    client.logout()
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    summaries = {str(e["summary"]) for e in cal.walk("VEVENT")}
    assert summaries and all("Team 1" in s for s in summaries)
    uids = [str(e["uid"]) for e in cal.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_flow_feed_marks_cancelled_events(client, calendar):
    review = Event.objects.filter(kind="review").first()
    Event.objects.filter(pk=review.pk).update(state="cancelled")
    with time_machine.travel(NOW, tick=False):
        client.force_login(calendar.cpo)
        html = client.post("/calendar/", {"feed": "flow"}).content.decode()
    path = html.split('id="feed-url">')[1].split("<")[0].split("testserver")[1]
    cal = Calendar.from_ical(client.get(path).content)
    statuses = {str(e["uid"]): str(e["status"]) for e in cal.walk("VEVENT")}
    assert statuses[f"event-{review.pk}@semflow"] == "CANCELLED"
    assert any("Team 3" in str(e["summary"]) for e in cal.walk("VEVENT"))
