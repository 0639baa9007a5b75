"""Which events a Flow Sprint holds, when, how long and who: domain.md "Events".

Pure planning (no database): ``plan`` turns a sprint's dates, the Flow Team's
working days and its Scrum Teams into event specs at local times; the service
stores them. Conventions where the method leaves room:

- Day 1 is the first working day: Planning 1 at 09:00, Team Sprint Planning at
  11:30, Planning 2 at 14:30. Its Daily Scrums are replaced by planning.
- Daily Scrums at 09:15 on every other working day.
- Scrum of Scrums and Product Backlog Refinement weekly, on the third and fourth
  working day of each week of the sprint (weeks counted from the sprint start).
- Product Roadmap Refinement monthly: in the first sprint that starts in a
  calendar month, on its third working day.
- Review, team retrospectives and the Flow retrospective on the last working day.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time

from flow.cadence import working_days

FLOW_LEADS = ["cpo", "csm", "architect", "po", "sm"]


@dataclass(frozen=True)
class EventSpec:
    kind: str
    level: str
    team_id: int | None
    occurrence: int
    day: date
    at: time
    minutes: int
    facilitator_role: str
    roles: list[str] = field(default_factory=list)
    outputs: str = ""


OUTPUTS = {
    "planning_1": "Preliminary Flow Backlog (epics and stories claimed by teams); dependency "
    "and risk register entries",
    "team_planning": "Team Sprint Backlog: stories, tasks, estimates, Team Sprint Goal",
    "planning_2": "Flow Sprint Goal confirmed; mitigation plans for open dependencies",
    "daily_scrum": "Per person: done yesterday, doing today, impediments",
    "scrum_of_scrums": "Each team's answers to the five questions; action plans with owner "
    "and due date",
    "backlog_refinement": "Epics split into stories, estimates, acceptance criteria",
    "roadmap_refinement": "Epics re-scored and re-prioritised, milestones validated",
    "review": "Demoed stories, feedback turned into backlog items, reprioritised work",
    "team_retro": "Action items",
    "flow_retro": "Prioritised improvement items in the Flow Backlog",
}


def plan(
    *, start: date, end: date, weekdays: list[int], team_ids: list[int], first_in_month: bool
) -> list[EventSpec]:
    days = working_days(start, end, weekdays)
    if not days:
        return []
    first, last = days[0], days[-1]
    specs: list[EventSpec] = []

    def flow(kind, occ, day, at, minutes, facilitator, roles):
        specs.append(
            EventSpec(kind, "flow", None, occ, day, at, minutes, facilitator, roles, OUTPUTS[kind])
        )

    def team(kind, team_id, occ, day, at, minutes, roles=("po", "sm", "developer")):
        specs.append(
            EventSpec(
                kind, "team", team_id, occ, day, at, minutes, "sm", list(roles), OUTPUTS[kind]
            )
        )

    flow("planning_1", 1, first, time(9, 0), 120, "csm", FLOW_LEADS)
    for team_id in team_ids:
        team("team_planning", team_id, 1, first, time(11, 30), 90)
    flow("planning_2", 1, first, time(14, 30), 60, "csm", ["cpo", "csm", "po", "sm", "stakeholder"])
    for team_id in team_ids:
        for occ, day in enumerate((d for d in days if d != first), start=1):
            team("daily_scrum", team_id, occ, day, time(9, 15), 15)
    weeks: dict[int, list[date]] = {}
    for day in days:
        weeks.setdefault((day - start).days // 7, []).append(day)
    for occ, week in enumerate(sorted(weeks), start=1):
        week_days = weeks[week]
        if len(week_days) >= 3:
            flow(
                "scrum_of_scrums",
                occ,
                week_days[2],
                time(10, 0),
                45,
                "csm",
                ["csm", "po", "sm", "cpo", "architect"],
            )
        if len(week_days) >= 4:
            for team_id in team_ids:
                team("backlog_refinement", team_id, occ, week_days[3], time(14, 0), 90)
    if first_in_month and len(days) >= 3:
        flow(
            "roadmap_refinement",
            1,
            days[2],
            time(13, 0),
            150,
            "cpo",
            ["cpo", "po", "architect", "stakeholder"],
        )
    flow(
        "review",
        1,
        last,
        time(10, 0),
        90,
        "csm",
        ["cpo", "csm", "architect", "po", "sm", "developer", "stakeholder"],
    )
    for team_id in team_ids:
        team("team_retro", team_id, 1, last, time(13, 0), 60)
    flow("flow_retro", 1, last, time(15, 0), 60, "csm", FLOW_LEADS)
    return specs


def local_start(spec: EventSpec, tz) -> datetime:
    """The spec's local wall-clock time as an aware datetime (DST-correct via zoneinfo)."""
    return datetime.combine(spec.day, spec.at, tzinfo=tz)
