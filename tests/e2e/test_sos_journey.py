"""The CSM and an SM on one Scrum of Scrums, each in their own browser: the SM's answer
shows on the CSM's screen within 2 s while what the CSM is typing elsewhere stays; a save
over a newer answer shows both versions; action items added on one screen show on the
other."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backlog import services as backlog_services
from events import services
from events.models import ActionItem, Event
from tests.backlog.factories import StoryFactory
from tests.conftest import build_flow_team
from tests.events.factories import EventFactory
from tests.flow.factories import FlowSprintFactory


@pytest.fixture
def meeting(transactional_db):
    ns = build_flow_team()
    now = timezone.now()
    sprint = FlowSprintFactory(
        flow_team=ns.flow_team, number=1, start=now.date() - datetime.timedelta(days=3),
        end=now.date() + datetime.timedelta(days=10), state="active",
    )  # fmt: skip
    ns.previous = EventFactory(
        flow_sprint=sprint, occurrence=1, state=Event.State.DONE,
        starts_at=now - datetime.timedelta(days=7),
        started_at=now - datetime.timedelta(days=7),
        ended_at=now - datetime.timedelta(days=7) + datetime.timedelta(minutes=40),
    )  # fmt: skip
    ns.sos = EventFactory(
        flow_sprint=sprint, occurrence=2, starts_at=now + datetime.timedelta(hours=1)
    )
    item = services.action_item_add(
        actor=ns.actor("csm"), event=ns.previous, text="Agree one test data set",
        owner=ns.sm2, due_date=now.date(),
    )  # fmt: skip
    # Raised at the last Scrum of Scrums, a week ago to the minute (7 days old, any hour).
    ActionItem.objects.filter(pk=item.pk).update(created_at=now - datetime.timedelta(days=7))
    blocked = StoryFactory(
        scrum_team=ns.scrum_teams[0], title="Export invoices", state="in_progress"
    )
    backlog_services.blocker_raise(actor=ns.actor("dev1"), story=blocked, reason="bank API down")
    return ns


def sm_saves_while_the_csm_writes(sm, csm, team: int, text: str) -> None:
    """The SM saves Team 1's dependencies; the CSM's screen says so and keeps their text."""
    sm.locator(f"#sos-{team}-dependencies").fill(text)
    sm.get_by_role("button", name="Save Team 1's answers").click()
    expect(csm.locator(f"#sos-form-{team} .sos-form-hint")).to_contain_text(
        "Someone saved new answers", timeout=2000
    )
    expect(csm.locator(f"#sos-{team}-dependencies")).to_have_value(
        "CSM: the payment API by Flow Sprint 2"
    )


def test_the_sms_answer_reaches_the_csm_while_the_csms_typing_stays(meeting, person, live_server):
    screen = f"{live_server.url}/events/{meeting.sos.pk}/sos/"
    one, two = (t.pk for t in meeting.scrum_teams[:2])
    csm, sm = person("csm@example.com"), person("sm1@example.com")
    csm.goto(screen)
    sm.goto(screen)
    # The draft says what happened since the last Scrum of Scrums.
    expect(sm.locator(f"#sos-{one}-impediments")).to_have_value(
        "- 'Export invoices' blocked: bank API down"
    )
    expect(csm.locator("#sos-actions")).to_contain_text("Agree one test data set")
    expect(csm.locator("#sos-actions")).to_contain_text("7 d")
    # The CSM is typing Team 2's answer, not saved yet.
    typing = csm.locator(f"#sos-{two}-in_others_way")
    typing.fill("Team 2 may block the ledger")
    typing.focus()

    sm.locator(f"#sos-{one}-impediments").fill("Bank API down since Monday")
    sm.get_by_role("button", name="Save Team 1's answers").click()
    expect(sm.locator(f"#sos-edit-{one}")).to_contain_text("Answers saved.", timeout=2000)
    expect(csm.locator(f"#sos-{one}-impediments")).to_have_value(
        "Bank API down since Monday", timeout=2000
    )
    expect(csm.locator(f"#sos-team-{one}")).to_contain_text("answered", timeout=2000)
    expect(typing).to_have_value("Team 2 may block the ledger")
    expect(typing).to_be_focused()
    csm.screenshot(path="/tmp/sos_csm.png", full_page=True)

    # The CSM starts on Team 1's dependencies; meanwhile the SM saves again.
    csm.locator(f"#sos-{one}-dependencies").fill("CSM: the payment API by Flow Sprint 2")
    sm_saves_while_the_csm_writes(sm, csm, one, "SM: the ledger team will commit")
    csm.get_by_role("button", name="Save Team 1's answers").click()
    conflict = csm.locator(f"#sos-edit-{one}")
    expect(conflict).to_contain_text("saved version 3", timeout=2000)
    expect(conflict.locator(".sos-theirs")).to_contain_text("SM: the ledger team will commit")
    expect(csm.locator(f"#sos-{one}-dependencies")).to_have_value(
        "CSM: the payment API by Flow Sprint 2"
    )
    csm.screenshot(path="/tmp/sos_conflict.png", full_page=True)
    # Another save meanwhile leaves the CSM's unsaved text where it is.
    sm_saves_while_the_csm_writes(sm, csm, one, "SM: committed for Flow Sprint 2")

    # An action item the CSM adds shows on the SM's screen; the SM closes the old one.
    csm.get_by_label("What is to be done").fill("Book the staging slot")
    csm.get_by_label("Owner").select_option(label=meeting.sm1.display_name)
    csm.get_by_label("Due").fill((timezone.now() + datetime.timedelta(days=7)).date().isoformat())
    csm.get_by_role("button", name="Add action item").click()
    expect(sm.locator("#sos-actions")).to_contain_text("Book the staging slot", timeout=2000)
    sm.get_by_role("button", name="Close “Agree one test data set”").click()
    expect(csm.locator("#sos-actions s")).to_contain_text("Agree one test data set", timeout=2000)
    sm.screenshot(path="/tmp/sos_sm.png", full_page=True)
    # The browser logs the conflict's 409 (the answer the CSM was shown); nothing else.
    assert [e for e in csm.console_errors if "409 (Conflict)" not in e] == []
    assert sm.console_errors == []


def test_an_sm_is_reminded_at_home_and_finds_past_answers_in_the_record(
    meeting, person, live_server
):
    sm = person("sm1@example.com")
    sm.goto(f"{live_server.url}/")
    reminder = sm.locator(".sos-due")
    expect(reminder).to_contain_text("Team 1's report for the Scrum of Scrums")
    expect(reminder).to_contain_text("still empty")
    sm.screenshot(path="/tmp/sos_home_sm.png", full_page=True)
    reminder.get_by_role("link", name="Answer the five questions").click()
    expect(sm.locator("h1")).to_have_text("Scrum of Scrums")
    sm.locator(f"#sos-{meeting.scrum_teams[0].pk}-dependencies").fill("Ledger schema by Friday")
    sm.get_by_role("button", name="Save Team 1's answers").click()
    expect(sm.get_by_text("Answers saved.")).to_be_visible(timeout=2000)
    sm.goto(f"{live_server.url}/")
    expect(sm.locator(".sos-due")).to_have_count(0)
    # The meeting has begun: the record finds it by what was answered.
    Event.objects.filter(pk=meeting.sos.pk).update(state="running", started_at=timezone.now())
    sm.goto(f"{live_server.url}/events/scrum-of-scrums/")
    sm.get_by_label("Search answers and action items").fill("ledger schema")
    sm.get_by_role("button", name="Search").click()
    expect(sm.locator(".sos-record-item")).to_have_count(1)
    expect(sm.locator(".sos-record-item")).to_contain_text("Ledger schema by Friday")
    sm.screenshot(path="/tmp/sos_record.png", full_page=True)
    assert sm.console_errors == []
