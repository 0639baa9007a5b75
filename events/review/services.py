"""The Flow Sprint Review: its writes (reads are in events/review/selectors.py).

- Feedback: anyone in the room writes it (stakeholders included, domain.md), on a demoed
  story or on an epic; one click turns it into a new story of the Flow Backlog through
  ``backlog.services.story_create``, once: the feedback row is locked first, so a second
  click (or two at once) is told what it already became.
- The demo order: the CSM (or the review's facilitator) sets the order the teams show
  their done stories in.
- The Flow Sprint Goal's outcome: met / partly met / not met, a note when not met, stored
  on the Flow Sprint even if the cadence job closed it that day (its frozen figures are
  not touched).
- Outputs: filled from what happened and recorded on the event (``event_outputs_record``),
  optionally ending it (``event_end``).

Every write bumps the review's live topic (``review_live_key``) in its transaction.
"""

from django.db import transaction
from django.utils import timezone

from backlog.models import Epic, Story
from backlog.services import story_create
from events import kinds
from events import services as event_services
from events.models import Event, ReviewDemoSlot, ReviewFeedback
from events.review import selectors
from flow.models import FlowSprint
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_bump
from teams.models import ScrumTeam
from teams.permissions import Actor, can_edit_story, can_run_event

FEEDBACK_MAX = 2000
NOTE_MAX = 2000
OVER = (Event.State.DONE, Event.State.CANCELLED)


def review_live_key(event_id: int) -> str:
    """The live topic of one review's screen (sem/live.py)."""
    return f"review:{event_id}"


def may_facilitate(actor: Actor, event: Event) -> bool:
    """The demo order, the goal's outcome and the outputs: the CSM or the named facilitator."""
    return can_run_event(actor, facilitator_id=event.facilitator_id, scrum_team_id=None)


def _check(actor: Actor, event: Event, *, facilitate: bool = False) -> None:
    if event.flow_team_id != actor.flow_team_id or event.kind != Event.Kind.REVIEW:
        raise NotFound("no such Flow Sprint Review in your Flow Team")
    if facilitate and not may_facilitate(actor, event):
        raise PermissionRefused("the CSM facilitates the review")


def _open(event: Event, field: str) -> None:
    if event.state in OVER:
        raise RuleViolation(
            f"the review is {event.get_state_display().lower()}; it is a record now", field=field
        )


def _text(text: str, limit: int, field: str, empty: str) -> str:
    text = (text or "").strip()
    if not text:
        raise RuleViolation(empty, field=field)
    if len(text) > limit:
        raise RuleViolation(f"at most {limit} characters (this has {len(text)})", field=field)
    return text


# --- Feedback ------------------------------------------------------------------------


@transaction.atomic
def feedback_add(
    *,
    actor: Actor,
    event: Event,
    text: str,
    story_id: int | None = None,
    epic_id: int | None = None,
) -> ReviewFeedback:
    """A note from anyone in the room on a demoed story or on an epic of the Flow Team."""
    _check(actor, event)
    _open(event, "text")
    text = _text(text, FEEDBACK_MAX, "text", "write the feedback first")
    if (story_id is None) == (epic_id is None):
        raise RuleViolation("choose the story or the epic it is about", field="about")
    story = epic = None
    if story_id is not None:
        story = next((s for s in selectors.demo_stories(event) if s.pk == story_id), None)
        if story is None:
            raise RuleViolation("choose one of the stories shown at this review", field="about")
    else:
        epic = Epic.objects.filter(pk=epic_id, flow_team_id=actor.flow_team_id).first()
        if epic is None:
            raise RuleViolation("choose an epic of this Flow Team", field="about")
    feedback = ReviewFeedback.objects.create(
        event=event, story=story, epic=epic, author=actor.user, text=text
    )
    live_bump(review_live_key(event.pk))
    return feedback


@transaction.atomic
def feedback_to_story(
    *, actor: Actor, event: Event, feedback_id: int, scrum_team_id: int | None = None
) -> Story:
    """Turn a feedback note into a new story: in the story's team, or for feedback on an
    epic in the team chosen (``scrum_team_id``), linked to the epic where there is one.
    Whoever may create stories in that team does it (its PO, SM, developers; the CPO).
    Only once: the feedback row is locked, a second click is told what it became."""
    _check(actor, event)
    feedback = (
        ReviewFeedback.objects.select_for_update(of=("self",))
        .filter(pk=feedback_id, event=event)
        .select_related("story", "epic")
        .first()
    )
    if feedback is None:
        raise NotFound("no such feedback at this review")
    if feedback.backlog_story_id is not None:
        # The story is there: deleting it first sets this row's link to null, which waits
        # for the lock held on the row here.
        made = Story.objects.values_list("title", flat=True).get(pk=feedback.backlog_story_id)
        raise RuleViolation(f"already turned into the story “{made}”", field="feedback")
    if feedback.story is not None:
        team_id, epic = feedback.story.scrum_team_id, feedback.story.epic
    else:
        if scrum_team_id is None:
            raise RuleViolation("choose the team whose backlog takes it", field="scrum_team")
        team_id, epic = scrum_team_id, feedback.epic
    team = ScrumTeam.objects.filter(pk=team_id, flow_team_id=actor.flow_team_id).first()
    if team is None:
        raise RuleViolation("choose a Scrum Team of this Flow Team", field="scrum_team")
    if not can_edit_story(actor, team.pk):
        raise PermissionRefused(f"the CPO and {team.name}'s people add stories to its backlog")
    title = " ".join(feedback.text.split())
    if len(title) > 200:
        title = title[:199] + "…"
    fields = {"i_want": feedback.text, "so_that": "we act on the review's feedback"}
    if epic is not None:
        fields["epic"] = epic
    story = story_create(actor=actor, scrum_team=team, title=title, **fields)
    feedback.backlog_story = story
    feedback.save(update_fields=["backlog_story", "updated_at"])
    live_bump(review_live_key(event.pk))
    return story


# --- The facilitator: demo order, the goal's outcome, outputs --------------------------


@transaction.atomic
def demo_order_set(*, actor: Actor, event: Event, team_ids: list[int]) -> list[int]:
    """The order the Scrum Teams show their work in: every team of the Flow Team once.
    At most 15 rows, rewritten together under the event's lock."""
    _check(actor, event, facilitate=True)
    _open(event, "order")
    Event.objects.select_for_update().filter(pk=event.pk).first()
    teams = set(
        ScrumTeam.objects.filter(flow_team_id=event.flow_team_id).values_list("pk", flat=True)
    )
    if len(team_ids) != len(set(team_ids)) or set(team_ids) != teams:
        raise RuleViolation("give every Scrum Team of the Flow Team once", field="order")
    ReviewDemoSlot.objects.filter(event=event).delete()
    ReviewDemoSlot.objects.bulk_create(
        ReviewDemoSlot(event=event, scrum_team_id=pk, position=n)
        for n, pk in enumerate(team_ids, start=1)
    )
    live_bump(review_live_key(event.pk))
    return team_ids


def demo_order_step(*, actor: Actor, event: Event, scrum_team_id: int, step: str) -> list[int]:
    """One team one place earlier (``up``) or later (``down``): the keyboard's way."""
    order = [t.pk for t in selectors.demo_team_order(event)]
    if scrum_team_id not in order:
        raise RuleViolation("choose a Scrum Team of this Flow Team", field="team")
    if step not in ("up", "down"):
        raise RuleViolation("move it up or down", field="step")
    at = order.index(scrum_team_id)
    to = at - 1 if step == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
    return demo_order_set(actor=actor, event=event, team_ids=order)


@transaction.atomic
def goal_outcome_record(*, actor: Actor, event: Event, outcome: str, note: str) -> FlowSprint:
    """Whether the Flow Sprint Goal was met, with a note (required when partly or not met).
    Allowed on a closed sprint: only the outcome's fields are written."""
    _check(actor, event, facilitate=True)
    _open(event, "outcome")
    if outcome not in FlowSprint.GoalOutcome.values:
        raise RuleViolation("choose met, partly met or not met", field="outcome")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise RuleViolation(f"at most {NOTE_MAX} characters (this has {len(note)})", field="note")
    if outcome != FlowSprint.GoalOutcome.MET and not note:
        raise RuleViolation("say what was not reached, and why", field="note")
    sprint = FlowSprint.objects.select_for_update().get(pk=event.flow_sprint_id)
    sprint.goal_outcome, sprint.goal_outcome_note = outcome, note
    sprint.goal_outcome_at, sprint.goal_outcome_by = timezone.now(), actor.user
    sprint.save(
        update_fields=["goal_outcome", "goal_outcome_note", "goal_outcome_at", "goal_outcome_by"]
    )
    live_bump(review_live_key(event.pk))
    return sprint


def outputs_from_review(event: Event) -> dict[str, str]:
    """The review's outputs (events/kinds.py) as they stand: the demoed stories by team,
    the feedback and what each note became, the goal's outcome and the top of the roadmap."""
    demo = selectors.demo_list(event)
    demoed = [
        f"{row['team'].name}: " + "; ".join(s.title for s in row["stories"])
        for row in demo
        if row["stories"]
    ]
    feedback = selectors.review_feedback(event)
    notes = []
    for item in feedback:
        about = item.story.title if item.story else item.epic.title if item.epic else "the sprint"
        became = (
            f" → story “{item.backlog_story.title}” in {item.backlog_story.scrum_team.name}"
            if item.backlog_story
            else " (not turned into a backlog item)"
        )
        notes.append(f"On {about}: {item.text}{became}")
    sprint = FlowSprint.objects.get(pk=event.flow_sprint_id)
    goal = (
        f"Flow Sprint Goal {sprint.get_goal_outcome_display().lower()}"
        + (f": {sprint.goal_outcome_note}" if sprint.goal_outcome_note else "")
        if sprint.goal_outcome
        else "Flow Sprint Goal outcome not recorded"
    )
    top = "; ".join(row["epic"].title for row in selectors.top_epics(event, feedback))
    return {
        "demoed": "\n".join(demoed) or "No story met the Definition of Done.",
        "feedback": "\n".join(notes) or "No feedback.",
        "reprioritised": f"{goal}. Top of the roadmap after the review: {top or 'no open epic'}.",
    }


@transaction.atomic
def review_outputs_record(*, actor: Actor, event: Event, end: bool = False) -> Event:
    """Record the outputs from what happened (replacing what was recorded before) and, with
    ``end``, end the review. The event must be running (or done, to record again)."""
    _check(actor, event, facilitate=True)
    event = Event.objects.select_for_update().get(pk=event.pk)
    outputs = {
        slug: text[: kinds.OUTPUT_MAX_CHARS] for slug, text in outputs_from_review(event).items()
    }
    event = event_services.event_outputs_record(
        actor=actor, event=event, outputs=outputs, read_version=event.outputs_version
    )
    if end:
        event = event_services.event_end(actor=actor, event=event)
    live_bump(review_live_key(event.pk))
    return event
