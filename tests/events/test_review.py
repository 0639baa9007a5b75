"""The Flow Sprint Review (/events/<pk>/review/): the demo list and its order, feedback
from everyone in the room (stakeholders included) turned into backlog items once, the Flow
Sprint Goal's outcome (also on a sprint the cadence job closed), the outputs, the live
poll, another Flow Team's 404, and query counts that do not grow with the Flow Team."""

import functools
import re

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from backlog.models import Story
from events.models import Event, ReviewDemoSlot, ReviewFeedback
from events.review import selectors
from events.review import services as review
from events.services import event_end, event_start
from flow.models import FlowSprint
from flow.services import flow_sprint_close
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_versions
from tests.backlog.factories import EpicFactory
from tests.conftest import build_flow_team
from tests.events.retro_setup import client_of
from tests.events.review_setup import HX, NOW, an_epic, review_event, sprint_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rev(flow, clock):
    return review_event(flow)


def url(event, rest: str = "") -> str:
    return f"/events/{event.pk}/review/{rest}"


def refusal(call) -> dict:
    with pytest.raises(RuleViolation) as refused:
        call()
    return refused.value.detail


# --- The demo list ---------------------------------------------------------------------


def test_the_demo_shows_done_stories_meeting_the_dod_by_team_in_the_csms_order(flow, rev):
    t1, t2, t3 = flow.scrum_teams
    shown = sprint_story(rev, t1, "Pay by card")
    sprint_story(rev, t1, "Half checked", checked=(True, False))
    sprint_story(rev, t2, "Still in review", state=Story.State.IN_REVIEW)
    also = sprint_story(rev, t3, "Export to CSV", outcome="done")
    reopened = sprint_story(rev, t2, "Reopened after closing", state=Story.State.IN_PROGRESS)
    other = review_event(flow, number=2)
    sprint_story(other, t2, "Done next sprint")
    demo = selectors.demo_list(rev)
    assert [row["team"] for row in demo] == [t1, t2, t3]
    assert {s.title for row in demo for s in row["stories"]} == {shown.title, also.title}
    assert reopened.pk not in {s.pk for row in demo for s in row["stories"]}
    review.demo_order_set(actor=flow.actor("csm"), event=rev, team_ids=[t3.pk, t1.pk, t2.pk])
    assert [row["team"] for row in selectors.demo_list(rev)] == [t3, t1, t2]
    html = client_of(flow.stakeholder).get(url(rev)).content.decode()
    assert html.index(t3.name) < html.index(t1.name) < html.index(t2.name)
    assert "Pay by card" in html and "Half checked" not in html and "Still in review" not in html


def test_the_demo_order_is_stored_from_one_and_refusals_say_why(flow, rev):
    t1, t2, t3 = flow.scrum_teams
    key = review.review_live_key(rev.pk)
    before = live_versions([key])[key]
    review.demo_order_set(actor=flow.actor("csm"), event=rev, team_ids=[t2.pk, t3.pk, t1.pk])
    slots = ReviewDemoSlot.objects.filter(event=rev).order_by("position")
    assert list(slots.values_list("position", "scrum_team")) == [(1, t2.pk), (2, t3.pk), (3, t1.pk)]
    assert live_versions([key])[key] == before + 1
    for team_ids in ([t1.pk, t2.pk], [t1.pk, t1.pk, t2.pk, t3.pk]):
        with pytest.raises(RuleViolation) as refused:
            review.demo_order_set(actor=flow.actor("csm"), event=rev, team_ids=team_ids)
        assert refused.value.detail == {"order": ["give every Scrum Team of the Flow Team once"]}
    Event.objects.filter(pk=rev.pk).update(state="done")
    rev.refresh_from_db()
    with pytest.raises(RuleViolation) as refused:
        review.demo_order_set(actor=flow.actor("csm"), event=rev, team_ids=[t1.pk, t2.pk, t3.pk])
    assert refused.value.detail == {"order": ["the review is done; it is a record now"]}


def test_the_csm_moves_a_team_up_and_down_and_by_a_drag(flow, rev):
    t1, t2, t3 = flow.scrum_teams
    csm = client_of(flow.csm)
    assert csm.post(url(rev, "order/"), {"team": t3.pk, "step": "up"}, **HX).status_code == 200
    assert [r["team"] for r in selectors.demo_list(rev)] == [t1, t3, t2]
    csm.post(url(rev, "order/"), {"team": t1.pk, "step": "down"})
    assert [r["team"] for r in selectors.demo_list(rev)] == [t3, t1, t2]
    csm.post(url(rev, "order/"), {"order": f"{t2.pk},{t1.pk},{t3.pk}"}, **HX)
    assert list(ReviewDemoSlot.objects.values_list("scrum_team", flat=True)) == [
        t2.pk,
        t1.pk,
        t3.pk,
    ]
    # Not a permutation of the teams, or not the CSM: nothing changes.
    answer = csm.post(url(rev, "order/"), {"order": f"{t2.pk},{t1.pk}"}, **HX)
    assert answer.status_code == 400 and "order:" in answer.content.decode()
    answer = csm.post(url(rev, "order/"), {"order": f"{t2.pk},{t2.pk},{t3.pk}"}, **HX)
    assert answer.status_code == 400
    assert (
        client_of(flow.po1).post(url(rev, "order/"), {"team": t3.pk, "step": "up"}).status_code
        == 403
    )
    assert client_of(flow.stakeholder).post(url(rev, "order/"), {"order": ""}).status_code == 403
    assert [r["team"] for r in selectors.demo_list(rev)] == [t2, t1, t3]


def test_a_step_past_either_end_changes_nothing_and_a_bad_step_names_its_field(flow, foreign, rev):
    t1, t2, t3 = flow.scrum_teams
    csm = flow.actor("csm")
    step = review.demo_order_step
    assert step(actor=csm, event=rev, scrum_team_id=t1.pk, step="up") == [t1.pk, t2.pk, t3.pk]
    assert step(actor=csm, event=rev, scrum_team_id=t3.pk, step="down") == [t1.pk, t2.pk, t3.pk]
    assert step(actor=csm, event=rev, scrum_team_id=t2.pk, step="down") == [t1.pk, t3.pk, t2.pk]
    assert step(actor=csm, event=rev, scrum_team_id=t2.pk, step="up") == [t1.pk, t2.pk, t3.pk]
    assert step(actor=csm, event=rev, scrum_team_id=t2.pk, step="up") == [t2.pk, t1.pk, t3.pk]
    theirs = foreign.scrum_teams[0].pk
    assert refusal(lambda: step(actor=csm, event=rev, scrum_team_id=theirs, step="up")) == {
        "team": ["choose a Scrum Team of this Flow Team"]
    }
    assert refusal(lambda: step(actor=csm, event=rev, scrum_team_id=t2.pk, step="left")) == {
        "step": ["move it up or down"]
    }
    assert [r["team"] for r in selectors.demo_list(rev)] == [t2, t1, t3]


# --- Feedback ---------------------------------------------------------------------------


def test_everyone_in_the_room_writes_feedback_stakeholders_included(flow, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    epic = an_epic(flow)
    for key in ("cpo", "csm", "architect", "po2", "sm3", "dev1", "stakeholder"):
        answer = client_of(flow.users[key]).post(
            url(rev, "feedback/"), {"about": f"story:{story.pk}", "text": f"From {key}"}, **HX
        )
        assert answer.status_code == 200, key
    review.feedback_add(actor=flow.actor("stakeholder"), event=rev, text="On it", epic_id=epic.pk)
    assert ReviewFeedback.objects.filter(event=rev).count() == 8
    assert ReviewFeedback.objects.get(text="From stakeholder").author == flow.stakeholder


def test_feedback_refusals_name_the_field_and_write_nothing(flow, foreign, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    unfinished = sprint_story(rev, flow.scrum_teams[0], "Not yet", state="in_progress")
    theirs = an_epic(foreign, "Their epic")
    actor = flow.actor("stakeholder")
    assert "text" in refusal(
        lambda: review.feedback_add(actor=actor, event=rev, text="  ", story_id=story.pk)
    )
    assert "about" in refusal(lambda: review.feedback_add(actor=actor, event=rev, text="x"))
    assert "about" in refusal(
        lambda: review.feedback_add(actor=actor, event=rev, text="x", story_id=unfinished.pk)
    )
    assert "about" in refusal(
        lambda: review.feedback_add(actor=actor, event=rev, text="x", epic_id=theirs.pk)
    )
    client = client_of(flow.stakeholder)
    for data, field in [
        ({"about": f"story:{story.pk}", "text": ""}, "text"),
        ({"about": "story:x", "text": "t"}, "about"),
        ({"about": "task:1", "text": "t"}, "about"),
        ({"about": f"story:{'9' * 30}", "text": "t"}, "about"),
        ({"about": f"story:{story.pk}", "text": "x" * 2001}, "text"),
    ]:
        answer = client.post(url(rev, "feedback/"), data, **HX)
        html = answer.content.decode()
        assert answer.status_code == 400 and f"{field}:" in html, data
        if data["text"] and len(data["text"]) < 100:
            assert f">{data['text']}</textarea>" in html  # their text comes back
    # Without htmx the page comes back with the reason, 400.
    answer = client.post(url(rev, "feedback/"), {"about": "", "text": "kept text"})
    assert answer.status_code == 400 and "kept text" in answer.content.decode()
    assert not ReviewFeedback.objects.exists()


def test_the_reviews_refusals_say_why_word_for_word(flow, foreign, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    add = functools.partial(review.feedback_add, event=rev, story_id=story.pk)
    stakeholder = flow.actor("stakeholder")
    assert refusal(lambda: add(actor=stakeholder, text="  ")) == {
        "text": ["write the feedback first"]
    }
    assert refusal(lambda: add(actor=stakeholder, text="x" * 2001)) == {
        "text": ["at most 2000 characters (this has 2001)"]
    }
    assert len(add(actor=stakeholder, text="x" * 2000).text) == 2000
    with pytest.raises(NotFound) as missing:
        add(actor=foreign.actor("cpo"), text="y")
    assert str(missing.value) == "no such Flow Sprint Review in your Flow Team"
    step = functools.partial(
        review.demo_order_step, event=rev, scrum_team_id=flow.scrum_teams[1].pk, step="up"
    )
    with pytest.raises(PermissionRefused) as refused:
        step(actor=flow.actor("cpo"))
    assert str(refused.value) == "the CSM facilitates the review"
    # A review whose facilitator is named (the CPO, say) is run by them as well.
    rev.facilitator = flow.cpo
    rev.save(update_fields=["facilitator"])
    step(actor=flow.actor("cpo"))
    assert ReviewFeedback.objects.count() == 1


def test_another_flow_teams_review_is_not_found_anywhere(flow, foreign, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    note = review.feedback_add(actor=flow.actor("dev1"), event=rev, text="x", story_id=story.pk)
    with pytest.raises(NotFound):
        review.feedback_add(actor=foreign.actor("cpo"), event=rev, text="y", story_id=story.pk)
    with pytest.raises(NotFound):
        review.feedback_to_story(actor=foreign.actor("cpo"), event=rev, feedback_id=note.pk)
    them = client_of(foreign.csm)
    assert them.get(url(rev)).status_code == 404
    for rest, data in [
        ("feedback/", {"about": f"story:{story.pk}", "text": "y"}),
        (f"feedback/{note.pk}/story/", {}),
        ("order/", {"team": flow.scrum_teams[0].pk, "step": "up"}),
        ("outcome/", {"outcome": "met"}),
        ("outputs/", {}),
    ]:
        assert them.post(url(rev, rest), data, **HX).status_code == 404, rest
    # Another kind of event of one's own is no review either.
    daily = Event.objects.filter(flow_team=flow.flow_team, kind="daily_scrum").first()
    assert client_of(flow.csm).get(url(daily)).status_code == 404
    assert ReviewFeedback.objects.count() == 1 and not Story.objects.filter(title="y").exists()


def test_feedback_on_a_story_becomes_a_story_of_its_team_once(flow, rev):
    epic = an_epic(flow)
    story = sprint_story(rev, flow.scrum_teams[1], "Pay by card", epic=epic)
    note = review.feedback_add(
        actor=flow.actor("stakeholder"), event=rev, text="Also by bank transfer", story_id=story.pk
    )
    # Neither the stakeholder, the CSM nor another team's developer may add to Team 2's backlog.
    for key in ("stakeholder", "csm", "dev1"):
        answer = client_of(flow.users[key]).post(url(rev, f"feedback/{note.pk}/story/"), **HX)
        assert answer.status_code == 403, key
    answer = client_of(flow.dev2).post(url(rev, f"feedback/{note.pk}/story/"), **HX)
    assert answer.status_code == 200
    made = Story.objects.get(title="Also by bank transfer")
    assert made.scrum_team == flow.scrum_teams[1] and made.epic == epic and made.state == "backlog"
    note.refresh_from_db()
    assert note.backlog_story == made
    assert (
        "Backlog item" in answer.content.decode()
        and "Also by bank transfer" in answer.content.decode()
    )
    # A second click, by anyone, is told what it became.
    answer = client_of(flow.cpo).post(url(rev, f"feedback/{note.pk}/story/"), **HX)
    assert answer.status_code == 400
    assert "already turned into the story “Also by bank transfer”" in answer.content.decode()
    assert Story.objects.filter(title="Also by bank transfer").count() == 1


def test_feedback_on_an_epic_goes_to_a_chosen_team_the_cpo_may_do_it(flow, foreign, rev):
    epic = an_epic(flow)
    note = review.feedback_add(
        actor=flow.actor("architect"), event=rev, text="Load-test the export", epic_id=epic.pk
    )
    cpo = flow.actor("cpo")
    assert "scrum_team" in refusal(
        lambda: review.feedback_to_story(actor=cpo, event=rev, feedback_id=note.pk)
    )
    assert "scrum_team" in refusal(
        lambda: review.feedback_to_story(
            actor=cpo, event=rev, feedback_id=note.pk, scrum_team_id=foreign.scrum_teams[0].pk
        )
    )
    # The refusal names whose backlog it is.
    with pytest.raises(
        PermissionRefused, match="^the CPO and Team 3's people add stories to its backlog$"
    ):
        review.feedback_to_story(
            actor=flow.actor("po1"),
            event=rev,
            feedback_id=note.pk,
            scrum_team_id=flow.scrum_teams[2].pk,
        )
    answer = client_of(flow.cpo).post(
        url(rev, f"feedback/{note.pk}/story/"), {"scrum_team": flow.scrum_teams[2].pk}, **HX
    )
    assert answer.status_code == 200
    made = Story.objects.get(title="Load-test the export")
    assert made.scrum_team == flow.scrum_teams[2] and made.epic == epic
    # The team's own PO sees the button with a choice of their team only.
    other = review.feedback_add(actor=cpo, event=rev, text="Second thought", epic_id=epic.pk)
    html = client_of(flow.po1).get(url(rev)).content.decode()
    form = html.split(f'id="review-feedback-{other.pk}"')[1].split("</li>")[0]
    assert "Turn into a backlog item" in form
    assert re.findall(r'<option value="(\d+)">', form) == [str(flow.scrum_teams[0].pk)]


def test_a_finished_review_takes_no_more_feedback(flow, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    event_start(actor=flow.actor("csm"), event=rev)
    event_end(actor=flow.actor("csm"), event=rev)
    rev.refresh_from_db()
    detail = refusal(
        lambda: review.feedback_add(
            actor=flow.actor("dev1"), event=rev, text="x", story_id=story.pk
        )
    )
    assert "done" in detail["text"][0]


# --- The Flow Sprint Goal's outcome -------------------------------------------------------


def test_the_csm_records_the_goal_outcome_a_miss_needs_a_note(flow, rev):
    csm = flow.actor("csm")
    assert "note" in refusal(
        lambda: review.goal_outcome_record(actor=csm, event=rev, outcome="partly", note=" ")
    )
    assert "outcome" in refusal(
        lambda: review.goal_outcome_record(actor=csm, event=rev, outcome="maybe", note="")
    )
    with pytest.raises(PermissionRefused):
        review.goal_outcome_record(actor=flow.actor("cpo"), event=rev, outcome="met", note="")
    answer = client_of(flow.csm).post(
        url(rev, "outcome/"), {"outcome": "not_met", "note": ""}, **HX
    )
    assert answer.status_code == 400 and "note:" in answer.content.decode()
    assert (
        client_of(flow.stakeholder).post(url(rev, "outcome/"), {"outcome": "met"}).status_code
        == 403
    )
    answer = client_of(flow.csm).post(
        url(rev, "outcome/"), {"outcome": "partly", "note": "Card payments slipped"}, **HX
    )
    assert answer.status_code == 200 and "Partly met" in answer.content.decode()
    sprint = FlowSprint.objects.get(pk=rev.flow_sprint_id)
    assert (sprint.goal_outcome, sprint.goal_outcome_note) == ("partly", "Card payments slipped")
    assert sprint.goal_outcome_by == flow.csm and sprint.goal_outcome_at is not None


def test_the_outcome_is_recorded_on_a_sprint_the_cadence_job_closed(flow, rev):
    sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    closed = flow_sprint_close(flow_sprint=rev.flow_sprint)
    figures, closed_at = closed.figures, closed.closed_at
    review.goal_outcome_record(actor=flow.actor("csm"), event=rev, outcome="met", note="")
    sprint = FlowSprint.objects.get(pk=rev.flow_sprint_id)
    assert sprint.state == "closed" and sprint.goal_outcome == "met"
    assert (sprint.figures, sprint.closed_at) == (figures, closed_at)
    # The closed sprint's frozen figures are still guarded after this migration.
    with pytest.raises(IntegrityError), transaction.atomic():
        FlowSprint.objects.filter(pk=sprint.pk).update(figures={"1": {"done_points": 99}})


# --- Outputs --------------------------------------------------------------------------------


def test_outputs_are_filled_from_what_happened_and_the_review_ends(flow, rev):
    t1 = flow.scrum_teams[0]
    story = sprint_story(rev, t1, "Pay by card")
    note = review.feedback_add(
        actor=flow.actor("stakeholder"), event=rev, text="Add Apple Pay", story_id=story.pk
    )
    review.feedback_add(
        actor=flow.actor("stakeholder"), event=rev, text="Faster", story_id=story.pk
    )
    review.feedback_to_story(actor=flow.actor("po1"), event=rev, feedback_id=note.pk)
    review.goal_outcome_record(actor=flow.actor("csm"), event=rev, outcome="met", note="")
    csm = client_of(flow.csm)
    answer = csm.post(url(rev, "outputs/"), **HX)
    assert answer.status_code == 400 and "state:" in answer.content.decode()  # not started
    assert client_of(flow.cpo).post(url(rev, "outputs/"), **HX).status_code == 403
    event_start(actor=flow.actor("csm"), event=rev)
    stakeholder = client_of(flow.stakeholder)
    poll = poll_url(stakeholder.get(url(rev)).content.decode())
    ended = csm.post(url(rev, "outputs/"), {"end": "1"}, **HX)
    assert ended.status_code == 200
    # The review is a record now: the forms go, for the CSM and, by the poll, for everyone.
    for html in (ended.content.decode(), stakeholder.get(poll, **HX).content.decode()):
        assert 'id="review-compose" hx-swap-oob' in html and "a record now" in html
        assert 'name="text"' not in html and 'name="outcome"' not in html
    rev.refresh_from_db()
    assert rev.state == "done"
    outputs = rev.recorded_outputs
    assert outputs["demoed"] == f"{t1.name}: Pay by card"
    assert (
        f"On Pay by card: Add Apple Pay → story “Add Apple Pay” in {t1.name}" in outputs["feedback"]
    )
    assert "On Pay by card: Faster (not turned into a backlog item)" in outputs["feedback"]
    assert outputs["reprioritised"].startswith("Flow Sprint Goal met.")
    # The event's own screen shows them.
    assert "Add Apple Pay" in csm.get(f"/events/{rev.pk}/").content.decode()


def test_the_outputs_say_what_happened_word_for_word(flow, rev):
    """Each output's whole text: the demoed stories by team in the CSM's order (a team with
    nothing done left out), every note with what it became, the goal's outcome with its
    note, the open epics at the top of the roadmap in rank order."""
    t1, t2, t3 = flow.scrum_teams
    invoices = an_epic(flow)
    exports = an_epic(flow, "Exports")
    EpicFactory(flow_team=flow.flow_team, title="Shipped", state="done")  # not open: not listed
    card = sprint_story(rev, t1, "Pay by card", epic=invoices)
    sprint_story(rev, t1, "Refunds")
    sprint_story(rev, t3, "Export to CSV", epic=exports)
    review.demo_order_set(actor=flow.actor("csm"), event=rev, team_ids=[t3.pk, t2.pk, t1.pk])
    apple = review.feedback_add(
        actor=flow.actor("stakeholder"), event=rev, text="Add Apple Pay", story_id=card.pk
    )
    review.feedback_to_story(actor=flow.actor("po1"), event=rev, feedback_id=apple.pk)
    review.feedback_add(
        actor=flow.actor("architect"), event=rev, text="Load-test it", epic_id=exports.pk
    )
    review.goal_outcome_record(
        actor=flow.actor("csm"), event=rev, outcome="partly", note="Exports slipped"
    )
    assert review.outputs_from_review(rev) == {
        "demoed": f"{t3.name}: Export to CSV\n{t1.name}: Pay by card; Refunds",
        "feedback": (
            f"On Pay by card: Add Apple Pay → story “Add Apple Pay” in {t1.name}\n"
            "On Exports: Load-test it (not turned into a backlog item)"
        ),
        "reprioritised": (
            "Flow Sprint Goal partly met: Exports slipped. "
            "Top of the roadmap after the review: Pay invoices online; Exports."
        ),
    }
    review.goal_outcome_record(actor=flow.actor("csm"), event=rev, outcome="met", note="")
    assert review.outputs_from_review(rev)["reprioritised"].startswith("Flow Sprint Goal met. ")


def test_feedback_whose_epic_is_gone_is_recorded_as_on_the_sprint(flow, rev):
    """No service deletes an epic, but the row may go (its feedback keeps a null epic):
    the note is still recorded, as on the sprint."""
    epic = an_epic(flow)
    review.feedback_add(actor=flow.actor("cpo"), event=rev, text="Keep it", epic_id=epic.pk)
    epic.delete()
    assert review.outputs_from_review(rev)["feedback"] == (
        "On the sprint: Keep it (not turned into a backlog item)"
    )


def test_the_outputs_of_a_review_where_nothing_happened(flow, rev):
    assert review.outputs_from_review(rev) == {
        "demoed": "No story met the Definition of Done.",
        "feedback": "No feedback.",
        "reprioritised": (
            "Flow Sprint Goal outcome not recorded. "
            "Top of the roadmap after the review: no open epic."
        ),
    }


# --- The screen, live ------------------------------------------------------------------------


def poll_url(html: str) -> str:
    found = re.search(r'id="live-poll"[^>]*hx-get="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&")


def test_the_event_screen_links_the_review(flow, rev):
    html = client_of(flow.stakeholder).get(f"/events/{rev.pk}/").content.decode()
    assert f'href="/events/{rev.pk}/review/"' in html


def test_a_stakeholders_feedback_reaches_the_csms_poll(flow, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    csm = client_of(flow.csm)
    poll = poll_url(csm.get(url(rev)).content.decode())
    with CaptureQueriesContext(connection) as ctx:
        assert csm.get(poll, **HX).status_code == 204
    assert len(ctx) <= 2
    client_of(flow.stakeholder).post(
        url(rev, "feedback/"), {"about": f"story:{story.pk}", "text": "Lovely flow"}, **HX
    )
    answer = csm.get(poll, **HX)
    html = answer.content.decode()
    assert answer.status_code == 200 and "Lovely flow" in html
    # The regions come, never the form someone may be typing in.
    assert 'id="review-feedback"' in html and 'id="review-compose"' not in html
    assert 'name="text"' not in html
    assert csm.get(poll_url(html), **HX).status_code == 204
    # Someone else's token, once something changed, is refused: the full check runs then.
    assert client_of(flow.dev1).get(poll, **HX).status_code == 403


def test_the_writers_own_form_comes_back_empty_after_a_save(flow, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    answer = client_of(flow.dev1).post(
        url(rev, "feedback/"), {"about": f"story:{story.pk}", "text": "Nice"}, **HX
    )
    html = answer.content.decode()
    assert 'id="review-compose" hx-swap-oob' in html
    compose = html.split('id="review-compose"')[1]
    assert "></textarea>" in compose.split("</form>")[0]


# --- Query counts -----------------------------------------------------------------------------


def _review_with(teams: int, stories_per_team: int, feedback: int, prefix: str):
    ns = build_flow_team(prefix=prefix, teams=teams)
    event = review_event(ns)
    epic = an_epic(ns, f"{prefix} epic")
    stories = []
    for team in ns.scrum_teams:
        for n in range(stories_per_team):
            stories.append(sprint_story(event, team, f"{prefix} {team.number}.{n}", epic=epic))
    for n in range(feedback):
        note = review.feedback_add(
            actor=ns.actor("stakeholder"),
            event=event,
            text=f"Note {n}",
            story_id=stories[n % len(stories)].pk,
        )
        if n % 2:
            review.feedback_to_story(actor=ns.actor("cpo"), event=event, feedback_id=note.pk)
    review.feedback_add(actor=ns.actor("cpo"), event=event, text="On the epic", epic_id=epic.pk)
    review.goal_outcome_record(actor=ns.actor("csm"), event=event, outcome="met", note="")
    return ns, event


@pytest.mark.parametrize("who", ["csm", "cpo", "stakeholder", "dev1"])
def test_the_page_and_the_poll_run_the_same_queries_for_3_and_12_teams(clock, client, who):
    counts = []
    for teams, per_team, notes, prefix in ((3, 1, 2, "S"), (12, 6, 30, "L")):
        ns, event = _review_with(teams, per_team, notes, prefix)
        client.force_login(ns.users[who])
        with CaptureQueriesContext(connection) as page:
            html = client.get(url(event)).content.decode()
        assert f"{prefix} 1.0" in html
        review.feedback_add(
            actor=ns.actor("architect"),
            event=event,
            text="New",
            story_id=Story.objects.filter(flow_team=ns.flow_team, title=f"{prefix} 1.0").get().pk,
        )
        with CaptureQueriesContext(connection) as poll:
            assert client.get(poll_url(html), **HX).status_code == 200
        counts.append((len(page), len(poll)))
        client.logout()
    assert counts[0] == counts[1], counts


def test_a_button_click_never_redraws_the_clickers_half_typed_forms(flow, rev):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    note = review.feedback_add(actor=flow.actor("dev1"), event=rev, text="x", story_id=story.pk)
    for who, path, data in [
        (flow.po1, f"feedback/{note.pk}/story/", {}),
        (flow.csm, "order/", {"team": flow.scrum_teams[1].pk, "step": "up"}),
    ]:
        html = client_of(who).post(url(rev, path), data, **HX).content.decode()
        assert 'id="review-demo"' in html
        assert 'id="review-compose"' not in html and 'id="review-outcome"' not in html


def test_the_csm_records_the_outputs_without_ending_unless_asked_and_the_screen_follows(flow, rev):
    """Recording the outputs keeps the review running (ending is asked for); only the
    review's facilitator records them, and every screen of the review is bumped."""
    event_start(actor=flow.actor("csm"), event=rev)
    with pytest.raises(PermissionRefused) as refused:
        review.review_outputs_record(actor=flow.actor("cpo"), event=rev)
    assert str(refused.value) == "the CSM facilitates the review"
    assert Event.objects.get(pk=rev.pk).outputs_version == 0
    key = review.review_live_key(rev.pk)
    before = live_versions([key])[key]
    recorded = review.review_outputs_record(actor=flow.actor("csm"), event=rev)
    assert live_versions([key])[key] == before + 1
    assert recorded.state == Event.objects.get(pk=rev.pk).state == "running"
    assert recorded.recorded_outputs["feedback"] == "No feedback."


# --- Word for word, at the services ---------------------------------------------------------


def test_feedback_names_one_story_shown_or_one_epic_of_the_flow_team_word_for_word(
    flow, foreign, rev
):
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card")
    unfinished = sprint_story(rev, flow.scrum_teams[0], "Not yet", state="in_progress")
    epic = an_epic(flow)
    add = functools.partial(review.feedback_add, actor=flow.actor("stakeholder"), event=rev)
    one_of_them = {"about": ["choose the story or the epic it is about"]}
    assert refusal(lambda: add(text="x")) == one_of_them
    assert refusal(lambda: add(text="x", story_id=story.pk, epic_id=epic.pk)) == one_of_them
    assert refusal(lambda: add(text="x", story_id=unfinished.pk)) == {
        "about": ["choose one of the stories shown at this review"]
    }
    theirs = an_epic(foreign, "Their epic")
    assert refusal(lambda: add(text="x", epic_id=theirs.pk)) == {
        "about": ["choose an epic of this Flow Team"]
    }
    assert not ReviewFeedback.objects.exists()
    key = review.review_live_key(rev.pk)
    before = live_versions([key])[key]
    on_story, on_epic = add(text="s", story_id=story.pk), add(text="e", epic_id=epic.pk)
    assert live_versions([key])[key] == before + 2
    assert (on_story.story, on_story.epic, on_epic.story, on_epic.epic) == (
        story,
        None,
        None,
        epic,
    )
    event_start(actor=flow.actor("csm"), event=rev)
    event_end(actor=flow.actor("csm"), event=rev)
    rev.refresh_from_db()
    assert refusal(lambda: add(text="late", story_id=story.pk)) == {
        "text": ["the review is done; it is a record now"]
    }
    assert ReviewFeedback.objects.count() == 2


def test_feedback_becomes_a_story_titled_by_its_text_up_to_200_characters(flow, foreign, rev):
    epic = an_epic(flow)
    cpo = flow.actor("cpo")
    add = functools.partial(review.feedback_add, actor=cpo, event=rev, epic_id=epic.pk)
    to_story = functools.partial(review.feedback_to_story, actor=cpo, event=rev)
    note = add(text="Load-test\n  the export")
    assert refusal(lambda: to_story(feedback_id=note.pk)) == {
        "scrum_team": ["choose the team whose backlog takes it"]
    }
    assert refusal(
        lambda: to_story(feedback_id=note.pk, scrum_team_id=foreign.scrum_teams[0].pk)
    ) == {"scrum_team": ["choose a Scrum Team of this Flow Team"]}
    # A note of another review is not found at this one.
    other = review_event(flow, number=2)
    elsewhere = review.feedback_add(actor=cpo, event=other, text="later", epic_id=epic.pk)
    for feedback_id in (elsewhere.pk, 10**8):
        with pytest.raises(NotFound) as missing:
            to_story(feedback_id=feedback_id, scrum_team_id=flow.scrum_teams[0].pk)
        assert str(missing.value) == "no such feedback at this review"
    assert not Story.objects.filter(title__contains="export").exists()
    key = review.review_live_key(rev.pk)
    before = live_versions([key])[key]
    made = to_story(feedback_id=note.pk, scrum_team_id=flow.scrum_teams[0].pk)
    assert live_versions([key])[key] == before + 1
    assert (made.title, made.i_want, made.so_that, made.epic, made.scrum_team) == (
        "Load-test the export",
        "Load-test\n  the export",
        "we act on the review's feedback",
        epic,
        flow.scrum_teams[0],
    )
    assert refusal(lambda: to_story(feedback_id=note.pk)) == {
        "feedback": ["already turned into the story “Load-test the export”"]
    }
    # 200 characters make a title as they are; one more is cut to 199 and an ellipsis.
    team = flow.scrum_teams[0].pk
    exact = to_story(feedback_id=add(text="t" * 200).pk, scrum_team_id=team)
    longer = to_story(feedback_id=add(text="u" * 201).pk, scrum_team_id=team)
    assert (exact.title, longer.title) == ("t" * 200, "u" * 199 + "…")


def test_a_refused_click_reads_the_note_with_its_story_or_epic_in_one_query(
    flow, foreign, rev, django_assert_num_queries
):
    """The note is read (and locked) together with the story or epic it is about: a
    refusal costs the same few queries whichever it is."""
    story = sprint_story(rev, flow.scrum_teams[0], "Pay by card", epic=an_epic(flow))
    on_story = review.feedback_add(
        actor=flow.actor("stakeholder"), event=rev, text="Split it", story_id=story.pk
    )
    on_epic = review.feedback_add(
        actor=flow.actor("stakeholder"), event=rev, text="Load-test it", epic_id=story.epic_id
    )
    stakeholder, cpo = flow.actor("stakeholder"), flow.actor("cpo")
    # A savepoint; the note with its story; the story's epic; the team; undo, release.
    with django_assert_num_queries(6), pytest.raises(PermissionRefused) as refused:
        review.feedback_to_story(actor=stakeholder, event=rev, feedback_id=on_story.pk)
    assert str(refused.value) == "the CPO and Team 1's people add stories to its backlog"
    # A savepoint; the note with its epic; the team; undo, release.
    with django_assert_num_queries(5):
        assert refusal(
            lambda: review.feedback_to_story(
                actor=cpo,
                event=rev,
                feedback_id=on_epic.pk,
                scrum_team_id=foreign.scrum_teams[0].pk,
            )
        ) == {"scrum_team": ["choose a Scrum Team of this Flow Team"]}
    assert not Story.objects.filter(title__in=["Split it", "Load-test it"]).exists()


def test_the_goal_outcome_refusals_say_why_word_for_word_and_a_met_goal_needs_no_note(flow, rev):
    csm = flow.actor("csm")
    record = functools.partial(review.goal_outcome_record, actor=csm, event=rev)
    assert refusal(lambda: record(outcome="maybe", note="")) == {
        "outcome": ["choose met, partly met or not met"]
    }
    for outcome in ("partly", "not_met"):
        assert refusal(lambda outcome=outcome: record(outcome=outcome, note=" ")) == {
            "note": ["say what was not reached, and why"]
        }
    assert refusal(lambda: record(outcome="met", note="n" * 2001)) == {
        "note": ["at most 2000 characters (this has 2001)"]
    }
    assert FlowSprint.objects.get(pk=rev.flow_sprint_id).goal_outcome == ""
    key = review.review_live_key(rev.pk)
    before = live_versions([key])[key]
    record(outcome="not_met", note="n" * 2000)
    record(outcome="met", note="")
    assert live_versions([key])[key] == before + 2
    sprint = FlowSprint.objects.get(pk=rev.flow_sprint_id)
    assert (sprint.goal_outcome, sprint.goal_outcome_note, sprint.goal_outcome_by) == (
        "met",
        "",
        flow.csm,
    )
    assert sprint.goal_outcome_at == NOW
    event_start(actor=csm, event=rev)
    event_end(actor=csm, event=rev)
    rev.refresh_from_db()
    assert refusal(lambda: record(outcome="partly", note="late")) == {
        "outcome": ["the review is done; it is a record now"]
    }
