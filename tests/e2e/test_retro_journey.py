"""A Team Sprint Retrospective with two people at once, in Chromium: cards are written
privately (the other browser's HTML holds no trace of them until the SM reveals them all
together), both then see every card; a dot past the limit is refused and says so; an
action item added by the SM shows on the developer's screen within 2 s."""

import pytest
from playwright.sync_api import expect

from events.models import ActionItem, RetroVote
from tests.conftest import build_flow_team
from tests.events.retro_setup import retro_events

MINE = "Our reviews wait two days"
THEIRS = "Pairing on the checkout helped"


@pytest.fixture
def team_retro(transactional_db):
    ns = build_flow_team()
    event, _flow = retro_events(ns)
    return ns, event


def test_cards_revealed_together_dots_limited_actions_live(team_retro, person, live_server):
    ns, event = team_retro
    screen = f"{live_server.url}/events/{event.pk}/"
    sm, dev = person("sm1@example.com"), person("dev1@example.com")
    sm.goto(screen)
    dev.goto(screen)
    expect(sm.locator("#retro-cards")).to_contain_text("Start")
    expect(dev.locator("#retro-cards")).to_contain_text("Start")

    dev.get_by_label("Column").select_option(label="Stop")
    dev.locator("#retro-text").fill(MINE)
    dev.get_by_role("button", name="Add the card").click()
    expect(dev.locator("#retro-cards")).to_contain_text(MINE, timeout=2000)
    sm.locator("#retro-text").fill(THEIRS)
    sm.get_by_role("button", name="Add the card").click()
    expect(sm.locator("#retro-cards")).to_contain_text(THEIRS, timeout=2000)
    # The others see that cards were written, never what they say.
    expect(sm.locator("#retro-cards")).to_contain_text("1 card written", timeout=2000)
    expect(dev.locator("#retro-cards")).to_contain_text("1 card written", timeout=2000)
    dev.wait_for_timeout(1500)  # a few polls later
    assert THEIRS not in dev.content() and MINE not in sm.content()

    sm.get_by_role("button", name="Reveal the cards and group").click()
    for page in (sm, dev):
        expect(page.locator("#retro-cards")).to_contain_text(MINE, timeout=2000)
        expect(page.locator("#retro-cards")).to_contain_text(THEIRS, timeout=2000)
    sm.screenshot(path="/tmp/retro_group_sm.png", full_page=True)

    sm.get_by_role("button", name="Start voting").click()
    plus = dev.get_by_role("button", name=f"Add a dot to {MINE}")
    expect(plus).to_be_visible(timeout=2000)
    for left in ("2", "1", "0"):
        plus.click()
        expect(dev.locator(".retro-dots-left")).to_have_attribute(
            "data-dots-left", left, timeout=2000
        )
    plus.click()
    expect(dev.locator("#retro-notice")).to_contain_text("you have used all your 3 dots")
    # The SM's board shows the dots live.
    expect(sm.locator(".retro-all-dots[data-dots='3']")).to_have_count(1, timeout=2000)
    assert RetroVote.objects.filter(voter=ns.dev1).count() == 3
    dev.screenshot(path="/tmp/retro_vote_dev.png", full_page=True)

    sm.get_by_role("button", name="Discuss in vote order").click()
    expect(dev.locator("#retro-cards .retro-ranked li").first).to_contain_text(MINE, timeout=2000)
    dev.locator("#action-text").fill("Half-typed by the developer")
    sm.locator("#action-text").fill("Review within a day")
    sm.get_by_label("Owner").select_option(label=ns.dev1.display_name)
    sm.get_by_label("Due").fill("2099-01-31")
    sm.get_by_role("button", name="Add the action item").click()
    expect(dev.locator("#retro-actions")).to_contain_text("Review within a day", timeout=2000)
    expect(dev.locator("#action-text")).to_have_value("Half-typed by the developer")
    assert ActionItem.objects.get(event=event).owner == ns.dev1
    sm.screenshot(path="/tmp/retro_discuss_sm.png", full_page=True)
    # The refused dot's 400 is the only thing logged: no CSP violation, no script error.
    logged = [e for e in sm.console_errors + dev.console_errors if "status of 400" not in e]
    assert logged == []


def test_grouping_by_drag_or_keyboard_shows_on_the_other_board(team_retro, person, live_server):
    ns, event = team_retro
    from events.models import RetroCard
    from events.retro import services as retro

    dev = ns.actor("dev1")
    a = retro.card_add(actor=dev, event=event, column=0, text="Alpha card")
    b = retro.card_add(actor=dev, event=event, column=1, text="Beta card")
    c = retro.card_add(actor=dev, event=event, column=2, text="Gamma card")
    retro.retro_phase(actor=ns.actor("sm1"), event=event, to="group")
    screen = f"{live_server.url}/events/{event.pk}/"
    sm, po = person("sm1@example.com"), person("po1@example.com")
    sm.goto(screen)
    po.goto(screen)
    # Keyboard: choose the card to group with, then the button.
    sm.locator(f"#onto-{b.pk}").select_option(str(a.pk))
    sm.locator(f".retro-card[data-card='{b.pk}'] button", has_text="Group").click()
    group = po.locator(f"#retro-group-{a.pk} .retro-stack")
    expect(group.locator(".retro-card-text")).to_have_text(
        ["Alpha card", "Beta card"], timeout=2000
    )
    # Drag: Gamma onto Alpha's stack.
    sm.locator(f".retro-card[data-card='{c.pk}']").drag_to(
        sm.locator(f".retro-stack[data-root='{a.pk}'] .retro-card").first,
        source_position={"x": 12, "y": 10},
        target_position={"x": 12, "y": 10},
    )
    expect(group.locator(".retro-card-text")).to_have_text(
        ["Alpha card", "Beta card", "Gamma card"], timeout=3000
    )
    assert RetroCard.objects.get(pk=c.pk).group_id == a.pk
    po.screenshot(path="/tmp/retro_grouped_po.png", full_page=True)
    assert sm.console_errors == [] and po.console_errors == []
