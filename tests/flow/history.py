"""A small story history with hand-computed flow metrics, shared by the metrics job's tests,
the metrics page's and the metrics API's."""

import datetime
import zoneinfo

from backlog.models import StateChange
from flow import services
from tests.backlog.factories import StoryFactory

D = datetime.date
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
AS_OF = D(2026, 3, 10)


def local(day: str, hour: float = 12) -> datetime.datetime:
    d = D.fromisoformat(day)
    return datetime.datetime(d.year, d.month, d.day, tzinfo=BERLIN) + datetime.timedelta(hours=hour)


def story_with(scrum_team, *steps, **fields):
    """A story and its history: (state, local day[, hour]) from its creation on."""
    story = StoryFactory(scrum_team=scrum_team, state=steps[-1][0], **fields)
    previous = ""
    rows = []
    for state, day, *hour in steps:
        rows.append(
            StateChange(
                flow_team=story.flow_team,
                story=story,
                from_state=previous,
                to_state=state,
                at=local(day, *hour),
            )
        )
        previous = state
    StateChange.objects.bulk_create(rows)
    return story


def build_history(ns):
    """Team 1 finishes a story the day it starts (cycle time 1) and one in 6 days (03-04 to
    03-09); team 2 has one in progress since 03-05 (age 6 on 03-10)."""
    one, two, *_ = ns.scrum_teams
    story_with(one, ("backlog", "2026-03-02"), ("in_progress", "2026-03-03"),
               ("done", "2026-03-03", 18), title="Same-day fix", kind="defect")  # fmt: skip
    story_with(one, ("backlog", "2026-03-02"), ("in_progress", "2026-03-04"),
               ("in_review", "2026-03-06"), ("done", "2026-03-09"), title="Invoice export",
               kind="feature", points=5)  # fmt: skip
    story_with(two, ("backlog", "2026-03-02"), ("ready", "2026-03-03"),
               ("in_progress", "2026-03-05"), title="Dunning letters")  # fmt: skip
    return ns


def compute_history(ns, foreign):
    """``build_history`` and a foreign Flow Team's finished story, both computed on AS_OF."""
    build_history(ns)
    story_with(foreign.scrum_teams[0], ("backlog", "2026-03-02"), ("in_progress", "2026-03-02"),
               ("done", "2026-03-04"), title="Foreign secret")  # fmt: skip
    services.metric_snapshots_compute(flow_team=ns.flow_team, as_of=AS_OF)
    services.metric_snapshots_compute(flow_team=foreign.flow_team, as_of=AS_OF)
    return ns
