"""Reads of the Daily Scrum screen: the team's board (the stories of the current Team
Sprint by state, each started one's age against the team's cycle-time percentiles), the
people of the Scrum Team and their notes, and who has not spoken yet.

A fixed number of queries whatever the size of the team or its sprint."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Min

from backlog.models import StateChange, Story
from events.models import DailyScrumNote, Event
from flow.metrics.figures import PERCENTILES, aging_past
from flow.metrics.items import STARTED
from flow.models import SprintCommitment
from flow.selectors import team_snapshots_newest
from teams.selectors import scrum_team_people

# The board's columns, in workflow order; a committed story still in the backlog shows in
# the first one, marked.
COLUMNS = (
    (Story.State.READY, "Ready"),
    (Story.State.IN_PROGRESS, "In progress"),
    (Story.State.IN_REVIEW, "In review"),
    (Story.State.DONE, "Done"),
)
COLUMN_OF = {Story.State.BACKLOG: Story.State.READY} | {s: s for s, _label in COLUMNS}
ORDER = [s for s, _label in COLUMNS]
LABELS = dict(COLUMNS)


@dataclass
class Board:
    columns: list[dict]
    percentiles: dict | None
    as_of: date | None
    stories: list[Story] = field(default_factory=list)


def cycle_time_percentiles(event: Event) -> tuple[dict | None, date | None]:
    """The team's cycle-time percentiles (50/70/85/95) from its newest metric snapshot, and
    that snapshot's day: one query."""
    row = (
        team_snapshots_newest(flow_team=event.flow_team, scrum_team_ids=[event.scrum_team_id])
        .values("as_of", "data__cycle_time")
        .first()
    )
    if row is None or not row["data__cycle_time"]:
        return None, None
    cycle_time = {k: v for k, v in row["data__cycle_time"].items() if v is not None}
    return (cycle_time or None), row["as_of"]


def story_starts(story_ids, tz) -> dict[int, date]:
    """Each story's start (metrics.md: the first time it entered a started state), as a
    local date of the Flow Team: one query."""
    if not story_ids:
        return {}
    rows = (
        StateChange.objects.filter(story_id__in=story_ids, to_state__in=sorted(STARTED))
        .values("story_id")
        .annotate(first=Min("at"))
        .values_list("story_id", "first")
    )
    return {story_id: first.astimezone(tz).date() for story_id, first in rows}


def age_band(age: int | None, percentiles: dict | None) -> dict | None:
    """How an age reads against the percentiles, for the board's marker: the highest
    percentile passed (None: younger than half the finished items), and the words."""
    if age is None:
        return None
    past = aging_past(age, percentiles)
    if not percentiles:
        return {"past": None, "level": "none", "words": f"{age} days old"}
    if past is None:
        words = f"{age} day{'s' if age != 1 else ''} old: younger than half the finished items"
    else:
        words = f"{age} days old: older than {past}% of the finished items"
    return {"past": past, "level": f"p{past}" if past else "young", "words": words}


def daily_board(*, event: Event, today: date) -> Board:
    """The Scrum Team's stories of the Team Sprint of the event's Flow Sprint, by state:
    four queries (commitments with stories, starts, percentiles)."""
    stories = [
        c.story
        for c in SprintCommitment.objects.filter(
            team_sprint__flow_sprint_id=event.flow_sprint_id,
            team_sprint__scrum_team_id=event.scrum_team_id,
        )
        .exclude(outcome=SprintCommitment.Outcome.DROPPED)
        .select_related("story__assignee")
        .order_by("story__rank", "story_id")
    ]
    percentiles, as_of = cycle_time_percentiles(event)
    started = [s.pk for s in stories if s.state in (Story.State.IN_PROGRESS, Story.State.IN_REVIEW)]
    starts = story_starts(started, event.flow_team.tzinfo)
    by_column: dict[str, list[Story]] = {s: [] for s in ORDER}
    for story in stories:
        start = starts.get(story.pk)
        story.age = (today - start).days + 1 if start else None
        story.band = age_band(story.age, percentiles)
        column = COLUMN_OF[story.state]
        index = ORDER.index(column)
        story.back_to = ORDER[index - 1] if index > 0 else None
        story.on_to = ORDER[index + 1] if index + 1 < len(ORDER) else None
        story.back_label, story.on_label = LABELS.get(story.back_to), LABELS.get(story.on_to)
        by_column[column].append(story)
    columns = [
        {
            "state": state,
            "label": label,
            "stories": by_column[state],
            "count": len(by_column[state]),
        }
        for state, label in COLUMNS
    ]
    return Board(columns=columns, percentiles=percentiles, as_of=as_of, stories=stories)


def percentile_legend(percentiles: dict | None) -> list[dict]:
    return [
        {"p": p, "days": percentiles.get(str(p))}
        for p in PERCENTILES
        if percentiles and percentiles.get(str(p)) is not None
    ]


def daily_people(*, event: Event) -> list[dict]:
    """The Scrum Team's people (PO, SM, developers) with their note of this Daily Scrum (or
    None: not spoken yet), in speaking order: two queries."""
    people: dict[int, dict] = {
        person.user.pk: {"user": person.user, "roles": person.role_labels, "note": None}
        for person in scrum_team_people(scrum_team_id=event.scrum_team_id)
    }
    notes = DailyScrumNote.objects.filter(event=event).select_related("person")
    for note in notes:
        person = people.setdefault(note.person_id, {"user": note.person, "roles": [], "note": None})
        person["note"] = note
    for person in people.values():
        note = person["note"]
        person["spoken"] = bool(
            note and (note.yesterday.strip() or note.today.strip() or note.impediments.strip())
        )
    return list(people.values())


def next_speaker(people: list[dict]) -> dict | None:
    """Who speaks next: the first in the round who has not spoken yet."""
    return next((p for p in people if not p["spoken"]), None)
