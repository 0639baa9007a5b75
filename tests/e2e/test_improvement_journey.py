"""The Flow Sprint Retrospective's action item becomes a Flow Backlog improvement item, in
Chromium with two people: the CSM adds it at the retro naming the flow metric it should
move; the CPO, on the Flow Backlog, sees it arrive within 2 s with that metric's value of
today, and puts it first."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import ActionItem
from tests.conftest import build_flow_team
from tests.events.retro_setup import retro_events, to_phase
from tests.flow.factories import MetricSnapshotFactory

FIRST = "Stop starting, start finishing"
SECOND = "Make blocked time visible on every board"


@pytest.fixture
def flow_retro(transactional_db):
    ns = build_flow_team()
    _team, event = retro_events(ns)
    to_phase(ns, event, "discuss")
    MetricSnapshotFactory(
        flow_team=ns.flow_team,
        as_of=timezone.localdate() - datetime.timedelta(days=1),
        data={"daily": {"throughput": [1, 0, 2], "wip": [5, 7]}, "cycle_time": {"85": 9}},
    )
    ActionItem.objects.create(
        event=event, text=FIRST, owner=ns.sm1, due_date=datetime.date(2099, 1, 1), priority=1
    )
    return ns, event


def test_a_retro_action_arrives_in_the_flow_backlog_live(flow_retro, person, live_server):
    ns, event = flow_retro
    csm, cpo = person("csm@example.com"), person("cpo@example.com")
    csm.goto(f"{live_server.url}/events/{event.pk}/")
    cpo.goto(f"{live_server.url}/improvements/")
    expect(cpo.locator("#improvements-list")).to_contain_text(FIRST)

    csm.locator("#action-text").fill(SECOND)
    csm.get_by_label("Owner").select_option(label=ns.cpo.display_name)
    csm.get_by_label("Due").fill("2099-02-28")
    csm.get_by_label("Flow metric it should move").select_option(label="Work in progress")
    csm.get_by_role("button", name="Add the action item").click()
    expect(csm.locator("#retro-actions")).to_contain_text("in the Flow Backlog", timeout=2000)

    item = cpo.locator(".improvement-item", has_text=SECOND)
    expect(item).to_be_visible(timeout=2000)
    expect(item).to_contain_text("Work in progress: 7 items → 7 items")
    expect(item).to_contain_text("raised today")
    cpo.get_by_role("button", name=f"Move “{SECOND}” to the top").click()
    expect(cpo.locator(".improvement-item").first).to_contain_text(SECOND, timeout=2000)
    saved = ActionItem.objects.get(text=SECOND)
    assert (saved.scrum_team_id, saved.metric, saved.metric_before, saved.priority) == (
        None,
        "wip",
        7.0,
        1,
    )
    cpo.screenshot(path="/tmp/flow_backlog_cpo.png", full_page=True)

    # The retro's link leads the CSM to the item in the Flow Backlog, first now.
    csm.get_by_role("link", name="in the Flow Backlog").last.click()
    expect(csm.locator(".improvement-item").first).to_contain_text(SECOND)
    logged = csm.console_errors + cpo.console_errors
    assert logged == []
