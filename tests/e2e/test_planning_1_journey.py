"""Flow Sprint Planning 1 in real Chromium, two people at once: the CSM runs the board on
the shared screen while an SM plans their team's stories. The SM's plan shows on the CSM's
board within 2 s while the CSM's open claim form keeps what they chose; a story without
acceptance criteria cannot be planned (its card says why, a drop of it is refused); a
dependency turns red on the board when the providing team moves its story after the
needed-by Flow Sprint."""

import pytest
from playwright.sync_api import expect

from backlog import services as backlog_services
from flow import services as flow_services
from flow.models import SprintCommitment
from tests.conftest import build_flow_team
from tests.events.planning_fixtures import planning_setup


@pytest.fixture
def planning(transactional_db):
    return planning_setup(build_flow_team())


def planned_in(story) -> list[int]:
    return list(
        SprintCommitment.objects.filter(story=story, outcome="open").values_list(
            "team_sprint__flow_sprint__number", flat=True
        )
    )


def test_the_sm_plans_a_story_and_the_csm_sees_it_while_choosing_a_claim(
    planning, person, live_server
):
    url = f"{live_server.url}{planning.url}"
    ready, bare = planning.stories[(1, 1)], planning.stories[(1, "bare")]
    next_sprint = planning.sprints[1]

    csm = person("csm@example.com")
    csm.goto(url)
    # The CSM opens Team 2's claim form and picks an epic: an open form, half filled.
    team2 = planning.scrum_teams[1]
    csm.locator(f"#plan-team-{team2.pk}").get_by_role("link", name="Claim epics…").click()
    csm.get_by_label("Epic", exact=True).select_option(label="Invoicing")

    sm = person("sm1@example.com")
    sm.goto(url)
    sm.screenshot(path="/tmp/plan1/board_sm.png", full_page=True)
    card = sm.locator(f"#plan-story-{ready.pk}")
    target = sm.locator(f"#plan-team-{planning.scrum_teams[0].pk} [data-sprint='{next_sprint.pk}']")
    card.locator(".drag-handle").drag_to(target.locator(".plan-list"))
    expect(sm.locator("#planning-status")).to_have_text(
        f"Planned “{ready.title}” into Flow Sprint {next_sprint.number}."
    )
    assert planned_in(ready) == [next_sprint.number]

    # Within 2 s on the CSM's board, without a reload; their open form keeps its choice.
    csm_cell = csm.locator(
        f"#plan-team-{planning.scrum_teams[0].pk} .plan-cell[data-sprint='{next_sprint.pk}']"
    )
    expect(csm_cell).to_contain_text(ready.title, timeout=2000)
    expect(csm_cell).to_contain_text("3 / ")  # the load against the capacity
    expect(csm.get_by_label("Epic", exact=True)).to_have_value(str(planning.epic.pk))
    csm.get_by_role("button", name="Claim it").click()
    expect(csm.locator("#planning-status")).to_contain_text("Team 2 claimed “Invoicing”")
    expect(sm.locator(f"#plan-team-{team2.pk}")).to_contain_text("Invoicing", timeout=2000)

    # The story without acceptance criteria: its card says why, its arrow is disabled, and
    # dragging it anyway is refused by the server (the card goes back).
    bare_card = sm.locator(f"#plan-story-{bare.pk}")
    expect(bare_card).to_contain_text("Not ready: needs an acceptance criterion")
    expect(
        bare_card.get_by_role("button", name=f"Plan “{bare.title}” one Flow Sprint later")
    ).to_be_disabled()
    bare_card.locator(".drag-handle").drag_to(target.locator(".plan-list"))
    expect(sm.locator("#planning-status")).to_contain_text(
        "was not planned: ready needs at least one acceptance criterion"
    )
    expect(sm.locator(f"#plan-team-{planning.scrum_teams[0].pk} .plan-backlog")).to_contain_text(
        bare.title
    )
    assert planned_in(bare) == []
    csm.screenshot(path="/tmp/plan1/board_csm.png", full_page=True)
    # The one error the SM's browser logs is the refused drop's 400.
    assert sm.console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    assert csm.console_errors == []


def test_a_dependency_turns_red_when_the_provider_plans_its_story_too_late(
    planning, person, live_server
):
    s1, s2, s3, s4 = planning.sprints[:4]
    needing, providing = planning.stories[(1, 1)], planning.stories[(2, 1)]
    flow_services.story_plan(
        actor=planning.actor("sm2"), story=providing, team_sprint=planning.team_sprint(2, 1)
    )
    dependency = backlog_services.dependency_create(
        actor=planning.actor("sm1"), source=needing, target=providing, needed_by=s3
    )
    url = f"{live_server.url}{planning.url}"
    csm = person("csm@example.com")
    csm.goto(url)
    marker = csm.locator(f"#plan-story-{needing.pk} [data-dependency='{dependency.pk}']")
    expect(marker).to_have_class("dep dep-green")
    expect(csm.locator(f"#dep-{dependency.pk}")).to_contain_text(f"needed by FS {s3.number}")

    sm2 = person("sm2@example.com")
    sm2.goto(url)
    later = sm2.get_by_role("button", name=f"Plan “{providing.title}” one Flow Sprint later")
    later.focus()
    sm2.keyboard.press("Enter")
    expect(sm2.locator("#planning-status")).to_have_text(
        f"Planned “{providing.title}” into Flow Sprint {s3.number}."
    )
    expect(later).to_be_focused()  # the keyboard user stays on the same arrow
    expect(marker).to_have_class("dep dep-orange", timeout=2000)
    sm2.keyboard.press("Enter")
    expect(sm2.locator("#planning-status")).to_have_text(
        f"Planned “{providing.title}” into Flow Sprint {s4.number}."
    )
    assert planned_in(providing) == [s4.number]
    # After the needed-by sprint: red on the CSM's board within 2 s, with a risk to open.
    expect(marker).to_have_class("dep dep-red", timeout=2000)
    expect(csm.locator(f"#dep-{dependency.pk}")).to_contain_text(f"planned FS {s4.number}")
    risk = csm.locator(f"#dep-{dependency.pk}").get_by_role("link", name="Open a risk")
    expect(risk).to_have_attribute(
        "href",
        f"/events/{planning.event.pk}/planning-1/?risk_for_dependency={dependency.pk}#risk-register",
    )

    # The contract on screen: the providing SM commits to a sprint, the CSM sees who, when.
    sm2.locator(f"#dep-{dependency.pk}").get_by_role("link", name="Contract…").click()
    panel = sm2.locator("#planning-panel")
    panel.get_by_label("Flow Sprint", exact=True).select_option(label=f"Flow Sprint {s2.number}")
    panel.get_by_label("Note", exact=True).fill("We pull it forward")
    sm2.get_by_role("button", name="Commit to it").click()
    expect(sm2.locator("#planning-panel")).to_contain_text(f"Committed to Flow Sprint {s2.number}.")
    expect(sm2.locator("#planning-panel .steps")).to_contain_text("Committed Flow Sprint")
    expect(csm.locator(f"#dep-{dependency.pk}")).to_contain_text("committed", timeout=2000)
    expect(marker).to_have_class("dep dep-green", timeout=2000)
    sm2.screenshot(path="/tmp/plan1/board_contract.png", full_page=True)
    assert s1.number < s2.number
    assert sm2.console_errors == [] and csm.console_errors == []


def test_a_live_swap_gives_the_keyboard_user_their_arrow_back(planning, person, live_server):
    ready, other = planning.stories[(1, 1)], planning.stories[(1, 2)]
    sm = person("sm1@example.com")
    sm.goto(f"{live_server.url}{planning.url}")
    later = sm.get_by_role("button", name=f"Plan “{ready.title}” one Flow Sprint later")
    later.focus()
    # Someone else plans another story of the team: the team's row swaps, and with it
    # the focused arrow.
    flow_services.story_plan(
        actor=planning.actor("po1"), story=other, team_sprint=planning.team_sprint(1, 1)
    )
    row = sm.locator(f"#plan-team-{planning.scrum_teams[0].pk}")
    cell = row.locator(f".plan-cell[data-sprint='{planning.sprints[1].pk}']")
    expect(cell).to_contain_text(other.title, timeout=4000)
    expect(later).to_be_focused()
    assert sm.console_errors == []
