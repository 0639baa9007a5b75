import re

import pytest
from playwright.sync_api import expect

from tests.conftest import build_flow_team
from tests.flow.factories import FlowSprintFactory


@pytest.fixture
def demo(transactional_db):
    ns = build_flow_team()
    today = ns.flow_team.today()
    import datetime

    FlowSprintFactory(
        flow_team=ns.flow_team,
        number=3,
        start=today - datetime.timedelta(days=3),
        end=today + datetime.timedelta(days=10),
        state="active",
        goal="Ship online payments",
    )
    return ns


def test_cpo_signs_in_sees_the_flow_team_and_signs_out(demo, login, live_server, tmp_path):
    page = login("cpo@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Atlas")
    expect(page.get_by_text("Flow Sprint 3 · day 4 of 14")).to_be_visible()
    expect(page.get_by_text("Ship online payments")).to_be_visible()
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

    page.get_by_role("link", name="People and teams").click()
    expect(page.get_by_role("heading", name="Team 1")).to_be_visible()
    expect(page.locator("[aria-current=page]")).to_have_text("People and teams")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    # The CSP holds: the page loaded its scripts and styles with no violation.
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_wrong_password_says_so(demo, login):
    page = login("cpo@example.com", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("enter a correct email")
