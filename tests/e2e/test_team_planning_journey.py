"""Team Sprint Planning with two people at once, in Chromium: the PO changes a developer's
available days and both screens show the new proposed capacity; a story without
acceptance criteria is refused and the screen says why; a story the PO drags into the
sprint appears on the developer's screen within 2 s; a story past the capacity is refused
naming it; the developer's task with its assignee reaches the PO while the PO's typing
stays."""

import pytest
from playwright.sync_api import expect

from backlog.models import Task
from flow.models import SprintCommitment
from tests.conftest import build_flow_team
from tests.events.team_planning_setup import team_planning_setup


@pytest.fixture
def planning(transactional_db):
    return team_planning_setup(build_flow_team())


def test_days_capacity_ready_drag_and_tasks_live(planning, person, live_server):
    ns = planning
    screen = f"{live_server.url}{ns.url}"
    po, dev = person("po1@example.com"), person("dev1@example.com")
    po.goto(f"{live_server.url}/events/{ns.event.pk}/")
    po.get_by_role("link", name="Open the Team Sprint Planning").click()
    dev.goto(screen)
    # Velocity 21 over three members' full sprints.
    for page in (po, dev):
        expect(page.locator(".tp-proposed")).to_have_text("21 points")

    # Available days: 4 of 10 for the developer; 21 × 24 / 30 = 17 on both screens.
    po.get_by_label("Member", exact=True).select_option(label=ns.dev1.display_name)
    po.get_by_label("Days (0–10)").fill("4")
    po.get_by_role("button", name="Save days").click()
    expect(po.locator(".tp-proposed")).to_have_text("17 points", timeout=2000)
    expect(dev.locator(".tp-proposed")).to_have_text("17 points", timeout=2000)
    expect(dev.locator(f"#tp-people tr[data-user='{ns.dev1.pk}']")).to_contain_text("4")
    po.get_by_label("Capacity in points (empty: none)").fill("8")
    po.get_by_role("button", name="Save capacity").click()
    expect(dev.locator("#tp-summary")).to_contain_text("0 of 8 points planned", timeout=2000)

    # No acceptance criteria: the card says why, and planning it anyway is refused.
    card = dev.locator(f"#tp-story-{ns.no_criteria.pk}")
    expect(card).to_contain_text("Not ready: needs an acceptance criterion")
    card.get_by_role("button", name="Plan “No criteria” into the sprint").click()
    expect(dev.locator("#tp-notice")).to_contain_text(
        "ready needs at least one acceptance criterion"
    )
    expect(dev.locator("#tp-sprint")).not_to_contain_text("No criteria")

    # The PO drags a ready story into the sprint; the developer sees it live.
    ready = po.locator(f"#tp-story-{ns.ready[0].pk}")
    ready.locator(".drag-handle").drag_to(po.locator(".tp-sprint-list"))
    expect(po.locator("#tp-sprint")).to_contain_text("Ready 1", timeout=2000)
    expect(dev.locator("#tp-sprint")).to_contain_text("Ready 1", timeout=2000)
    expect(dev.locator("#tp-summary")).to_contain_text("5 of 8 points planned", timeout=2000)
    # The keyboard way for the next: past the capacity, refused naming it.
    po.get_by_role("button", name="Plan “Ready 2” into the sprint").click()
    expect(po.locator("#tp-notice")).to_contain_text("past its capacity of 8 points")
    assert set(
        SprintCommitment.objects.filter(team_sprint=ns.team_sprint).values_list(
            "story__title", flat=True
        )
    ) == {"Ready 1"}

    # The PO types the goal while the developer breaks the story into a task.
    po.get_by_label("Team sprint goal").fill("Half-typed goal")
    dev.get_by_label("Story", exact=True).select_option(label="Ready 1")
    dev.get_by_label("Task", exact=True).fill("Write the migration")
    dev.get_by_label("Assignee", exact=True).select_option(label=ns.sm1.display_name)
    dev.get_by_role("button", name="Add the task").click()
    expect(po.locator("#tp-sprint")).to_contain_text("Write the migration", timeout=2000)
    expect(po.locator("#tp-sprint")).to_contain_text(ns.sm1.display_name)
    expect(po.get_by_label("Team sprint goal")).to_have_value("Half-typed goal")
    assert Task.objects.get(title="Write the migration").assignee == ns.sm1
    dev.get_by_role("button", name="Tick “Write the migration” done").click()
    expect(po.locator("#tp-sprint")).to_contain_text("1 of 1 task done", timeout=2000)
    po.get_by_role("button", name="Save the goal").click()
    expect(dev.locator("#tp-summary")).to_contain_text("Half-typed goal", timeout=2000)
    po.screenshot(path="/tmp/team_planning_po.png", full_page=True)
    dev.screenshot(path="/tmp/team_planning_dev.png", full_page=True)
    logged = [e for e in po.console_errors + dev.console_errors if "status of 400" not in e]
    assert logged == []
