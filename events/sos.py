"""The Scrum of Scrums draft: what happened to each Scrum Team since the last Scrum of
Scrums, turned into a first answer to each of the five questions (domain.md).

Read-only and in a fixed number of queries whatever the number of teams: one loader
(``sos_activity``) reads every source for the whole Flow Team, and a pure function
(``sos_drafts``) turns it into text per team. The services store the draft when a
team's report is first opened; the team's PO or SM (or the CSM) edits it from there.

Sources, by question:

1. done since we last met: dependencies the team committed to or counter-proposed;
2. will do before we meet again: what the team provides to others, needed by the
   current or next Flow Sprint;
3. impediments: stories blocked (still, or blocked and cleared since), impediments
   from the team's Daily Scrum notes, new risks of the team, items aging past the
   team's 85th percentile of cycle time (the newest metric snapshot);
4. in another team's way: dependencies the team provides that are red (the roadmap's
   colour rule, flow/roadmap.py) or that it counter-proposed and wait for an answer;
5. dependencies: raised, accepted or re-negotiated since, on either side, and the
   team's own needs that are red.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import F
from django.utils import timezone

from backlog.models import Blocker, Dependency, DependencyStep, Story
from events.models import DailyScrumNote, Event
from flow.metrics.figures import aging_past
from flow.models import Risk
from flow.roadmap import RED, dependency_colour, sprints_due_soon, stories_planned_sprint
from flow.selectors import team_snapshots_newest

# Without an earlier Scrum of Scrums the draft looks back one week (the meeting is weekly).
DEFAULT_LOOKBACK_DAYS = 7
AGING_PERCENTILE = "85"


@dataclass
class Activity:
    """Everything the drafts are made of, for one Flow Team, since one moment."""

    since: datetime
    today: date
    tz: object = None
    blocked: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    dependencies: list[dict] = field(default_factory=list)
    risks: list[dict] = field(default_factory=list)
    aging: dict[int, list[dict]] = field(default_factory=dict)
    notes: list[dict] = field(default_factory=list)


def sos_previous(*, event: Event) -> Event | None:
    """The Scrum of Scrums before this one in its Flow Team (a cancelled one does not
    count). One query."""
    return (
        Event.objects.filter(
            flow_team_id=event.flow_team_id,
            kind=Event.Kind.SCRUM_OF_SCRUMS,
            starts_at__lt=event.starts_at,
        )
        .exclude(state=Event.State.CANCELLED)
        .order_by("-starts_at")
        .first()
    )


def sos_since(*, event: Event, previous: Event | None) -> datetime:
    """Where "since the last Scrum of Scrums" starts: when the previous one began (its
    real start when it ran), else a week before this one."""
    if previous is not None:
        return previous.started_at or previous.starts_at
    return event.starts_at - timedelta(days=DEFAULT_LOOKBACK_DAYS)


def _person(first: str | None, email: str | None) -> str:
    return first or (email or "").split("@")[0] or "someone"


def sos_activity(*, flow_team, since: datetime, today: date | None = None) -> Activity:
    """Load every source of the drafts for the whole Flow Team: nine queries."""
    today = today or flow_team.today()
    found = Activity(since=since, today=today, tz=flow_team.tzinfo)
    # Stories blocked now, and blockers raised since (some already cleared).
    found.blocked = list(
        Story.objects.filter(flow_team=flow_team, blocked=True)
        .exclude(state=Story.State.DONE)
        .order_by("scrum_team_id", "rank")
        .values("pk", "scrum_team_id", "title", "blocked_reason")
    )
    now_blocked = {row["pk"] for row in found.blocked}
    for row in (
        Blocker.objects.filter(story__flow_team=flow_team, raised_at__gte=since)
        .order_by("raised_at")
        .values("story_id", "story__scrum_team_id", "story__title", "reason", "cleared_at")
    ):
        if row["story_id"] not in now_blocked and row["cleared_at"] is not None:
            found.blocked.append(
                {
                    "pk": row["story_id"],
                    "scrum_team_id": row["story__scrum_team_id"],
                    "title": row["story__title"],
                    "blocked_reason": row["reason"],
                    "cleared": True,
                }
            )
    found.steps = list(
        DependencyStep.objects.filter(dependency__flow_team=flow_team, at__gte=since)
        .order_by("at", "pk")
        .values(
            "kind",
            "at",
            "flow_sprint__number",
            "by__full_name",
            "by__email",
            "dependency_id",
            **_dependency_columns("dependency__"),
        )
    )
    found.dependencies = _open_dependencies(flow_team, today)
    found.risks = list(
        Risk.objects.filter(flow_team=flow_team, scrum_team__isnull=False, created_at__gte=since)
        .order_by("created_at", "pk")
        .values("scrum_team_id", "title", "impact", "roam", "owner__full_name", "owner__email")
    )
    found.aging = _aging(flow_team, today)
    found.notes = list(
        DailyScrumNote.objects.filter(
            event__flow_team=flow_team,
            event__kind=Event.Kind.DAILY_SCRUM,
            event__scrum_team__isnull=False,
            updated_at__gte=since,
        )
        .exclude(impediments="")
        .order_by("event__starts_at", "pk")
        .values(
            "event__scrum_team_id",
            "event__starts_at",
            "impediments",
            "person__full_name",
            "person__email",
        )
    )
    return found


def _dependency_columns(prefix: str = "") -> dict:
    """The columns naming a dependency's two sides, under short names."""
    names = {
        "from_team": "from_story__scrum_team_id",
        "from_team_name": "from_story__scrum_team__name",
        "from_story_title": "from_story__title",
        "from_epic_title": "from_epic__title",
        "to_team": "to_story__scrum_team_id",
        "to_team_name": "to_story__scrum_team__name",
        "to_story_title": "to_story__title",
        "to_epic_title": "to_epic__title",
        "needed_by_number": "needed_by__number",
    }
    return {alias: F(prefix + path) for alias, path in names.items()}


def _open_dependencies(flow_team, today: date) -> list[dict]:
    """Open dependencies with the roadmap's colour (flow/roadmap.py): three queries."""
    rows = list(
        Dependency.objects.filter(flow_team=flow_team, state=Dependency.State.OPEN)
        .order_by("pk")
        .values(
            "pk",
            "contract",
            "to_story_id",
            "to_story__state",
            "committed_sprint__number",
            "proposed_sprint__number",
            **_dependency_columns(),
        )
    )
    planned = stories_planned_sprint({r["to_story_id"] for r in rows if r["to_story_id"]})
    soon = sprints_due_soon(flow_team, today)
    for r in rows:
        sprint = r["committed_sprint__number"] or planned.get(r["to_story_id"])
        r["planned"] = sprint
        r["due_soon"] = r["needed_by_number"] is not None and (
            r["needed_by_number"] in soon or bool(soon and r["needed_by_number"] < min(soon))
        )
        r["colour"] = dependency_colour(
            needed_by=r["needed_by_number"],
            planned=sprint,
            provided=r["to_story__state"] == Story.State.DONE,
            soon=soon,
        )
    return rows


def _aging(flow_team, today: date) -> dict[int, list[dict]]:
    """Per Scrum Team, its started items older than its 85th percentile of cycle time, from
    the newest snapshot of each team (aged on to today), still unfinished now: two queries."""
    rows = team_snapshots_newest(flow_team=flow_team).values(
        "scrum_team_id", "as_of", "data__aging", "data__cycle_time"
    )
    candidates: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        cycle_time = row["data__cycle_time"] or {}
        limit = cycle_time.get(AGING_PERCENTILE)
        aging = row["data__aging"] or {}
        if not limit or not aging.get("rows"):
            continue
        columns = aging["columns"]
        for values in aging["rows"]:
            item = dict(zip(columns, values, strict=False))
            age = item["age"] + (today - row["as_of"]).days
            if (aging_past(age, cycle_time) or 0) >= int(AGING_PERCENTILE):
                candidates[row["scrum_team_id"]].append(
                    {"story": item["story"], "title": item["title"], "age": age, "limit": limit}
                )
    ids = {c["story"] for items in candidates.values() for c in items}
    unfinished = set(
        Story.objects.filter(pk__in=ids, flow_team=flow_team)
        .exclude(state=Story.State.DONE)
        .values_list("pk", flat=True)
        if ids
        else []
    )
    return {
        team: sorted(
            (c for c in items if c["story"] in unfinished), key=lambda c: (-c["age"], c["story"])
        )
        for team, items in candidates.items()
    }


# --- From activity to text --------------------------------------------------------------


def _source(row: dict) -> str:
    return row["from_story_title"] or row["from_epic_title"] or "an item"


def _target(row: dict) -> str:
    return row["to_story_title"] or row["to_epic_title"] or "an item"


def _team(name: str | None) -> str:
    return name or "a Flow-level epic"


def _sprint(number) -> str:
    return f"Flow Sprint {number}" if number else "no Flow Sprint yet"


def sos_drafts(activity: Activity, team_ids) -> dict[int, dict[str, str]]:
    """The five answers per Scrum Team, each a list of "- " lines (empty when nothing
    happened that the answer is about)."""
    lines: dict[int, dict[str, list[str]]] = {
        t: {
            "done_since_last": [],
            "next_until_next": [],
            "impediments": [],
            "in_others_way": [],
            "dependencies": [],
        }
        for t in team_ids
    }

    def add(team_id, answer, text):
        if team_id in lines:
            lines[team_id][answer].append(f"- {text}")

    for row in activity.steps:
        who, sprint = _person(row["by__full_name"], row["by__email"]), row["flow_sprint__number"]
        kind = row["kind"]
        if kind == DependencyStep.Kind.COMMITTED:
            add(
                row["to_team"],
                "done_since_last",
                f"Committed '{_target(row)}' to {_team(row['from_team_name'])} for "
                f"{_sprint(sprint)} ({who})",
            )
        elif kind == DependencyStep.Kind.COUNTERED:
            add(
                row["to_team"],
                "done_since_last",
                f"Counter-proposed {_sprint(sprint)} for '{_target(row)}' "
                f"(needed by {_team(row['from_team_name'])}; {who})",
            )
        elif kind == DependencyStep.Kind.RAISED:
            text = (
                f"New dependency: '{_source(row)}' needs '{_target(row)}' of "
                f"{_team(row['to_team_name'])} by {_sprint(sprint)}"
            )
            add(row["from_team"], "dependencies", text)
            if row["to_team"] != row["from_team"]:
                add(
                    row["to_team"],
                    "dependencies",
                    f"{_team(row['from_team_name'])} needs '{_target(row)}' by {_sprint(sprint)}",
                )
        else:  # accepted or re-negotiated: the requesting side moved
            verb = "Accepted" if kind == DependencyStep.Kind.ACCEPTED else "Re-negotiated"
            text = f"{verb} {_sprint(sprint)} for '{_target(row)}' ({who})"
            add(row["from_team"], "dependencies", text)
            if row["to_team"] != row["from_team"]:
                add(row["to_team"], "dependencies", f"{_team(row['from_team_name'])}: {text}")
    for row in activity.dependencies:
        if row["colour"] == RED:
            planned = f"planned for {_sprint(row['planned'])}" if row["planned"] else "not planned"
            add(
                row["to_team"],
                "in_others_way",
                f"'{_target(row)}' is red: {planned}, {_team(row['from_team_name'])} needs it "
                f"by {_sprint(row['needed_by_number'])}",
            )
            add(
                row["from_team"],
                "dependencies",
                f"Red: '{_target(row)}' of {_team(row['to_team_name'])} is {planned}; "
                f"needed by {_sprint(row['needed_by_number'])}",
            )
        elif row["contract"] == Dependency.Contract.COUNTERED:
            add(
                row["to_team"],
                "in_others_way",
                f"Waiting for {_team(row['from_team_name'])} to accept "
                f"{_sprint(row['proposed_sprint__number'])} for '{_target(row)}'",
            )
        # Due soon and on track (a red one is in answer 4 already).
        on_track = row["colour"] != RED and row["to_story__state"] != Story.State.DONE
        if row["due_soon"] and on_track:
            add(
                row["to_team"],
                "next_until_next",
                f"Deliver '{_target(row)}' to {_team(row['from_team_name'])} "
                f"(needed by {_sprint(row['needed_by_number'])})",
            )
    for row in activity.blocked:
        state = "was blocked, cleared since" if row.get("cleared") else "blocked"
        text = f"'{row['title']}' {state}: {row['blocked_reason']}"
        add(row["scrum_team_id"], "impediments", text)
    for row in activity.notes:
        who = _person(row["person__full_name"], row["person__email"])
        day = timezone.localtime(row["event__starts_at"], activity.tz).strftime("%a %-d %b")
        text = " ".join(row["impediments"].split())
        add(row["event__scrum_team_id"], "impediments", f"{who} at the Daily Scrum ({day}): {text}")
    for row in activity.risks:
        owner = _person(row["owner__full_name"], row["owner__email"]) if row["owner__email"] else ""
        add(
            row["scrum_team_id"],
            "impediments",
            f"New risk: {row['title']} (impact {row['impact']}, {row['roam']}"
            + (f", owner {owner}" if owner else "")
            + ")",
        )
    for team_id, items in activity.aging.items():
        for item in items:
            add(
                team_id,
                "impediments",
                f"'{item['title']}' is {item['age']} days old, past the team's 85th "
                f"percentile of cycle time ({item['limit']} days)",
            )
    return {
        team_id: {answer: "\n".join(texts) for answer, texts in answers.items()}
        for team_id, answers in lines.items()
    }
