"""Two people on one event screen: what one does shows on the other's screen within 2 s,
and nothing the other is typing is lost (live.md)."""

import pytest
from playwright.sync_api import expect

from events.models import Event
from events.services import cadence_roll, event_start
from tests.conftest import build_flow_team


@pytest.fixture
def flow_team(transactional_db):
    ns = build_flow_team()
    cadence_roll(flow_team=ns.flow_team)
    return ns


def test_csm_starts_a_scrum_of_scrums_and_a_po_sees_it_running(flow_team, person, live_server):
    event = Event.objects.filter(flow_team=flow_team.flow_team, kind="scrum_of_scrums").first()
    screen = f"{live_server.url}/events/{event.pk}/"
    csm, po = person("csm@example.com"), person("po1@example.com")
    po.goto(screen)
    expect(po.locator("#event-state")).to_contain_text("Scheduled")
    expect(po.get_by_role("button", name="Start the event")).to_have_count(0)

    csm.goto(screen)
    csm.screenshot(path="/tmp/event_screen_csm.png", full_page=True)
    csm.get_by_role("button", name="Start the event").click()
    expect(csm.locator("#event-state")).to_contain_text("Running", timeout=2000)
    expect(po.locator("#event-state")).to_contain_text("Running", timeout=2000)
    # The facilitator's own answer brought the outputs form in (no reload).
    expect(csm.get_by_label("Action plans with owner and due date")).to_be_visible()

    csm.get_by_role("button", name="End the event").click()
    expect(po.locator("#event-state")).to_contain_text("Done", timeout=2000)
    # A done meeting stops polling: the poll element is switched off.
    expect(po.locator("#live-poll")).to_have_attribute("data-live", "off", timeout=2000)
    po.screenshot(path="/tmp/event_screen_po.png", full_page=True)
    assert csm.console_errors == [] and po.console_errors == []


def test_what_someone_is_typing_survives_the_live_update(flow_team, person, live_server):
    """The team's SM writes the Daily Scrum's outputs while the CSM records and ends it."""
    event = Event.objects.filter(
        flow_team=flow_team.flow_team, kind="daily_scrum", scrum_team=flow_team.scrum_teams[0]
    ).first()
    event_start(actor=flow_team.actor("csm"), event=event)
    screen = f"{live_server.url}/events/{event.pk}/"
    csm, sm = person("csm@example.com"), person("sm1@example.com")
    sm.goto(screen)
    typing = sm.get_by_label("Impediments raised")
    typing.fill("Waiting for the test database")
    typing.focus()

    csm.goto(screen)
    csm.get_by_label("Impediments raised").fill("None today")
    csm.get_by_role("button", name="Save outputs").click()
    expect(csm.get_by_text("Outputs recorded.")).to_be_visible(timeout=2000)
    expect(sm.locator("#event-outputs")).to_contain_text("None today", timeout=2000)
    csm.get_by_role("button", name="End the event").click()
    expect(sm.locator("#event-state")).to_contain_text("Done", timeout=2000)
    expect(sm.get_by_role("button", name="End the event")).to_have_count(0)

    # Nothing the SM typed was touched, and the field kept the focus.
    expect(typing).to_have_value("Waiting for the test database")
    expect(typing).to_be_focused()
    # Saving now would overwrite the CSM's outputs: the form says so and keeps the text.
    sm.get_by_role("button", name="Save outputs").click()
    expect(sm.get_by_role("alert")).to_contain_text("recorded the outputs at", timeout=2000)
    expect(sm.get_by_label("Impediments raised")).to_have_value("Waiting for the test database")
    sm.get_by_role("button", name="Save outputs").click()
    expect(sm.get_by_text("Outputs recorded.")).to_be_visible(timeout=2000)
    # The meeting is over, so screens no longer poll: the write-up shows on the next visit.
    csm.reload()
    expect(csm.locator("#event-outputs")).to_contain_text("Waiting for the test database")
    sm.screenshot(path="/tmp/event_screen_sm.png", full_page=True)
    # The browser logs the deliberate 409 as a failed resource; anything else is a defect
    # (a CSP refusal, a script error).
    logged = [e for e in csm.console_errors + sm.console_errors if "status of 409" not in e]
    assert logged == []
