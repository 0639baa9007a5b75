"""From history rows to items: start, finish, state and active time of every story."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from itertools import pairwise

STATES = ("backlog", "ready", "in_progress", "in_review", "done")
STARTED = frozenset({"in_progress", "in_review", "done"})
# Flow efficiency counts these as worked on; Done is started but no longer worked.
ACTIVE = frozenset({"in_progress", "in_review"})
KINDS = ("feature", "defect", "debt", "risk")


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: int
    team: int  # Scrum Team number, what people call the team
    kind: str
    points: int | None
    title: str
    epic_id: int | None = None


@dataclass(slots=True)
class Item:
    story: StoryRow
    created: date
    state: str
    start: date | None = None
    finish: date | None = None
    blocked: bool = False
    # Hours from start to finish and the part of them worked and not blocked.
    span_hours: float | None = None
    active_hours: float | None = None
    # (local date, from state or "", to state) of every change, for cumulative flow.
    moves: list[tuple[date, str, str]] = field(default_factory=list)

    @property
    def cycle_time(self) -> int | None:
        if self.start is None or self.finish is None:
            return None
        return (self.finish - self.start).days + 1

    @property
    def lead_time(self) -> int | None:
        if self.finish is None:
            return None
        return (self.finish - self.created).days + 1

    def age(self, today: date) -> int:
        """Days since a started, unfinished item started, both ends counted (the aging chart
        asks it of those items only)."""
        return (today - self.start).days + 1


def build_items(
    stories: Iterable[StoryRow],
    changes: Iterable[tuple[int, str, datetime]],
    blockers: Iterable[tuple[int, datetime, datetime | None]],
    *,
    tz: tzinfo,
    until: datetime,
) -> list[Item]:
    """Items of the stories that existed by ``until``, as their history says at that moment.

    ``changes`` are (story id, to state, at) ordered by story and time; rows at or after
    ``until`` are ignored, so a snapshot of a past day never sees later changes.
    A story's creation is its first history row.
    """
    by_story: dict[int, list[tuple[str, datetime]]] = {}
    for story_id, to_state, at in changes:
        if at < until:
            by_story.setdefault(story_id, []).append((to_state, at))
    blocked: dict[int, list[tuple[datetime, datetime]]] = {}
    for story_id, raised, cleared in blockers:
        if raised < until:
            end = until if cleared is None else min(cleared, until)
            blocked.setdefault(story_id, []).append((raised, end))

    items = []
    for story in stories:
        steps = by_story.get(story.id)
        if not steps:
            continue
        items.append(_item(story, steps, blocked.get(story.id, ()), tz=tz, until=until))
    return items


def _item(story, steps, blocked_periods, *, tz, until) -> Item:
    moves, previous = [], ""
    started_at = None
    last_done_at = None
    for to_state, at in steps:
        moves.append((at.astimezone(tz).date(), previous, to_state))
        if started_at is None and to_state in STARTED:
            started_at = at
        if to_state == "done":
            last_done_at = at
        previous = to_state
    item = Item(
        story=story,
        created=moves[0][0],
        state=previous,
        moves=moves,
        blocked=any(end >= until for _, end in blocked_periods),
    )
    if started_at is not None:
        item.start = started_at.astimezone(tz).date()
    if previous == "done" and started_at is not None:
        item.finish = last_done_at.astimezone(tz).date()
        item.span_hours = (last_done_at - started_at).total_seconds() / 3600
        item.active_hours = _active_hours(steps, blocked_periods, started_at, last_done_at)
    return item


def _active_hours(steps, blocked_periods, start: datetime, finish: datetime) -> float:
    """Hours in an active state between start and finish, minus the blocked part of them."""
    seconds = 0.0
    for (state, at), (_, next_at) in pairwise(steps):
        if state not in ACTIVE:
            continue
        lo, hi = max(at, start), min(next_at, finish)
        if hi <= lo:
            continue
        seconds += (hi - lo).total_seconds()
        for raised, cleared in blocked_periods:
            overlap = (min(hi, cleared) - max(lo, raised)).total_seconds()
            if overlap > 0:
                seconds -= overlap
    return seconds / 3600
