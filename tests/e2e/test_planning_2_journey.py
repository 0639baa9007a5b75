"""Flow Sprint Planning 2 with people at once, in Chromium: the CPO drafts the Flow Sprint
Goal and the CSM sees it within 2 s; an SM records a risk for the red dependency from
another browser while the CPO types; the screen warns about an unmitigated high risk
before the CSM confirms; confirming closes the event with its outputs and sets the goal."""

import pytest
from playwright.sync_api import expect

from events.models import Event
from flow.models import FlowSprint
from tests.conftest import build_flow_team
from tests.events.planning2_setup import build_planning_2, high_risk


@pytest.fixture
def p2(transactional_db):
    ns = build_flow_team()
    found = build_planning_2(ns)
    found.risk = high_risk(ns)
    return found


def test_cpo_drafts_csm_confirms_despite_an_unmitigated_high_risk(p2, person, live_server):
    screen = f"{live_server.url}/events/{p2.event.pk}/"
    cpo, csm = person("cpo@example.com"), person("csm@example.com")
    csm.goto(screen)
    expect(csm.locator("#p2-goal")).to_contain_text("The CPO has not drafted")
    # Before anything is confirmed, the screen says plainly what still stands.
    warnings = csm.locator("#p2-warnings")
    expect(warnings).to_contain_text("Unmitigated high risk: Load may exceed capacity")
    expect(warnings).to_contain_text("Red dependency: Checkout flow needs Payment API")

    cpo.goto(screen)
    cpo.get_by_label("Your draft of the Flow Sprint Goal").fill("Customers pay in one step")
    cpo.get_by_role("button", name="Save the draft").click()
    expect(cpo.get_by_text("Draft saved.")).to_be_visible(timeout=2000)
    expect(csm.locator("#p2-goal")).to_contain_text("Customers pay in one step", timeout=2000)
    expect(csm.get_by_role("button", name="Confirm despite 2 warnings")).to_be_visible(timeout=2000)

    # The CPO starts rewording while an SM opens a risk for the red dependency elsewhere.
    typing = cpo.get_by_label("Your draft of the Flow Sprint Goal")
    typing.fill("Customers pay in one step, on every device")
    typing.focus()
    sm = person("sm1@example.com")
    sm.goto(f"{screen}?risk_for_dependency={p2.red.pk}")
    expect(sm.get_by_label("Linked dependency")).to_have_value(str(p2.red.pk))
    sm.get_by_role("textbox", name="Mitigation plan").fill("Stub the Payment API until it lands")
    sm.get_by_role("button", name="Record the risk").click()
    expect(sm.get_by_text("Saved “Checkout flow may come late”")).to_be_visible(timeout=2000)
    expect(csm.locator("#risk-list")).to_contain_text("Checkout flow may come late", timeout=2000)
    expect(csm.locator("#p2-dependencies")).to_contain_text(
        "Stub the Payment API until it lands", timeout=2000
    )
    expect(cpo.locator("#risk-list")).to_contain_text("Checkout flow may come late", timeout=2000)
    # The CPO's typing survived the live updates, and kept the focus.
    expect(typing).to_have_value("Customers pay in one step, on every device")
    expect(typing).to_be_focused()

    csm.screenshot(path="/tmp/planning_2_csm.png", full_page=True)
    csm.get_by_role("button", name="Confirm despite 2 warnings").click()
    expect(csm.locator("#p2-confirm")).to_contain_text("Planning 2 is done", timeout=2000)
    expect(csm.locator("#p2-goal")).to_contain_text("Confirmed despite")
    # Everyone's screen shows the event done with its outputs, and stops polling.
    expect(cpo.locator("#event-state")).to_contain_text("Done", timeout=2000)
    expect(cpo.locator("#p2-goal")).to_contain_text("Confirmed", timeout=2000)
    expect(cpo.locator("#p2-poll")).to_have_attribute("data-live", "off", timeout=2000)
    cpo.reload()
    expect(cpo.locator("#event-outputs")).to_contain_text("Customers pay in one step")
    expect(cpo.locator("#event-outputs")).to_contain_text("Stub the Payment API until it lands")
    cpo.screenshot(path="/tmp/planning_2_done_cpo.png", full_page=True)

    event = Event.objects.get(pk=p2.event.pk)
    sprint = FlowSprint.objects.get(pk=p2.sprint.pk)
    assert event.state == "done" and "flow_sprint_goal" in event.recorded_outputs
    assert sprint.goal == "Customers pay in one step"
    assert [w["kind"] for w in sprint.confirmed_despite] == ["dependency", "risk"]
    assert csm.console_errors == [] and cpo.console_errors == [] and sm.console_errors == []
