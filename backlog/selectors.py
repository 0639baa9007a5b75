from datetime import datetime
from fractions import Fraction

from django.db.models import Count, Q, QuerySet

from backlog.models import Epic, ProductGoal, RoadmapChange, Story
from teams.permissions import Actor


def product_goal_active(*, actor: Actor) -> ProductGoal | None:
    return ProductGoal.objects.filter(flow_team=actor.flow_team, status="active").first()


def story_counts(*, actor: Actor, scrum_team_ids=None) -> dict[str, int]:
    """Stories by state (and blocked) in one query, for the actor's Flow Team or some teams."""
    stories = Story.objects.filter(flow_team=actor.flow_team)
    if scrum_team_ids is not None:
        stories = stories.filter(scrum_team__in=scrum_team_ids)
    counts = stories.aggregate(
        total=Count("id"),
        in_progress=Count("id", filter=Q(state__in=["in_progress", "in_review"])),
        blocked=Count("id", filter=Q(blocked=True)),
        ready=Count("id", filter=Q(state="ready")),
    )
    return counts


CLOSED_EPIC_STATES = (Epic.State.DONE, Epic.State.CANCELLED)


def wsjf_proposal(*, actor: Actor) -> list[Epic]:
    """Every epic of the Flow Team in the order "rank by WSJF" proposes, in one query.

    Open epics by WSJF (exact, not the rounded score) highest first; ties keep their
    current order (the sort is stable over the current rank order). Done and cancelled
    epics follow in their current order. Each epic carries ``current_position`` (1-based)
    so the page shows the proposal beside the current order; the (id, version) pairs are
    what ``epic_wsjf_rank_apply`` takes back."""
    epics = list(Epic.objects.filter(flow_team=actor.flow_team).order_by("rank"))
    for position, epic in enumerate(epics, start=1):
        epic.current_position = position
    return sorted(
        epics,
        key=lambda e: (
            e.state in CLOSED_EPIC_STATES,
            -Fraction(e.cost_of_delay, e.job_size),
        ),
    )


def roadmap_changes_since(*, actor: Actor, since: datetime) -> QuerySet[RoadmapChange]:
    """Epic and milestone changes of the actor's Flow Team at or after ``since``, oldest
    first. The caller passes ``since`` (the start of the last Product Roadmap Refinement
    lives in events, a higher layer than backlog)."""
    return (
        RoadmapChange.objects.filter(flow_team=actor.flow_team, at__gte=since)
        .select_related("epic", "milestone", "by")
        .order_by("at", "id")
    )
