"""The Daily Scrum's writes: each person's own note (yesterday / today / impediments), and
the board's moves and blockers, which go through the backlog's own services (they check
the Definition of Ready and Done and bump the planning board's live key, which the Daily
Scrum screen watches too).

Who (domain.md): the event's Scrum Team (PO, SM, developers) writes; everyone else of the
Flow Team who sees events reads; another Flow Team's Daily Scrum is not found. A person
writes only their own note."""

from django.db import transaction

from backlog import services as backlog_services
from backlog.models import Story
from events.models import DailyScrumNote, Event
from flow.models import SprintCommitment
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_bump
from teams.permissions import Actor, can_work_story

NOTE_FIELDS = ("yesterday", "today", "impediments")
NOTE_MAX = 2000
OVER = (Event.State.DONE, Event.State.CANCELLED)


def daily_live_key(event_id: int) -> str:
    """The live topic of a Daily Scrum's notes (sem/live.py)."""
    return f"daily:{event_id}"


def may_write(actor: Actor, event: Event) -> bool:
    return event.scrum_team_id is not None and can_work_story(actor, event.scrum_team_id)


def _check(actor: Actor, event: Event) -> None:
    if event.flow_team_id != actor.flow_team_id or event.kind != Event.Kind.DAILY_SCRUM:
        raise NotFound("no such Daily Scrum in your Flow Team")
    if not may_write(actor, event):
        raise PermissionRefused("the Scrum Team's PO, SM and developers write at its Daily Scrum")


@transaction.atomic
def daily_note_save(
    *,
    actor: Actor,
    event: Event,
    yesterday: str,
    today: str,
    impediments: str,
    person_id: int | None = None,
) -> DailyScrumNote:
    """The actor's own note at this Daily Scrum (created or replaced). Naming another
    person is refused: nobody speaks for someone else."""
    _check(actor, event)
    if person_id is not None and person_id != actor.user.pk:
        raise PermissionRefused("you write only your own note")
    if event.state in OVER:
        raise RuleViolation(
            f"this Daily Scrum is {event.get_state_display().lower()}", field="state"
        )
    texts = {"yesterday": yesterday, "today": today, "impediments": impediments}
    for name, text in texts.items():
        texts[name] = (text or "").strip()
        if len(texts[name]) > NOTE_MAX:
            raise RuleViolation(
                f"at most {NOTE_MAX} characters (this has {len(texts[name])})", field=name
            )
    if not any(texts.values()):
        raise RuleViolation(
            "write what you did yesterday, will do today, or what is in your way",
            field="today",
        )
    note, _created = DailyScrumNote.objects.update_or_create(
        event=event, person=actor.user, defaults=texts
    )
    live_bump(daily_live_key(event.pk))
    return note


def _board_story(actor: Actor, event: Event, story_id: int) -> Story:
    """A story on this Daily Scrum's board (committed to the team's Team Sprint); any other
    is not found."""
    if event.flow_team_id != actor.flow_team_id or event.kind != Event.Kind.DAILY_SCRUM:
        raise NotFound("no such Daily Scrum in your Flow Team")
    committed = SprintCommitment.objects.filter(
        team_sprint__flow_sprint_id=event.flow_sprint_id,
        team_sprint__scrum_team_id=event.scrum_team_id,
        story_id=story_id,
        story__flow_team_id=actor.flow_team_id,
    ).exclude(outcome=SprintCommitment.Outcome.DROPPED)
    story = Story.objects.filter(pk=story_id, pk__in=committed.values("story_id")).first()
    if story is None:
        raise NotFound("no such story on this board")
    return story


def daily_story_move(
    *, actor: Actor, event: Event, story_id: int, to_state: str, expected_version: int | None
) -> Story:
    """Move a story of the board to another column, as backlog.services.story_transition
    rules (a refused move says which rule failed)."""
    story = _board_story(actor, event, story_id)
    return backlog_services.story_transition(
        actor=actor, story=story, to_state=to_state, expected_version=expected_version
    )


def daily_blocker_raise(*, actor: Actor, event: Event, story_id: int, reason: str) -> Story:
    story = _board_story(actor, event, story_id)
    if len(reason) > 300:
        raise RuleViolation("at most 300 characters", field="blocked_reason")
    return backlog_services.blocker_raise(actor=actor, story=story, reason=reason)


def daily_blocker_clear(*, actor: Actor, event: Event, story_id: int) -> Story:
    story = _board_story(actor, event, story_id)
    return backlog_services.blocker_clear(actor=actor, story=story)
