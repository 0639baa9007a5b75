"""What a metric snapshot stores for one scope (a Flow Team or one of its Scrum Teams).

Everything a page, a CSV or the API shows is in here, so none of them has to
compute from the history inside a request.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from flow.metrics import figures, forecast
from flow.metrics.items import Item

TEAM_HORIZON = 182  # days of forecast; a Flow Team's reaches its last milestone
MAX_HORIZON = 730
TITLE_LENGTH = 80

FINISHED_COLUMNS = [
    "story", "title", "team", "kind", "points", "started", "finished",
    "cycle_time", "lead_time", "active_hours", "span_hours",
]  # fmt: skip
AGING_COLUMNS = ["story", "title", "team", "kind", "state", "started", "age", "blocked"]


@dataclass
class Inputs:
    """What the selectors loaded for one Flow Team, up to the end of ``as_of``."""

    flow_team_id: int
    timezone: str
    as_of: date
    teams: list[int]  # Scrum Team numbers
    items: list[Item]
    # Flow Sprints started by the day after as_of, then the next one: id, number, start,
    # end, state.
    sprints: list[dict]
    # sprint id -> team number -> {"committed": points, "done": points}
    predictability: dict[int, dict[int, dict]] = field(default_factory=dict)
    # story ids committed to the current Flow Sprint
    current_commitments: set[int] = field(default_factory=set)
    # Milestones ending after as_of: id, name, end, epic ids, epics not done without stories
    milestones: list[dict] = field(default_factory=list)
    # The Flow Team's today when the figures were asked for; as_of == today is a partial day.
    today: date | None = None


def seed_for(flow_team_id: int, team: int | None, as_of: date) -> int:
    """A fixed seed per scope and day: re-running a day's job reproduces its forecast."""
    digest = hashlib.sha256(f"{flow_team_id}:{team}:{as_of.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def build(inputs: Inputs, team: int | None = None) -> dict:
    items = [i for i in inputs.items if team is None or i.story.team == team]
    as_of = inputs.as_of
    first = min((i.created for i in inputs.items), default=as_of)
    finished = [i for i in items if i.finish is not None]
    aging = [i for i in items if i.start is not None and i.finish is None]
    throughput = figures.daily_throughput(items, first, as_of)
    past = [s for s in inputs.sprints if s["start"] <= as_of]
    teams = inputs.teams if team is None else [team]
    return {
        "as_of": as_of.isoformat(),
        "timezone": inputs.timezone,
        "team": team,
        "first_day": first.isoformat(),
        "finished": {
            "columns": FINISHED_COLUMNS,
            "rows": [_finished_row(i) for i in sorted(finished, key=lambda i: i.finish)],
        },
        "aging": {
            "columns": AGING_COLUMNS,
            "rows": [_aging_row(i, as_of) for i in sorted(aging, key=lambda i: i.start)],
        },
        # The figures over the whole history that screens read as they are (the Daily Scrum,
        # the Scrum of Scrums, improvement items); a range's own are report.build()'s.
        "cycle_time": figures.percentiles([i.cycle_time for i in finished]),
        "flow_efficiency": figures.flow_efficiency(finished),
        "daily": {
            "throughput": throughput,
            "wip": figures.daily_wip(items, first, as_of),
            "cfd": figures.cumulative_flow(items, first, as_of),
        },
        "sprints": figures.sprint_rows(items, past, inputs.predictability, teams),
        "forecast": _forecast(inputs, team, items, throughput),
    }


def _finished_row(item: Item) -> list:
    s = item.story
    return [
        s.id, s.title[:TITLE_LENGTH], s.team, s.kind, s.points,
        item.start.isoformat(), item.finish.isoformat(), item.cycle_time, item.lead_time,
        round(item.active_hours, 1), round(item.span_hours, 1),
    ]  # fmt: skip


def _aging_row(item: Item, as_of: date) -> list:
    s = item.story
    return [
        s.id, s.title[:TITLE_LENGTH], s.team, s.kind, item.state,
        item.start.isoformat(), item.age(as_of), item.blocked,
    ]  # fmt: skip


def _forecast(inputs: Inputs, team: int | None, items: list[Item], throughput: list[int]):
    as_of = inputs.as_of
    # The window ends on the last finished day: today's partial day never counts, also when
    # someone asks for today's figures (metrics.md), or it would drag every forecast down.
    finished_until = as_of
    if inputs.today is not None and as_of >= inputs.today:
        finished_until = inputs.today - timedelta(days=1)
    partial = (as_of - finished_until).days
    window = (throughput[:-partial] if partial else throughput)[-forecast.WINDOW_DAYS :]
    horizon = TEAM_HORIZON
    milestones = inputs.milestones if team is None else []
    if milestones:
        horizon = min(MAX_HORIZON, max(horizon, max((m["end"] - as_of).days for m in milestones)))
    seed = seed_for(inputs.flow_team_id, team, as_of)
    answer = {
        "window": {
            "start": (finished_until - timedelta(days=len(window) - 1)).isoformat(),
            "end": finished_until.isoformat(),
            "days": len(window),
            "finished": sum(window),
        },
        "trials": forecast.TRIALS,
        "seed": seed,
        "horizon_days": horizon,
        "reliable": forecast.reliable(window),
        "how_many": None,
        "questions": [],
        "milestones": [],
    }
    simulation = forecast.simulate(window, horizon=horizon, seed=seed)
    if simulation is None:
        return answer  # nothing finished in the window: no forecast to make
    table = simulation.how_many_table()
    answer["how_many"] = table

    current = next((s for s in inputs.sprints if s["start"] <= as_of <= s["end"]), None)
    # The inputs hold no sprint after the next one: this is the day's and the next, or the
    # next two when the day's ends on as_of.
    upcoming = [s for s in inputs.sprints if s["end"] > as_of]
    if current is not None:
        remaining = sum(
            1 for i in items if i.story.id in inputs.current_commitments and i.state != "done"
        )
        answer["questions"].append(
            {
                "kind": "when",
                "label": f"The {remaining} committed stories of Flow Sprint {current['number']} "
                "not done yet",
                "items": remaining,
                "days": forecast.when_done(table, remaining),
            }
        )
    for sprint in upcoming:
        day = (sprint["end"] - as_of).days
        answer["questions"].append(
            {
                "kind": "how_many",
                "label": f"Stories finished by the end of Flow Sprint {sprint['number']}",
                "date": sprint["end"].isoformat(),
                "counts": forecast.how_many(table, day),
            }
        )
    unfinished_by_epic: dict[int, int] = {}
    for i in items:
        if i.state != "done" and i.story.epic_id is not None:
            unfinished_by_epic[i.story.epic_id] = unfinished_by_epic.get(i.story.epic_id, 0) + 1
    for milestone in milestones:
        remaining = sum(unfinished_by_epic.get(e, 0) for e in milestone["epic_ids"])
        days = (milestone["end"] - as_of).days
        answer["milestones"].append(
            {
                "id": milestone["id"],
                "name": milestone["name"],
                "end": milestone["end"].isoformat(),
                "remaining": remaining,
                "epics": len(milestone["epic_ids"]),
                "epics_without_stories": milestone["epics_without_stories"],
                "chance": simulation.chance_by(days, remaining),
            }
        )
    return answer
