"""Reads of the Product Backlog Refinement screen, each in a fixed number of queries:

- the team's epics with their stories waiting to be started, each story's acceptance
  criteria and what it lacks for the Definition of Ready;
- the poker table as one viewer may see it: before the reveal the database returns no vote
  value but the viewer's own (the others' only as "has voted");
- the readiness overview: per Scrum Team, the ready stories and their points against the
  capacity of its next Team Sprint.
"""

from collections import Counter

from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, Value, When

from backlog.models import STORY_POINTS, AcceptanceCriterion, Epic, Story
from backlog.selectors import definition_of_ready_gaps
from events.models import Event, PokerRound, PokerVote
from flow.models import EpicClaim, FlowSprint, TeamSprint
from flow.planning import team_velocity
from teams.models import ScrumTeam
from teams.selectors import TEAM_ROLE_ORDER, scrum_team_people

WAITING = (Story.State.BACKLOG, Story.State.READY)
# Epics in the funnel or ready that the team has not touched yet: the top of them by rank.
OTHER_EPICS_SHOWN = 8


def refinement_backlog(event: Event) -> dict:
    """The team's epics (claimed by it or holding its stories) and the top funnel/ready
    epics, each with the team's stories not yet started, in rank order; plus the team's
    stories under no shown epic. Three queries."""
    team_id = event.scrum_team_id
    team_stories = Story.objects.filter(flow_team_id=event.flow_team_id, scrum_team_id=team_id)
    epics = list(
        Epic.objects.filter(flow_team_id=event.flow_team_id)
        .exclude(state__in=[Epic.State.DONE, Epic.State.CANCELLED])
        .annotate(
            theirs=Exists(EpicClaim.objects.filter(epic=OuterRef("pk"), scrum_team_id=team_id))
            | Exists(team_stories.filter(epic=OuterRef("pk")))
        )
        .filter(Q(theirs=True) | Q(state__in=[Epic.State.FUNNEL, Epic.State.READY]))
        .order_by("rank")
    )
    others = [e for e in epics if not e.theirs][:OTHER_EPICS_SHOWN]
    shown = [e for e in epics if e.theirs] + others
    stories = list(
        team_stories.filter(state__in=WAITING).prefetch_related("criteria").order_by("rank")
    )
    by_epic: dict[int | None, list] = {e.pk: [] for e in shown}
    loose = []
    for story in stories:
        criteria = list(story.criteria.all())
        story.criteria_list = criteria
        story.gaps = definition_of_ready_gaps(points=story.points, criteria_count=len(criteria))
        by_epic.get(story.epic_id, loose).append(story)
    for epic in shown:
        epic.waiting = by_epic[epic.pk]
    shown.sort(key=lambda e: (not e.theirs, e.rank))
    return {
        "epics": shown,
        "loose": loose,
        "stories": len(stories),
        "not_ready": sum(1 for s in stories if s.gaps),
    }


def _members(event: Event) -> list:
    """The Scrum Team's people (PO, SM, developers), each once under their first role: the
    PO, then the SM, then the developers, each group by name."""
    people = scrum_team_people(scrum_team_id=event.scrum_team_id)
    people.sort(key=lambda person: TEAM_ROLE_ORDER.index(person.roles[0]))
    return [{"user": person.user, "role": person.roles[0].label} for person in people]


def _spread(values: list[str]) -> dict:
    numbers = sorted(int(v) for v in values if v != "?")
    counts = Counter(values)
    common = counts.most_common(1)[0][0] if counts else None
    return {
        "min": numbers[0] if numbers else None,
        "max": numbers[-1] if numbers else None,
        "consensus": len(counts) == 1 and common != "?",
        "unsure": counts.get("?", 0),
        "common": common,
        "voted": sorted(set(numbers)),
    }


def poker_table(event: Event, *, viewer_id: int) -> dict:
    """The open round (if any) as ``viewer_id`` may see it, the team around the table, and
    the last finished round. Four queries.

    Before the reveal the vote query itself hides the values: the database returns the
    viewer's own value and an empty one for everybody else, so no other value is ever read
    into the page, a fragment or a poll answer."""
    rounds = (
        PokerRound.objects.filter(event=event)
        .select_related("story", "opened_by", "agreed_by")
        .order_by("-closed", "-opened_at", "-pk")
    )
    found = list(rounds.filter(closed=False)[:1]) + list(rounds.filter(closed=True)[:1])
    open_round = next((r for r in found if not r.closed), None)
    last = next((r for r in found if r.closed), None)
    members = _members(event)
    table = {"round": open_round, "last": last, "members": members, "mine": None}
    if open_round is None:
        return table
    revealed = open_round.revealed_at is not None
    own = Case(When(voter_id=viewer_id, then=F("value")), default=Value(""))
    votes = dict(
        PokerVote.objects.filter(round=open_round)
        .annotate(shown=F("value") if revealed else own)
        .values_list("voter_id", "shown")
    )
    table["mine"] = votes.get(viewer_id) or None
    seats = []
    for member in members:
        pk = member["user"].pk
        seats.append(
            {
                **member,
                "voted": pk in votes,
                # Before the reveal the query returned "" for everybody but the viewer.
                "value": votes.get(pk) or None,
                "me": pk == viewer_id,
            }
        )
    table["seats"] = seats
    table["votes"] = len(votes)
    table["revealed"] = revealed
    if revealed:
        spread = _spread(list(votes.values()))
        table["spread"] = spread
        table["choices"] = [
            {"points": p, "voted": p in spread["voted"], "common": str(p) == spread["common"]}
            for p in STORY_POINTS
        ]
    return table


def readiness_overview(event: Event) -> dict:
    """Per Scrum Team of the Flow Team: stories meeting the Definition of Ready (an
    estimate and a criterion) not yet started, their points, and the capacity of the team's
    next Team Sprint (set, else the velocity proposal of the planning board). Five queries."""
    flow_team_id = event.flow_team_id
    teams = list(ScrumTeam.objects.filter(flow_team_id=flow_team_id).order_by("name", "pk"))
    ready = {
        row["scrum_team_id"]: row
        for row in Story.objects.filter(
            flow_team_id=flow_team_id, state__in=WAITING, points__isnull=False
        )
        .filter(Exists(AcceptanceCriterion.objects.filter(story=OuterRef("pk"))))
        .order_by()
        .values("scrum_team_id")
        .annotate(n=Count("pk"), points=Sum("points"))
    }
    next_sprint = (
        FlowSprint.objects.filter(flow_team_id=flow_team_id, number__gt=event.flow_sprint.number)
        .order_by("number")
        .first()
    )
    capacities = (
        dict(
            TeamSprint.objects.filter(
                flow_sprint=next_sprint, capacity_points__isnull=False
            ).values_list("scrum_team_id", "capacity_points")
        )
        if next_sprint
        else {}
    )
    proposed = team_velocity(event.flow_team)
    rows = []
    for team in teams:
        row = ready.get(team.pk, {})
        points = row.get("points") or 0
        capacity = capacities.get(team.pk)
        guessed = capacity is None
        capacity = proposed.get(team.pk) if guessed else capacity
        rows.append(
            {
                "team": team,
                "stories": row.get("n", 0),
                "points": points,
                "capacity": capacity,
                "proposed": guessed and capacity is not None,
                "percent": min(100, round(100 * points / capacity)) if capacity else 0,
                "enough": bool(capacity) and points >= capacity,
                "mine": team.pk == event.scrum_team_id,
            }
        )
    return {"sprint": next_sprint, "rows": rows}
