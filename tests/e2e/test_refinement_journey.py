"""A Product Backlog Refinement with two people of team 1 at once, in Chromium: the SM opens
a poker round, both vote privately (the other browser's HTML holds no trace of a value until
the reveal), the reveal shows both votes at once in both browsers, the agreed value lands on
the story; a story added under an epic by one shows in the other's browser within 2 s while
the other keeps what they are typing."""

import pytest
from playwright.sync_api import expect

from backlog.models import Story
from tests.conftest import build_flow_team
from tests.events.refinement_setup import refinement_of


@pytest.fixture
def refinement(transactional_db):
    ns = build_flow_team()
    return ns, refinement_of(ns)


def test_poker_votes_hidden_then_revealed_together_and_agreed(refinement, person, live_server):
    ns, ref = refinement
    screen = f"{live_server.url}/events/{ref.event.pk}/refinement/"
    sm, dev = person("sm1@example.com"), person("dev1@example.com")
    # From the event's screen, as a person finds it.
    dev.goto(f"{live_server.url}/events/{ref.event.pk}/")
    dev.get_by_role("link", name="Open the refinement").click()
    expect(dev.locator("h1")).to_contain_text("Product Backlog Refinement")
    sm.goto(screen)

    sm.get_by_role("button", name="Estimate Pay by invoice").click()
    expect(dev.locator("#ref-poker .poker-story")).to_have_text("Pay by invoice", timeout=2000)

    dev.get_by_role("button", name="Vote 13").click()
    expect(dev.locator(f"[data-voter='{ns.dev1.pk}'] [data-vote-value='13']")).to_be_visible()
    seat = sm.locator(f"[data-voter='{ns.dev1.pk}']")
    expect(seat).to_have_attribute("data-voted", "yes", timeout=2000)
    expect(seat).to_contain_text("has voted")
    sm.get_by_role("button", name="Vote 5").click()
    expect(dev.locator(f"[data-voter='{ns.sm1.pk}']")).to_have_attribute(
        "data-voted", "yes", timeout=2000
    )
    dev.wait_for_timeout(1500)  # a few polls later
    assert 'data-vote-value="13"' not in sm.content() and "voted 13" not in sm.content()
    assert 'data-vote-value="5"' not in dev.content() and "voted 5" not in dev.content()
    sm.screenshot(path="/tmp/refinement_voted_sm.png", full_page=True)

    sm.get_by_role("button", name="Reveal the votes").click()
    for page in (sm, dev):
        expect(page.locator("#ref-poker [data-vote-value]")).to_have_count(2, timeout=2000)
        expect(page.locator("#ref-poker [data-vote-value='13']")).to_have_count(1)
        expect(page.locator("#ref-poker [data-vote-value='5']")).to_have_count(1)
        expect(page.locator(".poker-spread")).to_contain_text("Spread 5 – 13")
    dev.screenshot(path="/tmp/refinement_revealed_dev.png", full_page=True)

    dev.get_by_role("button", name="Agree 8 points").click()
    expect(sm.locator(".poker-last")).to_contain_text("8 points agreed by", timeout=2000)
    expect(sm.locator(f"#ref-story-{ref.story.pk} .ref-points")).to_have_text("8 pts")
    story = Story.objects.get(pk=ref.story.pk)
    assert story.points == 8 and story.version > ref.story.version

    # A new story under the epic reaches the other browser; the SM's typing stays.
    sm.get_by_role("link", name="Add a criterion to Pay by invoice").click()
    sm.locator("#ref-criterion").fill("Half-typed by the SM")
    dev.get_by_role("link", name="Add a story to Online payments").click()
    dev.locator("#ref-title").fill("Pay in instalments")
    dev.get_by_role("button", name="Add the story").click()
    expect(sm.locator(f"#ref-epic-{ref.epic.pk}")).to_contain_text(
        "Pay in instalments", timeout=2000
    )
    expect(sm.locator("#ref-criterion")).to_have_value("Half-typed by the SM")
    expect(dev.locator("#ref-title")).to_have_value("")
    added = Story.objects.get(title="Pay in instalments")
    assert (added.epic_id, added.scrum_team_id) == (ref.epic.pk, ns.scrum_teams[0].pk)
    sm.get_by_role("button", name="Add the criterion").click()
    expect(dev.locator(f"#ref-story-{ref.story.pk} .ref-criteria")).to_contain_text(
        "Half-typed by the SM", timeout=2000
    )
    expect(dev.locator(f"#ref-story-{ref.story.pk} .ref-dor")).to_have_text("Ready")
    sm.screenshot(path="/tmp/refinement_after_sm.png", full_page=True)
    assert sm.console_errors == [] and dev.console_errors == []
