"""A Flow Sprint Review with three people at once, in Chromium: the stakeholder writes
feedback on a demoed story and it shows on the CSM's screen within 2 s while the CSM's own
half-typed note stays; the CPO turns it into a backlog item, which then stands in the
team's backlog; the CSM reorders the teams with the keyboard and records the Flow Sprint
Goal's outcome, which the stakeholder sees live."""

import pytest
from playwright.sync_api import expect

from backlog.models import Story
from events.models import ReviewFeedback
from flow.models import FlowSprint
from tests.conftest import build_flow_team
from tests.events.review_setup import review_event, sprint_story

NOTE = "Customers will want a weekly e-mail of this"


@pytest.fixture
def review(transactional_db):
    ns = build_flow_team()
    event = review_event(ns)
    sprint_story(event, ns.scrum_teams[1], "Pay invoices by card")
    sprint_story(event, ns.scrum_teams[0], "Export the ledger")
    return ns, event


def test_feedback_becomes_a_backlog_item_and_the_goal_outcome_is_recorded(
    review, person, live_server
):
    ns, event = review
    screen = f"{live_server.url}/events/{event.pk}/review/"
    csm, stakeholder, cpo = (
        person("csm@example.com"),
        person("stakeholder@example.com"),
        person("cpo@example.com"),
    )
    # From the event's screen to the review.
    csm.goto(f"{live_server.url}/events/{event.pk}/")
    csm.get_by_role("link", name="Open the review").click()
    expect(csm.locator("#review-demo")).to_contain_text("Pay invoices by card")
    stakeholder.goto(screen)
    cpo.goto(screen)

    csm.locator("#review-text").fill("Half-typed by the CSM")
    stakeholder.get_by_label("About").select_option(label="Pay invoices by card")
    stakeholder.get_by_label("Your feedback").fill(NOTE)
    stakeholder.get_by_role("button", name="Add the feedback").click()
    expect(stakeholder.locator("#review-text")).to_have_value("", timeout=2000)
    expect(csm.locator("#review-feedback")).to_contain_text(NOTE, timeout=2000)
    expect(csm.locator("#review-text")).to_have_value("Half-typed by the CSM")
    # The CSM may not add to a team's backlog: no button for them.
    expect(csm.locator("#review-feedback").get_by_role("button")).to_have_count(0)

    convert = cpo.locator("#review-feedback").get_by_role("button", name="Turn into a backlog item")
    expect(convert).to_be_visible(timeout=2000)
    convert.click()
    expect(cpo.locator("#review-feedback .review-became")).to_contain_text(NOTE, timeout=2000)
    expect(stakeholder.locator("#review-feedback .review-became")).to_contain_text(
        "Backlog item", timeout=2000
    )
    made = Story.objects.get(title=NOTE)
    assert made.scrum_team == ns.scrum_teams[1]
    assert ReviewFeedback.objects.get().backlog_story == made
    # The link leads to the team's backlog, where the new story stands.
    cpo.locator("#review-feedback .review-became a").click()
    expect(cpo.locator("main")).to_contain_text(NOTE)
    cpo.screenshot(path="/tmp/review_backlog_cpo.png", full_page=True)

    # The keyboard's way to set the showing order; the stakeholder's screen follows.
    team2 = ns.scrum_teams[1]
    csm.get_by_role("button", name=f"Show {team2.name} earlier").click()
    expect(stakeholder.locator("#review-demo .review-team").first).to_contain_text(
        team2.name, timeout=2000
    )

    csm.get_by_label("Partly met").check()
    csm.get_by_label("Note (required when partly or not met)").fill("Card refunds slipped")
    csm.get_by_role("button", name="Record the outcome").click()
    expect(stakeholder.locator("#review-goal")).to_contain_text("Partly met", timeout=2000)
    expect(stakeholder.locator("#review-goal")).to_contain_text("Card refunds slipped")
    assert FlowSprint.objects.get(pk=event.flow_sprint_id).goal_outcome == "partly"
    expect(csm.locator("#review-text")).to_have_value("Half-typed by the CSM")
    csm.screenshot(path="/tmp/review_csm.png", full_page=True)
    stakeholder.screenshot(path="/tmp/review_stakeholder.png", full_page=True)
    logged = csm.console_errors + stakeholder.console_errors + cpo.console_errors
    assert logged == []


def test_the_csm_drags_a_team_to_the_top_and_the_others_follow(review, person, live_server):
    ns, event = review
    screen = f"{live_server.url}/events/{event.pk}/review/"
    csm, po = person("csm@example.com"), person("po1@example.com")
    csm.goto(screen)
    po.goto(screen)
    # Only the facilitator gets handles and arrows.
    expect(po.locator("#review-demo .drag-handle")).to_have_count(0)
    team3 = ns.scrum_teams[2]
    csm.locator(f"#review-team-{team3.pk} .drag-handle").drag_to(
        csm.locator("#review-demo .review-team").first,
        target_position={"x": 40, "y": 5},
    )
    expect(po.locator("#review-demo .review-team").first).to_contain_text(team3.name, timeout=3000)
    expect(csm.locator("#review-demo .review-team").first).to_contain_text(team3.name)
    expect(csm.locator("#review-demo .review-position").first).to_have_text("1.")
    assert csm.console_errors == [] and po.console_errors == []
