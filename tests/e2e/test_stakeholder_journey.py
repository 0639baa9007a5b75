import datetime

from playwright.sync_api import expect

from events.models import Event
from events.services import cadence_roll
from tests.conftest import build_flow_team


def test_a_stakeholder_sees_only_the_events_they_take_part_in(transactional_db, login):
    ns = build_flow_team()
    cadence_roll(flow_team=ns.flow_team)
    tz = ns.flow_team.tzinfo
    today = ns.flow_team.today()
    # The CSM moved the next Planning 2 to this afternoon, so the home page has one today.
    planning_2 = Event.objects.filter(kind="planning_2", starts_at__date__gte=today).first()
    Event.objects.filter(pk=planning_2.pk).update(
        starts_at=datetime.datetime.combine(today, datetime.time(16, 0), tzinfo=tz),
        rescheduled_by_hand=True,
    )
    page = login("stakeholder@example.com")
    today_list = page.get_by_role("region", name="Today's events")
    expect(today_list.get_by_text("Flow Sprint Planning 2")).to_be_visible()
    expect(today_list.get_by_text("Daily Scrum")).to_have_count(0)
    page.screenshot(path="/tmp/stakeholder-home.png", full_page=True)

    page.get_by_role("link", name="Calendar").click()
    expect(page.locator("#own-events-note")).to_contain_text("Flow Sprint Review")
    page.get_by_role("link", name="Whole Flow Team").click()
    expect(page.get_by_text("Flow Sprint Review").first).to_be_visible()
    for hidden in ["Scrum of Scrums", "Daily Scrum", "Flow Sprint Planning 1", "Team Sprint"]:
        expect(page.locator("li strong", has_text=hidden)).to_have_count(0)
    page.screenshot(path="/tmp/stakeholder-calendar.png", full_page=True)
    assert page.console_errors == []


def test_metrics_of_a_range_before_the_history_and_a_short_forecast_window(
    transactional_db, login, live_server
):
    from tests.flow.history import compute_history

    compute_history(build_flow_team(), build_flow_team(prefix="Other"))
    page = login("stakeholder@example.com")
    page.goto(f"{live_server.url}/metrics/?start=2026-01-01&end=2026-02-01")
    expect(page.locator("#range-empty")).to_contain_text("runs from 2026-03-02 to 2026-03-10")
    expect(page.locator("#forecast-window-short")).to_contain_text("only 9 days")
    page.screenshot(path="/tmp/metrics-empty-range.png", full_page=True)
    assert page.console_errors == []
