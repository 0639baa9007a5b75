"""One screen per event: what it is, who runs it, and its live poll (live.md)."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events import services
from events.models import Event
from events.services import cadence_roll
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from tests.conftest import build_flow_team

pytestmark = pytest.mark.django_db
# Wednesday 14 January 2026, 09:00 in Berlin: the week's Scrum of Scrums is at 10:00.
NOW = datetime.datetime(2026, 1, 14, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def calendar(flow, clock):
    cadence_roll(flow_team=flow.flow_team)
    return flow


def sos(ns) -> Event:
    return Event.objects.get(
        flow_team=ns.flow_team, kind="scrum_of_scrums", flow_sprint__number=1, occurrence=2
    )


def team_event(ns, kind="daily_scrum", team=0) -> Event:
    return Event.objects.filter(
        flow_team=ns.flow_team, kind=kind, scrum_team=ns.scrum_teams[team], flow_sprint__number=1
    ).first()


def poll_url(html: str) -> str:
    return re.search(r'id="live-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_the_screen_shows_the_event(client, calendar):
    event = sos(calendar)
    client.force_login(calendar.po1)
    html = client.get(f"/events/{event.pk}/").content.decode()
    assert "<h1>Scrum of Scrums</h1>" in html
    assert "Flow Sprint 1" in html
    # 09:00 UTC is 10:00 in the Flow Team's timezone.
    assert "Wednesday, 14 January 2026 · 10:00–10:45" in html and "Europe/Berlin" in html
    assert f"Facilitated by <strong>{calendar.csm.display_name}</strong>" in html
    assert "Chief Scrum Master</dt>" in html and f"{calendar.po2.display_name} (Team 2)" in html
    assert "The teams&#x27; answers to the five questions" in html
    assert "Action plans with owner and due date" in html and "not recorded yet" in html
    assert 'data-state="scheduled"' in html
    # A PO does not run a Scrum of Scrums: no buttons, no outputs form.
    assert "Start the event" not in html and "Record the outputs" not in html
    assert 'hx-trigger="every 1s"' in html


def test_calendar_and_home_link_to_the_event_screens(client, calendar):
    client.force_login(calendar.csm)
    calendar_html = client.get("/calendar/?scope=flow").content.decode()
    assert f'href="/events/{sos(calendar).pk}/"' in calendar_html
    home = client.get("/").content.decode()
    assert f'href="/events/{sos(calendar).pk}/"' in home


def test_team_event_lists_its_own_team(client, calendar):
    client.force_login(calendar.dev1)
    html = client.get(f"/events/{team_event(calendar).pk}/").content.decode()
    assert "Daily Scrum · Team 1" in html
    assert calendar.dev1.display_name in html and calendar.dev2.display_name not in html


def test_another_flow_teams_event_is_not_found(client, calendar, foreign):
    cadence_roll(flow_team=foreign.flow_team)
    client.force_login(calendar.csm)
    assert client.get(f"/events/{sos(foreign).pk}/").status_code == 404
    assert client.post(f"/events/{sos(foreign).pk}/", {"action": "start"}).status_code == 404
    assert sos(foreign).state == "scheduled"
    assert client.get("/events/999999/").status_code == 404


def test_stakeholder_sees_the_events_they_take_part_in(client, calendar):
    client.force_login(calendar.stakeholder)
    assert client.get(f"/events/{sos(calendar).pk}/").status_code == 404
    review = Event.objects.get(flow_team=calendar.flow_team, kind="review", flow_sprint__number=1)
    assert client.get(f"/events/{review.pk}/").status_code == 200


FLOW_RUNNERS = {"csm"}
TEAM_RUNNERS = {"csm", "sm1"}
EVERYONE = ["cpo", "csm", "architect", "stakeholder", "po1", "sm1", "dev1", "po2", "sm2", "dev2"]


@pytest.mark.parametrize("who", EVERYONE)
def test_who_starts_and_ends_a_scrum_of_scrums(client, calendar, who):
    event = sos(calendar)
    client.force_login(calendar.users[who])
    started = client.post(f"/events/{event.pk}/", {"action": "start"})
    event.refresh_from_db()
    if who in FLOW_RUNNERS:
        assert started.status_code == 302 and event.state == "running"
        assert client.post(f"/events/{event.pk}/", {"action": "end"}).status_code == 302
        event.refresh_from_db()
        assert event.state == "done" and event.ended_at == NOW
    else:
        # The stakeholder does not see a Scrum of Scrums at all; the others see it read-only.
        assert started.status_code == (404 if who == "stakeholder" else 403)
        assert event.state == "scheduled"


@pytest.mark.parametrize("who", EVERYONE)
def test_who_starts_a_team_event(client, calendar, who):
    event = team_event(calendar)
    client.force_login(calendar.users[who])
    response = client.post(f"/events/{event.pk}/", {"action": "start"})
    event.refresh_from_db()
    if who in TEAM_RUNNERS:
        assert response.status_code == 302 and event.state == "running"
    else:
        assert response.status_code in (403, 404) and event.state == "scheduled"


def test_the_named_facilitator_runs_their_event(calendar):
    roadmap = Event.objects.filter(flow_team=calendar.flow_team, kind="roadmap_refinement").first()
    assert roadmap.facilitator == calendar.cpo
    services.event_start(actor=calendar.actor("cpo"), event=roadmap)
    with pytest.raises(PermissionRefused):
        services.event_end(actor=calendar.actor("po1"), event=roadmap)


def test_state_rules_name_the_field(client, calendar):
    event = sos(calendar)
    client.force_login(calendar.csm)
    refused = client.post(f"/events/{event.pk}/", {"action": "end"})
    assert refused.status_code == 400
    assert "the event is scheduled; only a running event ends" in refused.content.decode()
    with pytest.raises(RuleViolation) as twice:
        services.event_start(actor=calendar.actor("csm"), event=event)
        services.event_start(actor=calendar.actor("csm"), event=event)
    assert twice.value.detail == {"state": ["the event is running; only a scheduled event starts"]}
    assert client.post(f"/events/{event.pk}/", {"action": "dance"}).status_code == 400


def test_a_foreign_actor_is_refused_by_the_service_too(calendar, foreign):
    with pytest.raises(NotFound):
        services.event_start(actor=foreign.actor("csm"), event=sos(calendar))


def test_start_and_end_bump_the_live_version(calendar):
    event = sos(calendar)
    key = f"event:{event.pk}"
    services.event_start(actor=calendar.actor("csm"), event=event)
    assert live_versions([key]) == {key: 1}
    services.event_end(actor=calendar.actor("csm"), event=event)
    assert live_versions([key]) == {key: 2}


# --- Outputs --------------------------------------------------------------------------


def record(client, event, read_version, **texts):
    data = {"action": "outputs", "read_version": read_version}
    data.update({f"output-{slug}": text for slug, text in texts.items()})
    return client.post(f"/events/{event.pk}/", data)


def test_facilitator_records_outputs_once_started(client, calendar):
    event = sos(calendar)
    client.force_login(calendar.csm)
    early = record(client, event, 0, answers="too early")
    assert early.status_code == 400 and "once the event has started" in early.content.decode()
    client.post(f"/events/{event.pk}/", {"action": "start"})
    saved = record(client, event, 0, answers="Team 2 blocked on the API", action_plans="")
    assert saved.status_code == 200 and "Outputs recorded." in saved.content.decode()
    event.refresh_from_db()
    assert event.recorded_outputs == {"answers": "Team 2 blocked on the API"}
    assert event.outputs_recorded_by == calendar.csm and event.outputs_version == 1
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert "Team 2 blocked on the API" in page
    assert f"Recorded by {calendar.csm.display_name} at 09:00" in page


def test_a_stale_outputs_form_comes_back_with_the_text_intact(client, calendar):
    event = sos(calendar)
    csm = calendar.actor("csm")
    services.event_start(actor=csm, event=event)
    services.event_outputs_record(
        actor=csm, event=event, outputs={"answers": "first"}, read_version=0
    )
    client.force_login(calendar.csm)
    stale = record(client, event, 0, answers="my longer text")
    html = stale.content.decode()
    assert stale.status_code == 409
    assert f"{calendar.csm.display_name} recorded the outputs at 09:00 while you" in html
    assert ">my longer text</textarea>" in html and 'name="read_version" value="1"' in html
    event.refresh_from_db()
    assert event.recorded_outputs == {"answers": "first"}


def test_outputs_before_the_event_starts_are_refused_saying_so(calendar):
    event = sos(calendar)
    with pytest.raises(RuleViolation) as early:
        services.event_outputs_record(
            actor=calendar.actor("csm"), event=event, outputs={"answers": "x"}, read_version=0
        )
    assert early.value.detail == {"state": ["outputs are recorded once the event has started"]}
    assert Event.objects.get(pk=event.pk).recorded_outputs == {}


def test_each_recording_of_outputs_is_one_version_on_and_its_screen_follows(calendar):
    event = sos(calendar)
    csm = calendar.actor("csm")
    services.event_start(actor=csm, event=event)
    key = services.event_live_key(event.pk)
    before = live_versions([key])[key]
    for version, text in enumerate(("first", "second")):
        services.event_outputs_record(
            actor=csm, event=event, outputs={"answers": text}, read_version=version
        )
    stored = Event.objects.get(pk=event.pk)
    assert (stored.outputs_version, stored.recorded_outputs) == (2, {"answers": "second"})
    assert live_versions([key])[key] == before + 2


def test_outputs_rules(calendar):
    event = sos(calendar)
    csm = calendar.actor("csm")
    services.event_start(actor=csm, event=event)
    with pytest.raises(RuleViolation) as unknown:
        services.event_outputs_record(actor=csm, event=event, outputs={"x": "y"}, read_version=0)
    assert unknown.value.detail == {"x": ["a Scrum of Scrums has no output called 'x'"]}
    with pytest.raises(VersionConflict) as conflict:
        services.event_outputs_record(
            actor=csm, event=event, outputs={"answers": "ok"}, read_version=7
        )
    assert conflict.value.current_version == 0
    assert str(conflict.value) == "the object changed meanwhile; its current version is 0"
    with pytest.raises(PermissionRefused):
        services.event_outputs_record(
            actor=calendar.actor("po1"), event=event, outputs={}, read_version=0
        )
    assert Event.objects.get(pk=event.pk).recorded_outputs == {}


def test_an_output_of_5000_characters_is_kept_and_5001_are_refused_saying_so(calendar):
    event = sos(calendar)
    csm = calendar.actor("csm")
    services.event_start(actor=csm, event=event)
    with pytest.raises(RuleViolation) as long:
        services.event_outputs_record(
            actor=csm, event=event, outputs={"answers": "a" * 5001}, read_version=0
        )
    assert long.value.detail == {"answers": ["at most 5000 characters (this has 5001)"]}
    services.event_outputs_record(
        actor=csm, event=event, outputs={"answers": " " + "a" * 5000 + " "}, read_version=0
    )
    assert Event.objects.get(pk=event.pk).recorded_outputs == {"answers": "a" * 5000}


def test_a_bad_read_version_is_a_clear_400(client, calendar):
    event = sos(calendar)
    services.event_start(actor=calendar.actor("csm"), event=event)
    client.force_login(calendar.csm)
    response = record(client, event, "abc", answers="kept")
    assert response.status_code == 400 and ">kept</textarea>" in response.content.decode()


# --- The poll ---------------------------------------------------------------------------


def open_screen(client, user, event) -> str:
    client.force_login(user)
    return poll_url(client.get(f"/events/{event.pk}/").content.decode())


def test_unchanged_poll_is_204(client, calendar):
    url = open_screen(client, calendar.po1, sos(calendar))
    response = client.get(url)
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize("teams", [3, 15])
def test_unchanged_poll_costs_one_query_whatever_the_size(client, clock, teams):
    ns = build_flow_team(prefix=f"Q{teams}", teams=teams)
    cadence_roll(flow_team=ns.flow_team)
    url = open_screen(client, ns.po1, sos(ns))
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 204
    assert len(ctx) == 1, [q["sql"] for q in ctx.captured_queries]


def test_changed_poll_brings_the_regions_and_a_new_poll_element(client, calendar):
    event = sos(calendar)
    url = open_screen(client, calendar.po1, event)
    services.event_start(actor=calendar.actor("csm"), event=event)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div id="event-state" hx-swap-oob="innerHTML">' in html and "Running" in html
    assert '<div id="event-outputs" hx-swap-oob="innerHTML">' in html
    assert "<textarea" not in html and "<input" not in html  # nothing anyone types in
    assert client.get(poll_url(html)).status_code == 204


def test_a_done_event_stops_the_polling(client, calendar):
    event = sos(calendar)
    url = open_screen(client, calendar.po1, event)
    csm = calendar.actor("csm")
    services.event_start(actor=csm, event=event)
    services.event_end(actor=csm, event=event)
    response = client.get(url)
    assert response.status_code == 286 and "Done" in response.content.decode()
    assert 'data-live="off"' in response.content.decode()
    # A done event's screen does not poll at all.
    assert "every 1s" not in client.get(f"/events/{event.pk}/").content.decode()


def test_a_cancelled_event_stops_the_polling(client, calendar):
    event = sos(calendar)
    url = open_screen(client, calendar.po1, event)
    services.event_cancel(actor=calendar.actor("csm"), event=event)
    assert client.get(url).status_code == 286


def test_bad_tokens_are_refused_never_500(client, calendar):
    event = sos(calendar)
    url = open_screen(client, calendar.po1, event)
    base = f"/events/{event.pk}/live/"
    assert client.get(base).status_code == 403
    assert client.get(base + "?t=garbage&v=1").status_code == 403
    assert client.get(url.replace("t=", "t=x")).status_code == 403
    assert client.get(url + "&v=zz").status_code in (200, 204)
    # The same token on another event's poll: not found.
    other = Event.objects.exclude(pk=event.pk).filter(flow_team=calendar.flow_team).first()
    elsewhere = url.replace(f"/events/{event.pk}/", f"/events/{other.pk}/")
    assert client.get(elsewhere).status_code == 404


def test_someone_elses_token_gets_no_fragments(client, calendar, foreign):
    event = sos(calendar)
    url = open_screen(client, calendar.po1, event)
    services.event_start(actor=calendar.actor("csm"), event=event)
    client.force_login(calendar.po2)
    assert client.get(url).status_code == 403
    client.force_login(foreign.po1)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 403


def test_a_removed_member_gets_not_found_when_something_changed(client, calendar):
    event = sos(calendar)
    url = open_screen(client, calendar.po1, event)
    calendar.po1.memberships.all().delete()
    assert client.get(url).status_code == 204  # nothing changed: no session work at all
    services.event_start(actor=calendar.actor("csm"), event=event)
    assert client.get(url).status_code == 404


def test_an_expired_token_stops_the_polling(client, calendar, clock):
    event = sos(calendar)
    url = open_screen(client, calendar.po1, event)
    clock.shift(datetime.timedelta(hours=3))
    response = client.get(url)
    assert response.status_code == 286 and 'data-live="off"' in response.content.decode()


def test_shared_regions_render_once_per_version(client, calendar, monkeypatch):
    from events import views

    renders = []
    original = views._region_html

    def counted(event, region):
        renders.append(region)
        return original(event, region)

    monkeypatch.setattr(views, "_region_html", counted)
    event = sos(calendar)
    urls = [open_screen(client, calendar.users[who], event) for who in ("po1", "po2", "sm1")]
    assert sorted(renders) == ["event-outputs", "event-state"]  # the first page rendered them
    services.event_start(actor=calendar.actor("csm"), event=event)
    for who, url in zip(("po1", "po2", "sm1"), urls, strict=True):
        client.force_login(calendar.users[who])
        assert client.get(url).status_code == 200
    assert sorted(renders) == ["event-outputs", "event-outputs", "event-state", "event-state"]


def test_the_teams_sm_runs_a_team_event_whoever_the_calendar_named(calendar):
    # The SM changed after the calendar was made: the team's current SM runs its events.
    event = team_event(calendar)
    Event.objects.filter(pk=event.pk).update(facilitator=None)
    event.refresh_from_db()
    services.event_start(actor=calendar.actor("sm1"), event=event)
    with pytest.raises(PermissionRefused):
        services.event_end(actor=calendar.actor("sm2"), event=event)


def test_the_database_holds_the_running_and_ending_rules(calendar):
    from django.db import IntegrityError, transaction

    event = sos(calendar)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(state="running")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(
            started_at=NOW, ended_at=NOW - datetime.timedelta(minutes=1)
        )


def test_the_screen_costs_the_same_queries_for_3_and_15_teams(client, clock):
    counts = []
    for teams in (3, 15):
        ns = build_flow_team(prefix=f"P{teams}", teams=teams)
        cadence_roll(flow_team=ns.flow_team)
        client.force_login(ns.csm)
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(f"/events/{sos(ns).pk}/").content.decode()
        assert f"{ns.po2.display_name} (Team 2)" in html
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_the_admin_cannot_run_an_event_and_its_saves_reach_open_screens(client, calendar):
    from django.urls import reverse

    event = sos(calendar)
    calendar.csm.is_staff = True
    calendar.csm.save()
    client.force_login(calendar.csm)
    url = reverse("admin:events_event_change", args=[event.pk])
    html = client.get(url).content.decode()
    assert 'name="starts_at_0"' in html and 'name="recorded_outputs"' not in html
    local = event.starts_at.astimezone(calendar.flow_team.tzinfo)
    form = {
        "starts_at_0": local.date().isoformat(),
        "starts_at_1": local.strftime("%H:%M:%S"),
        "duration_minutes": event.duration_minutes,
        "state": event.state,
        "_save": "Save",
    }
    # Running an event is the event screen's: the admin refuses it and writes nothing.
    refused = client.post(url, {**form, "state": Event.State.RUNNING})
    assert refused.status_code == 200 and "moved or cancelled" in refused.content.decode()
    event.refresh_from_db()
    assert event.state == Event.State.SCHEDULED
    assert live_versions([f"event:{event.pk}"]) == {f"event:{event.pk}": 0}
    # A move made in the admin reaches the open screens.
    assert client.post(url, {**form, "duration_minutes": 60}).status_code == 302
    event.refresh_from_db()
    assert event.duration_minutes == 60
    assert live_versions([f"event:{event.pk}"]) == {f"event:{event.pk}": 1}


@pytest.mark.parametrize("teams", [3, 15])
def test_changed_poll_costs_the_same_queries_whatever_the_size(client, clock, teams):
    # The full check when something changed: version, session, user, membership, roles,
    # event. The shared regions come from the cache once the first viewer rendered them.
    ns = build_flow_team(prefix=f"C{teams}", teams=teams)
    cadence_roll(flow_team=ns.flow_team)
    event = sos(ns)
    first, second = (open_screen(client, ns.users[who], event) for who in ("po1", "po2"))
    services.event_start(actor=ns.actor("csm"), event=event)
    client.force_login(ns.po1)
    assert client.get(first).status_code == 200
    client.force_login(ns.po2)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(second).status_code == 200
    assert len(ctx) == 6, [q["sql"][:80] for q in ctx.captured_queries]


def test_a_refused_htmx_save_says_why_where_the_person_acted(client, calendar):
    event = sos(calendar)
    services.event_start(actor=calendar.actor("csm"), event=event)
    client.force_login(calendar.csm)
    data = {"action": "outputs", "read_version": "0", "output-answers": "a" * 5001}
    response = client.post(f"/events/{event.pk}/", data, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "at most 5000 characters (this has 5001)" in html and "has-error" in html
    assert 'id="event-state" hx-swap-oob="innerHTML"' in html
    ended = client.post(f"/events/{event.pk}/", {"action": "start"}, headers={"HX-Request": "true"})
    assert ended.status_code == 400
    assert "the event is running; only a scheduled event starts" in ended.content.decode()
