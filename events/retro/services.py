"""Retrospectives (Team Sprint Retrospective, Flow Sprint Retrospective): the writes (reads
are in events/retro/selectors.py).

A board moves through phases: collect → group → vote → discuss → closed. Cards are written
privately during collect and revealed together when the facilitator moves on; an anonymous
retro keeps no author on its cards, only ``author_key`` (a keyed hash of retro and person,
compared here and never shown). Dots are limited per person: the count and the insert run
under a lock of the retrospective's row, so concurrent clicks never pass the limit.

Every write bumps the retro's live topic (``retro_live_key``) in its transaction.
"""

import hashlib
import hmac
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events import kinds
from events.improvements.services import improvement_item_create, improvement_item_done
from events.models import ActionItem, Event, RetroCard, Retrospective, RetroVote
from events.retro.selectors import retro_live_key, same_series
from events.services import event_outputs_fill
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_bump
from teams.models import Membership
from teams.permissions import Actor, can_join_retro, can_run_event

RETRO_KINDS = (Event.Kind.TEAM_RETRO, Event.Kind.FLOW_RETRO)
PHASES = [p for p, _label in Retrospective.Phase.choices]
CARD_MAX = 500
ACTION_MAX = 300


def author_key(retro_id: int, user_id: int) -> str:
    message = f"retro-card:{retro_id}:{user_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


# --- Who --------------------------------------------------------------------------


def may_join(actor: Actor, event: Event) -> bool:
    return can_join_retro(
        actor, flow_level=event.kind == Event.Kind.FLOW_RETRO, scrum_team_id=event.scrum_team_id
    )


def may_facilitate(actor: Actor, event: Event) -> bool:
    """The CSM for the flow retro, the team's SM for a team retro: who runs the event and
    takes part in it (the CSM does not sit in a Scrum Team's own retro)."""
    return may_join(actor, event) and can_run_event(
        actor, facilitator_id=event.facilitator_id, scrum_team_id=event.scrum_team_id
    )


def _check(actor: Actor, event: Event, *, facilitate: bool = False) -> None:
    if event.flow_team_id != actor.flow_team_id or event.kind not in RETRO_KINDS:
        raise NotFound("no such retrospective in your Flow Team")
    if facilitate and not may_facilitate(actor, event):
        raise PermissionRefused("the retro's facilitator does this")
    if not facilitate and not may_join(actor, event):
        raise PermissionRefused("only the retro's participants write and vote here")


def _locked(event: Event) -> Retrospective:
    """The event's retro, its row locked for the rest of the transaction."""
    retro_ensure(event=event)
    return Retrospective.objects.select_for_update().get(event_id=event.pk)


def _in_phase(retro: Retrospective, phase: str, *, field: str) -> None:
    if retro.phase != phase:
        wanted = Retrospective.Phase(phase).label.lower()
        raise RuleViolation(
            f"the retro is at “{retro.get_phase_display()}”; this is done at {wanted}",
            field=field,
        )


def _text(text: str, limit: int, field: str) -> str:
    text = text.strip()  # the pages always send a string (an empty one when left out)
    if not text:
        raise RuleViolation("write something first", field=field)
    if len(text) > limit:
        raise RuleViolation(f"at most {limit} characters (this has {len(text)})", field=field)
    return text


# --- Services ---------------------------------------------------------------------


@transaction.atomic
def retro_ensure(*, event: Event) -> Retrospective:
    """The board of a retro event (created on first use, with the defaults)."""
    if event.kind not in RETRO_KINDS:
        raise NotFound("this event is not a retrospective")
    retro, _created = Retrospective.objects.get_or_create(event=event)
    return retro


@transaction.atomic
def retro_configure(
    *, actor: Actor, event: Event, format: str, votes_per_person: int, anonymous: bool
) -> Retrospective:
    """The facilitator's choice of format, dots per person and anonymity, while cards are
    collected; format and anonymity only before the first card."""
    _check(actor, event, facilitate=True)
    retro = _locked(event)
    _in_phase(retro, Retrospective.Phase.COLLECT, field="format")
    if format not in Retrospective.COLUMNS:
        raise RuleViolation("choose one of the formats offered", field="format")
    if not 1 <= votes_per_person <= 20:
        raise RuleViolation("between 1 and 20 dots per person", field="votes_per_person")
    if (format != retro.format or anonymous != retro.anonymous) and retro.cards.exists():
        raise RuleViolation(
            "cards are already written: format and anonymity stay as they are", field="format"
        )
    retro.format, retro.votes_per_person, retro.anonymous = format, votes_per_person, anonymous
    retro.save(update_fields=["format", "votes_per_person", "anonymous", "updated_at"])
    live_bump(retro_live_key(event.pk))
    return retro


@transaction.atomic
def retro_phase(*, actor: Actor, event: Event, to: str) -> Retrospective:
    """The facilitator moves the board one phase on (or one back, but never back to
    collect: revealed cards stay revealed)."""
    _check(actor, event, facilitate=True)
    retro = _locked(event)
    if to not in PHASES:
        raise RuleViolation("choose a phase of the retro", field="phase")
    now, wanted = PHASES.index(retro.phase), PHASES.index(to)
    if abs(wanted - now) != 1 or to == Retrospective.Phase.COLLECT:
        raise RuleViolation(
            f"the retro is at “{retro.get_phase_display()}”: it moves one step at a time, "
            "and revealed cards are never hidden again",
            field="phase",
        )
    retro.phase = to
    retro.save(update_fields=["phase", "updated_at"])
    if to == Retrospective.Phase.CLOSED:
        _record_actions(actor, event)
    live_bump(retro_live_key(event.pk))
    return retro


def _action_line(action: ActionItem) -> str:
    owner = action.owner.display_name if action.owner else "no owner"
    metric = f"; should move {action.get_metric_display().lower()}" if action.metric else ""
    return f"{action.text} ({owner}, due {action.due_date:%d %b %Y}{metric})"


def _record_actions(actor: Actor, event: Event) -> None:
    """Closing the board records its action items as the event's output, in their backlog's
    order: the Flow Sprint Retrospective's are the prioritised improvement items."""
    actions = ActionItem.objects.filter(event=event).select_related("owner")
    actions = actions.order_by("done", "priority", "created_at", "pk")
    lines = [f"{n}. {_action_line(a)}" for n, a in enumerate(actions, start=1)]
    slug = kinds.OUTPUTS[event.kind][0][0]
    event_outputs_fill(event=event, outputs={slug: "\n".join(lines)}, by=actor.user)


@transaction.atomic
def card_add(*, actor: Actor, event: Event, column: int, text: str) -> RetroCard:
    _check(actor, event)
    retro = _locked(event)
    _in_phase(retro, Retrospective.Phase.COLLECT, field="text")
    if not 0 <= column < len(retro.columns):
        raise RuleViolation("choose one of the board's columns", field="column")
    card = RetroCard.objects.create(
        retrospective=retro,
        column=column,
        text=_text(text, CARD_MAX, "text"),
        author=None if retro.anonymous else actor.user,
        author_key=author_key(retro.pk, actor.user.pk),
    )
    live_bump(retro_live_key(event.pk))
    return card


def _own_card(actor: Actor, retro: Retrospective, card_id: int) -> RetroCard:
    card = RetroCard.objects.filter(retrospective=retro, pk=card_id).first()
    if card is None:
        raise NotFound("no such card on this board")
    if card.author_key != author_key(retro.pk, actor.user.pk):
        raise PermissionRefused("only the card's author changes it")
    return card


@transaction.atomic
def card_edit(*, actor: Actor, event: Event, card_id: int, column: int, text: str) -> RetroCard:
    _check(actor, event)
    retro = _locked(event)
    card = _own_card(actor, retro, card_id)
    _in_phase(retro, Retrospective.Phase.COLLECT, field="text")
    if not 0 <= column < len(retro.columns):
        raise RuleViolation("choose one of the board's columns", field="column")
    card.text, card.column = _text(text, CARD_MAX, "text"), column
    card.save(update_fields=["text", "column", "updated_at"])
    live_bump(retro_live_key(event.pk))
    return card


@transaction.atomic
def card_delete(*, actor: Actor, event: Event, card_id: int) -> None:
    _check(actor, event)
    retro = _locked(event)
    card = _own_card(actor, retro, card_id)
    _in_phase(retro, Retrospective.Phase.COLLECT, field="text")
    card.delete()
    live_bump(retro_live_key(event.pk))


@transaction.atomic
def card_group(*, actor: Actor, event: Event, card_id: int, onto_id: int | None) -> RetroCard:
    """Put a card (with the cards grouped under it) into the group of ``onto``; no
    ``onto``: the card stands alone again."""
    _check(actor, event)
    retro = _locked(event)
    _in_phase(retro, Retrospective.Phase.GROUP, field="onto")
    cards = {c.pk: c for c in RetroCard.objects.filter(retrospective=retro)}
    card = cards.get(card_id)
    if card is None:
        raise NotFound("no such card on this board")
    if onto_id is None:
        root_id = None
    else:
        onto = cards.get(onto_id)
        if onto is None:
            raise RuleViolation("choose a card of this board to group with", field="onto")
        root_id = onto.group_id or onto.pk  # a group's root card, itself on this board
        if root_id == card.pk:
            raise RuleViolation("a card cannot be grouped with itself", field="onto")
        # The cards grouped under it come along.
        RetroCard.objects.filter(retrospective=retro, group_id=card.pk).update(group_id=root_id)
    card.group_id = root_id
    card.save(update_fields=["group", "updated_at"])
    live_bump(retro_live_key(event.pk))
    return card


@transaction.atomic
def vote_cast(*, actor: Actor, event: Event, card_id: int) -> RetroVote:
    """One dot on a card's group. The retro row is locked first, so the count and the
    insert of concurrent clicks run one after another: never past the limit."""
    _check(actor, event)
    retro = _locked(event)
    _in_phase(retro, Retrospective.Phase.VOTE, field="vote")
    card = RetroCard.objects.filter(retrospective=retro, pk=card_id).first()
    if card is None:
        raise NotFound("no such card on this board")
    used = RetroVote.objects.filter(card__retrospective=retro, voter=actor.user).count()
    if used >= retro.votes_per_person:
        raise RuleViolation(
            f"you have used all your {retro.votes_per_person} dots; take one back to move it",
            field="vote",
        )
    vote = RetroVote.objects.create(card_id=card.group_id or card.pk, voter=actor.user)
    live_bump(retro_live_key(event.pk))
    return vote


@transaction.atomic
def vote_take_back(*, actor: Actor, event: Event, card_id: int) -> None:
    _check(actor, event)
    retro = _locked(event)
    _in_phase(retro, Retrospective.Phase.VOTE, field="vote")
    # The voter's dots on one card are alike (no screen shows when one was cast): any goes.
    vote = RetroVote.objects.filter(
        card__retrospective=retro, card_id=card_id, voter=actor.user
    ).first()
    if vote is None:
        raise RuleViolation("you have no dot on this card", field="vote")
    vote.delete()
    live_bump(retro_live_key(event.pk))


@transaction.atomic
def action_add(
    *,
    actor: Actor,
    event: Event,
    text: str,
    owner_id: int | None,
    due_date: date | None,
    metric: str = "",
) -> ActionItem:
    """An action item of the discussion, with its owner (a member of the Flow Team) and
    due date: an improvement item, optionally naming the flow metric it should move."""
    _check(actor, event)
    retro = _locked(event)
    _in_phase(retro, Retrospective.Phase.DISCUSS, field="text")
    text = _text(text, ACTION_MAX, "text")
    if owner_id is None:
        raise RuleViolation("choose who owns it", field="owner")
    member = Membership.objects.filter(flow_team_id=actor.flow_team_id, user_id=owner_id).first()
    if member is None:
        raise RuleViolation("choose an owner from the Flow Team's members", field="owner")
    if due_date is None:
        raise RuleViolation("give a due date", field="due_date")
    if due_date < timezone.localdate():
        raise RuleViolation("the due date is in the past", field="due_date")
    # A team retro's actions are its team's; the flow retro's go to the Flow Backlog.
    action = improvement_item_create(
        event=event,
        text=text,
        owner_id=owner_id,
        due_date=due_date,
        scrum_team_id=event.scrum_team_id,
        metric=metric,
    )
    live_bump(retro_live_key(event.pk))
    return action


@transaction.atomic
def action_done(*, actor: Actor, event: Event, action_id: int) -> ActionItem:
    """Close an open action of this retro or of an earlier one of the same kind and team
    (reviewed at the top of the board)."""
    _check(actor, event)
    action = (
        ActionItem.objects.select_for_update()
        .filter(pk=action_id, event__in=same_series(event, include_self=True))
        .first()
    )
    if action is None:
        raise NotFound("no such action item in this retro or its predecessors")
    return improvement_item_done(action, actor, retro_live_key(event.pk))
