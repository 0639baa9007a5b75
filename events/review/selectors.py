"""Reads of the Flow Sprint Review screen, each in a fixed number of queries whatever the
size of the Flow Team: the demo list (each team's done stories of the Flow Sprint that meet
the Definition of Done, in the order the teams show them), the feedback and what it became,
and the top of the roadmap for the reprioritisation step."""

from django.db.models import Count, Q

from backlog.models import Epic, Story
from events.models import Event, ReviewDemoSlot, ReviewFeedback
from flow.models import SprintCommitment
from teams.models import ScrumTeam

TOP_EPICS = 5


def demo_team_order(event: Event) -> list[ScrumTeam]:
    """The Scrum Teams in the order they show their work: the CSM's slots first, the rest
    by number (two queries)."""
    positions = dict(
        ReviewDemoSlot.objects.filter(event=event).values_list("scrum_team_id", "position")
    )
    teams = list(ScrumTeam.objects.filter(flow_team_id=event.flow_team_id).order_by("number"))
    last = len(teams) + 1
    return sorted(teams, key=lambda t: (positions.get(t.pk, last), t.number))


def demo_stories(event: Event) -> list[Story]:
    """The done stories of the event's Flow Sprint that meet the Definition of Done (every
    acceptance criterion checked), one query. A story carried over and done counts in the
    sprint it was done in; a reopened one is no longer done and drops out."""
    committed = SprintCommitment.objects.filter(
        team_sprint__flow_sprint_id=event.flow_sprint_id,
        outcome__in=[SprintCommitment.Outcome.OPEN, SprintCommitment.Outcome.DONE],
    ).values("story_id")
    return list(
        Story.objects.filter(
            flow_team_id=event.flow_team_id, state=Story.State.DONE, pk__in=committed
        )
        .annotate(
            criteria_total=Count("criteria"),
            unchecked=Count("criteria", filter=Q(criteria__checked=False)),
        )
        .filter(unchecked=0)
        .select_related("epic", "assignee")
        .order_by("scrum_team_id", "rank")
    )


def demo_list(event: Event) -> list[dict]:
    """Each team in showing order with its demo stories: three queries."""
    stories: dict[int, list[Story]] = {}
    for story in demo_stories(event):
        stories.setdefault(story.scrum_team_id, []).append(story)
    return [
        {"team": team, "position": n, "stories": stories.get(team.pk, [])}
        for n, team in enumerate(demo_team_order(event), start=1)
    ]


def review_feedback(event: Event) -> list[ReviewFeedback]:
    """The feedback of the review, oldest first, with what each became (one query)."""
    return list(
        ReviewFeedback.objects.filter(event=event)
        .select_related(
            "author", "story__scrum_team", "epic", "backlog_story__scrum_team", "backlog_story"
        )
        .order_by("created_at", "pk")
    )


def top_epics(event: Event, feedback: list[ReviewFeedback], limit: int = TOP_EPICS) -> list[dict]:
    """The open epics at the top of the roadmap, each with this review's feedback on it
    (on the epic itself or on one of its stories): one query, the feedback already read."""
    epics = list(
        Epic.objects.filter(flow_team_id=event.flow_team_id)
        .exclude(state__in=[Epic.State.DONE, Epic.State.CANCELLED])
        .order_by("rank")[:limit]
    )
    on_epic: dict[int, list[ReviewFeedback]] = {}
    for item in feedback:
        epic_id = item.epic_id or (item.story.epic_id if item.story else None)
        if epic_id:
            on_epic.setdefault(epic_id, []).append(item)
    return [{"epic": e, "feedback": on_epic.get(e.pk, [])} for e in epics]
