import re

from playwright.sync_api import expect

from backlog import services
from backlog.models import Story
from tests.conftest import build_flow_team


def _backlog():
    ns = build_flow_team()
    cpo = ns.actor("cpo")
    onboarding = services.epic_create(actor=cpo, title="Self-service onboarding")
    services.epic_create(actor=cpo, title="Invoices by email")
    services.story_create(
        actor=cpo, scrum_team=ns.scrum_teams[0], title="Welcome mail", epic=onboarding
    )
    services.story_create(
        actor=cpo, scrum_team=ns.scrum_teams[1], title="Sign up form", points=2, epic=onboarding
    )
    return ns, onboarding


def test_a_po_filters_the_backlog_and_splits_an_epic_into_a_ready_story(
    transactional_db, login, live_server
):
    ns, epic = _backlog()
    page = login("po1@example.com")
    page.get_by_role("link", name="Backlog", exact=True).click()
    expect(page.get_by_role("heading", name="Product backlog")).to_be_visible()
    card = page.locator(f"#epic-{epic.pk}")
    expect(card).to_contain_text("Sign up form")
    expect(card.locator(f"#story-{Story.objects.get(title='Welcome mail').pk}")).to_contain_text(
        "needs an estimate, needs an acceptance criterion"
    )

    page.get_by_label("Team", exact=True).first.select_option(label="Team 1")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/backlog/\?team=1"))
    expect(card).not_to_contain_text("Sign up form")
    expect(card).to_contain_text("Welcome mail")

    card.get_by_text("Split into a story").click()
    form = card.locator(f"#split-{epic.pk}")
    form.get_by_label("Title").fill("Verify the email address")
    form.get_by_label("Acceptance criteria").fill("a link is mailed\nthe link expires in a day")
    form.get_by_label("Points").select_option("3")
    form.get_by_role("button", name="Add the story").click()

    expect(card.locator(f"#split-{epic.pk}-added")).to_contain_text("ready")
    story = Story.objects.get(title="Verify the email address")
    # Swapped into the epic's stories (out of band), not beside the form.
    expect(page.locator(f"[id='epic-{epic.pk}-stories']")).to_have_count(1)
    row = card.locator(f"#epic-{epic.pk}-stories #story-{story.pk}")
    expect(row).to_contain_text("Verify the email address")
    expect(row.locator(".dor")).to_have_text("ready")
    expect(form.get_by_label("Title")).to_have_value("")
    assert (story.scrum_team, story.points, story.criteria.count()) == (ns.scrum_teams[0], 3, 2)

    page.reload()
    expect(page.locator(f"#story-{story.pk} .dor")).to_have_text("ready")
    expect(page).to_have_url(re.compile(r"/backlog/\?team=1"))
    assert page.console_errors == []  # CSP violations and script errors land here


def test_a_stakeholder_reads_the_backlog_without_a_form(transactional_db, login, live_server):
    ns, epic = _backlog()
    page = login("stakeholder@example.com")
    page.get_by_role("link", name="Backlog", exact=True).click()
    expect(page.locator(f"#epic-{epic.pk}")).to_contain_text("Sign up form")
    expect(page.get_by_text("Split into a story")).to_have_count(0)
    expect(page.locator("form[action^='/backlog/split/']")).to_have_count(0)
    assert page.console_errors == []
