"""A Daily Scrum with two people at once, in Chromium: the SM starts it and the timer runs
on both screens from the same start; the developer's note shows on the SM's screen within
2 s while the SM is typing their own (and the SM's text stays); a story the developer moves
to review (by its button, and by dragging) shows there on the SM's screen; a refused move
says which rule failed; past the 15 minutes both screens say overtime."""

import datetime
import re

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from backlog.models import Story
from events.models import DailyScrumNote, Event
from events.services import event_live_key
from sem.live import live_bump
from tests.conftest import build_flow_team
from tests.events.daily_setup import daily_board

HALF_TYPED = "Half-typed by the SM: pairing with"


@pytest.fixture
def daily(transactional_db):
    ns = build_flow_team()
    return ns, daily_board(ns, now=timezone.now())


def test_notes_moves_and_timer_reach_the_other_screen(daily, person, live_server):
    ns, board = daily
    screen = f"{live_server.url}/events/{board.event.pk}/daily/"
    sm, dev = person("sm1@example.com"), person("dev1@example.com")
    sm.goto(screen)
    dev.goto(screen)
    expect(dev.locator("#daily-board")).to_contain_text("Import the old orders")
    expect(dev.locator("#daily-board")).to_contain_text("older than 95% of the finished items")
    expect(dev.locator("#daily-board")).to_contain_text("waiting for the legacy database export")

    # The SM starts it: both clocks count down from the same start.
    sm.get_by_role("button", name="Start the Daily Scrum").click()
    for page in (sm, dev):
        expect(page.locator(".daily-clock")).to_have_text(re.compile(r"^1[45]:\d\d$"), timeout=2000)
    sm_left, dev_left = (
        sm.locator(".daily-clock").inner_text(),
        dev.locator(".daily-clock").inner_text(),
    )
    assert abs(_seconds(sm_left) - _seconds(dev_left)) <= 2

    # The SM is typing; the developer's note arrives meanwhile and the SM's text stays.
    sm.locator("#daily-today").fill(HALF_TYPED)
    dev.locator("#daily-yesterday").fill("Finished the card form")
    dev.locator("#daily-impediments").fill("No access to the payment sandbox")
    dev.get_by_role("button", name="Save my note").click()
    expect(sm.locator("#daily-notes")).to_contain_text(
        "No access to the payment sandbox", timeout=2000
    )
    expect(sm.locator("#daily-today")).to_have_value(HALF_TYPED)
    assert DailyScrumNote.objects.get(event=board.event).person == ns.dev1
    sm.screenshot(path="/tmp/daily_sm_note.png", full_page=True)

    # A move by the keyboard's button, then one by dragging.
    dev.get_by_role("button", name="Move Pay by card on to In review").click()
    in_review = sm.locator('.daily-list[data-state="in_review"]')
    expect(in_review).to_contain_text("Pay by card", timeout=2000)
    expect(dev.locator('.daily-list[data-state="in_review"]')).to_contain_text("Pay by card")
    dev.wait_for_timeout(1200)  # the developer's own poll has caught up with the move
    _drag(dev, f"#daily-story-{board.young.pk} .drag-handle", '.daily-list[data-state="in_review"]')
    expect(in_review).to_contain_text("Search by customer", timeout=2000)
    assert Story.objects.get(pk=board.young.pk).state == "in_review"

    # Done without every criterion checked: refused, and the screen says why.
    dev.get_by_role("button", name="Move Send the receipt on to Done").click()
    expect(dev.locator("#daily-notice")).to_contain_text("every acceptance criterion checked")
    assert Story.objects.get(pk=board.review.pk).state == "in_review"
    dev.screenshot(path="/tmp/daily_dev_board.png", full_page=True)

    # Sixteen minutes later (moved back by hand): both screens say overtime.
    with transaction.atomic():
        Event.objects.filter(pk=board.event.pk).update(
            started_at=timezone.now() - datetime.timedelta(minutes=16)
        )
        live_bump(event_live_key(board.event.pk))
    for page in (sm, dev):
        expect(page.locator(".daily-clock-words")).to_contain_text("overtime", timeout=2000)
        expect(page.locator(".daily-clock")).to_have_text(re.compile(r"^\+1:0\d$"))
    sm.screenshot(path="/tmp/daily_sm_overtime.png", full_page=True)
    logged = [e for e in sm.console_errors + dev.console_errors if "status of 400" not in e]
    assert logged == []


def _drag(page, handle: str, target: str) -> None:
    """Drag by the mouse in steps: SortableJS places the card on the drag-over events a
    single jump does not give."""
    page.locator(target).scroll_into_view_if_needed()
    box = page.locator(handle).bounding_box()
    goal = page.locator(target).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    x, y = goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] - 8
    page.mouse.move(x, y, steps=12)
    page.mouse.move(x, y + 2, steps=2)
    page.mouse.up()


def _seconds(text: str) -> int:
    minutes, seconds = text.lstrip("+").split(":")
    return int(minutes) * 60 + int(seconds)
