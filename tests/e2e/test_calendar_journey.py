from playwright.sync_api import expect

from events.services import cadence_roll
from tests.conftest import build_flow_team


def test_csm_opens_the_calendar_and_cancels_an_event(transactional_db, login, tmp_path):
    ns = build_flow_team()
    cadence_roll(flow_team=ns.flow_team)
    page = login("csm@example.com")
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Calendar")).to_be_visible()
    page.get_by_role("link", name="Whole Flow Team").click()
    first_cancel = page.get_by_role("button", name="Cancel").first
    first_cancel.click()
    expect(page.get_by_text("Cancelled").first).to_be_visible()
    page.screenshot(path="/tmp/calendar.png")
