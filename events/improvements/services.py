"""Improvement items (domain.md): every action item of a Scrum of Scrums or a retrospective.
A Flow-level item (no Scrum Team) is listed in the Flow Backlog, a team's in its team's
backlog, each in priority order; it may name the flow metric it should move, and keeps
that metric's value of the day it was raised.

The Scrum of Scrums and retro services check who may add an item in their meeting and
call ``improvement_item_create``; closing and ordering from the backlog pages are here.
Every write bumps ``improvements:<Flow Team>`` (and the Scrum of Scrums' own topic, whose
screens list the open items) in its transaction.
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from events.improvements.selectors import metric_now
from events.models import ActionItem
from flow.metrics.improvement import BY_KEY
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_bump
from teams.permissions import Actor, can_close_improvement, can_prioritise_improvements

MOVES = ("up", "down", "top")


def improvements_live_key(flow_team_id: int) -> str:
    """The live topic of a Flow Team's improvement items (the Flow Backlog, the teams'
    improvement lists, the open items on retro and Scrum of Scrums screens)."""
    return f"improvements:{flow_team_id}"


def sos_actions_live_key(flow_team_id: int) -> str:
    """The live topic of the Flow Team's Scrum of Scrums action items: an item closed on
    any Scrum of Scrums (or in a backlog) leaves every later one's screen."""
    return f"sos-actions:{flow_team_id}"


def _bump(flow_team_id: int, *keys: str) -> None:
    live_bump(improvements_live_key(flow_team_id), sos_actions_live_key(flow_team_id), *keys)


def check_metric(metric: str | None) -> str:
    metric = (metric or "").strip()
    if metric and metric not in BY_KEY:
        raise RuleViolation("choose one of the flow metrics listed, or none", field="metric")
    return metric


def improvement_item_create(
    *, event, text: str, owner_id: int, due_date, scrum_team_id: int | None, metric: str
) -> ActionItem:
    """A new item at the end of its backlog, with the metric's value of today when it names
    one. The caller has checked who adds it, the text, the owner and the due date; this
    runs inside the caller's transaction."""
    metric = check_metric(metric)
    before, as_of = (None, None)
    if metric:
        before, as_of = metric_now(event.flow_team_id, scrum_team_id, metric)
    # Two items added at once may share a priority: the backlog orders ties by age.
    last = ActionItem.objects.filter(
        event__flow_team_id=event.flow_team_id, scrum_team_id=scrum_team_id, done=False
    ).aggregate(last=Max("priority"))["last"]
    item = ActionItem.objects.create(
        event=event,
        text=text,
        owner_id=owner_id,
        due_date=due_date,
        scrum_team_id=scrum_team_id,
        priority=(last or 0) + 1,
        metric=metric,
        metric_before=before,
        metric_before_as_of=as_of,  # metric_now gives no day without a value
    )
    _bump(event.flow_team_id)
    return item


def improvement_item_done(item: ActionItem, actor: Actor, *keys: str) -> ActionItem:
    """Mark a locked, open item done (when and by whom): its age stops there."""
    if item.done:
        raise RuleViolation("this item was closed already", field="done")
    item.done, item.done_at, item.done_by = True, timezone.now(), actor.user
    item.save(update_fields=["done", "done_at", "done_by", "updated_at"])
    _bump(actor.flow_team_id, *keys)
    return item


def _locked_item(actor: Actor, item_id: int) -> ActionItem:
    item = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("event")
        .filter(pk=item_id, event__flow_team_id=actor.flow_team_id)
        .first()
    )
    if item is None:
        raise NotFound("no such improvement item in your Flow Team")
    return item


@transaction.atomic
def improvement_item_close(*, actor: Actor, item_id: int) -> ActionItem:
    """Done, from a backlog page: the item's owner, or whoever orders its backlog."""
    item = _locked_item(actor, item_id)
    if not can_close_improvement(actor, owner_id=item.owner_id, scrum_team_id=item.scrum_team_id):
        raise PermissionRefused(
            "the item's owner closes it, or whoever orders its backlog "
            "(the CSM or the CPO for the Flow Backlog, the team's PO or SM for a team's)"
        )
    return improvement_item_done(item, actor)


@transaction.atomic
def improvement_item_move(*, actor: Actor, item_id: int, move: str) -> list[ActionItem]:
    """One step up or down, or to the top, of its backlog's open items; the backlog is
    renumbered 1..n in one statement (a few dozen rows at most), under a lock of its rows so
    two people's moves never interleave."""
    if move not in MOVES:
        raise RuleViolation("move up, down or to the top", field="move")
    item = _locked_item(actor, item_id)
    if not can_prioritise_improvements(actor, item.scrum_team_id):
        raise PermissionRefused(
            "the CSM and the CPO order the Flow Backlog; a team's PO and SM order its items"
        )
    if item.done:
        raise RuleViolation("a done item has no place in the order any more", field="move")
    backlog = list(
        ActionItem.objects.select_for_update()
        .filter(
            event__flow_team_id=actor.flow_team_id,
            scrum_team_id=item.scrum_team_id,
            done=False,
        )
        .order_by("priority", "created_at", "pk")
    )
    at = next(i for i, row in enumerate(backlog) if row.pk == item.pk)
    # One step down from the last inserts past the end, which list.insert takes as the end.
    to = {"up": max(at - 1, 0), "down": at + 1, "top": 0}[move]
    backlog.insert(to, backlog.pop(at))
    for position, row in enumerate(backlog, start=1):
        row.priority = position
    ActionItem.objects.bulk_update(backlog, ["priority"])
    _bump(actor.flow_team_id)
    return backlog
