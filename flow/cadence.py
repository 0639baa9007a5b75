"""Date arithmetic of the synchronized cadence: pure functions, no database.

A Flow Sprint starts the day after the previous one ends; the first starts on the
Flow Team's cadence anchor. Every Scrum Team shares these dates. A changed
sprint length applies from the next sprint that has not started: started and past
sprints keep the dates they had.
"""

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class SprintDates:
    number: int
    start: date
    end: date


def following(previous: SprintDates | None, *, anchor: date, length_weeks: int) -> SprintDates:
    """The sprint after ``previous`` (the first one when there is none)."""
    if previous is None:
        start, number = anchor, 1
    else:
        start, number = previous.end + timedelta(days=1), previous.number + 1
    return SprintDates(number, start, start + timedelta(weeks=length_weeks) - timedelta(days=1))


def schedule(
    kept: list[SprintDates], *, anchor: date, length_weeks: int, today: date, horizon: int
) -> list[SprintDates]:
    """``kept`` (started or past sprints, in order) followed by future sprints until
    ``horizon`` sprints start after today."""
    plan = list(kept)
    while True:
        ahead = sum(1 for s in plan if s.start > today)
        current = any(s.start <= today <= s.end for s in plan)
        if ahead >= horizon and (current or not plan or plan[0].start > today):
            return plan
        plan.append(following(plan[-1] if plan else None, anchor=anchor, length_weeks=length_weeks))


def working_days(start: date, end: date, weekdays: list[int]) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days
