from django.db.models import Count, Q

from backlog.models import ProductGoal, Story
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
