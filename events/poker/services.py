"""Product Backlog Refinement: planning poker and the screen's backlog writes (reads are in
events/poker/selectors.py).

Planning poker: a member of the event's Scrum Team opens a round on one of the team's
stories (one open round per event: opening another closes the open one); each member votes
privately and may change their card until the reveal; the reveal shows every card at once
and refuses later votes; the value the team agrees is saved on the story through
``backlog.services.story_update`` (versioned). A re-vote closes the round and opens the next.

The stories and acceptance criteria written here go through backlog.services, which check
who may write them; this module only makes sure the story belongs to the event's team.

Every write bumps the refinement's live topic (``refinement_live_key``) in its transaction;
the backlog services bump the planning topic, which the screen follows too.
"""

from django.db import transaction
from django.utils import timezone

from backlog import services as backlog_services
from backlog.models import AcceptanceCriterion, Epic, Story
from events.models import POKER_VALUES, Event, PokerRound, PokerVote
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_bump
from teams.permissions import Actor, can_work_story

REFINEMENT = Event.Kind.BACKLOG_REFINEMENT
TITLE_MAX = 200
CRITERION_MAX = 500


def refinement_live_key(event_id: int) -> str:
    return f"refinement:{event_id}"


# --- Who --------------------------------------------------------------------------


def may_vote(actor: Actor, event: Event) -> bool:
    """Planning poker is the event's Scrum Team's: its PO, SM and developers vote, and any
    of them runs the rounds."""
    return event.scrum_team_id is not None and can_work_story(actor, event.scrum_team_id)


def _event(actor: Actor, event: Event) -> None:
    if event.flow_team_id != actor.flow_team_id or event.kind != REFINEMENT:
        raise NotFound("no such Product Backlog Refinement in your Flow Team")


def _member(actor: Actor, event: Event) -> None:
    _event(actor, event)
    if not may_vote(actor, event):
        raise PermissionRefused("only the Scrum Team's PO, SM and developers play planning poker")


def _team_story(event: Event, story_id) -> Story:
    """A story of the event's Scrum Team; any other is not found here."""
    story = Story.objects.filter(
        pk=story_id, flow_team_id=event.flow_team_id, scrum_team_id=event.scrum_team_id
    ).first()
    if story is None:
        raise NotFound("no such story of this Scrum Team")
    return story


def _round(event: Event, round_id) -> PokerRound:
    """The event's round, its row locked for the rest of the transaction."""
    found = (
        PokerRound.objects.select_for_update()
        .select_related("story")
        .filter(pk=round_id, event=event)
        .first()
    )
    if found is None:
        raise NotFound("no such round at this refinement")
    return found


def _open(round_: PokerRound, field: str) -> None:
    if round_.closed:
        raise RuleViolation("this round is over; open a new one on the story", field=field)


def _text(text: str, limit: int, field: str, empty: str) -> str:
    text = (text or "").strip()
    if not text:
        raise RuleViolation(empty, field=field)
    if len(text) > limit:
        raise RuleViolation(f"at most {limit} characters (this has {len(text)})", field=field)
    return text


# --- Planning poker ---------------------------------------------------------------


def _start(actor: Actor, event: Event, story: Story) -> PokerRound:
    # Opens are serialised on the event's row; the partial unique constraint holds it too.
    Event.objects.select_for_update().filter(pk=event.pk).first()
    PokerRound.objects.filter(event=event, closed=False).update(
        closed=True, updated_at=timezone.now()
    )
    round_ = PokerRound.objects.create(
        event=event, story=story, opened_by=actor.user, opened_at=timezone.now()
    )
    live_bump(refinement_live_key(event.pk))
    return round_


@transaction.atomic
def round_open(*, actor: Actor, event: Event, story_id: int) -> PokerRound:
    """Open a round on a story of the team (the open round, if any, ends unagreed)."""
    _member(actor, event)
    return _start(actor, event, _team_story(event, story_id))


@transaction.atomic
def vote_cast(*, actor: Actor, event: Event, round_id: int, value: str) -> PokerVote:
    """The person's card; before the reveal it may change, after it is refused."""
    _member(actor, event)
    if value not in POKER_VALUES:
        raise RuleViolation(f"vote one of {', '.join(POKER_VALUES)}", field="value")
    round_ = _round(event, round_id)
    _open(round_, "value")
    if round_.revealed_at is not None:
        raise RuleViolation("the votes are revealed; start a re-vote to vote again", field="value")
    vote, _created = PokerVote.objects.update_or_create(
        round=round_, voter=actor.user, defaults={"value": value}
    )
    live_bump(refinement_live_key(event.pk))
    return vote


@transaction.atomic
def round_reveal(*, actor: Actor, event: Event, round_id: int) -> PokerRound:
    """Show every card of the round at once."""
    _member(actor, event)
    round_ = _round(event, round_id)
    _open(round_, "round")
    if round_.revealed_at is not None:
        raise RuleViolation("the votes are already revealed", field="round")
    if not round_.votes.exists():
        raise RuleViolation("nobody has voted yet", field="round")
    round_.revealed_at = timezone.now()
    round_.save(update_fields=["revealed_at", "updated_at"])
    live_bump(refinement_live_key(event.pk))
    return round_


@transaction.atomic
def round_agree(
    *, actor: Actor, event: Event, round_id: int, points: int, expected_version: int | None
) -> PokerRound:
    """Save the agreed value on the story (versioned: a story changed since the person read
    it is a VersionConflict) and close the round."""
    _member(actor, event)
    round_ = _round(event, round_id)
    _open(round_, "points")
    if round_.revealed_at is None:
        raise RuleViolation("reveal the votes before agreeing a value", field="points")
    # The story's own service refuses points off the scale (field "points").
    backlog_services.story_update(
        actor=actor, story=round_.story, data={"points": points}, expected_version=expected_version
    )
    round_.agreed_points, round_.agreed_by, round_.closed = points, actor.user, True
    round_.save(update_fields=["agreed_points", "agreed_by", "closed", "updated_at"])
    live_bump(refinement_live_key(event.pk))
    return round_


@transaction.atomic
def round_revote(*, actor: Actor, event: Event, round_id: int) -> PokerRound:
    """Close a revealed round unagreed and open a new one on the same story."""
    _member(actor, event)
    round_ = _round(event, round_id)
    _open(round_, "round")
    if round_.revealed_at is None:
        raise RuleViolation("votes may change until the reveal; no re-vote needed", field="round")
    return _start(actor, event, round_.story)


# --- The backlog, from the refinement ----------------------------------------------


@transaction.atomic
def refinement_story_add(*, actor: Actor, event: Event, epic_id: int | None, title: str) -> Story:
    """Split an epic: a new story of the event's Scrum Team under the epic (none: a story
    without epic)."""
    _event(actor, event)
    title = _text(title, TITLE_MAX, "title", "give the story a title")
    epic = None
    if epic_id is not None:
        epic = Epic.objects.filter(pk=epic_id, flow_team_id=event.flow_team_id).first()
        if epic is None:
            raise RuleViolation("choose an epic of this Flow Team", field="epic")
    story = backlog_services.story_create(
        actor=actor, scrum_team=event.scrum_team, title=title, epic=epic
    )
    live_bump(refinement_live_key(event.pk))
    return story


@transaction.atomic
def refinement_criterion_add(
    *, actor: Actor, event: Event, story_id: int, text: str
) -> AcceptanceCriterion:
    _event(actor, event)
    story = _team_story(event, story_id)
    text = _text(text, CRITERION_MAX, "text", "write the criterion")
    criterion = backlog_services.criterion_add(actor=actor, story=story, text=text)
    live_bump(refinement_live_key(event.pk))
    return criterion


def _criterion(event: Event, criterion_id: int) -> AcceptanceCriterion:
    criterion = (
        AcceptanceCriterion.objects.select_related("story")
        .filter(
            pk=criterion_id,
            story__flow_team_id=event.flow_team_id,
            story__scrum_team_id=event.scrum_team_id,
        )
        .first()
    )
    if criterion is None:
        raise NotFound("no such acceptance criterion of this Scrum Team")
    return criterion


@transaction.atomic
def refinement_criterion_check(
    *, actor: Actor, event: Event, criterion_id: int, checked: bool
) -> AcceptanceCriterion:
    _event(actor, event)
    criterion = backlog_services.criterion_check(
        actor=actor, criterion=_criterion(event, criterion_id), checked=checked
    )
    live_bump(refinement_live_key(event.pk))
    return criterion


@transaction.atomic
def refinement_criterion_delete(*, actor: Actor, event: Event, criterion_id: int) -> None:
    _event(actor, event)
    backlog_services.criterion_delete(actor=actor, criterion=_criterion(event, criterion_id))
    live_bump(refinement_live_key(event.pk))
