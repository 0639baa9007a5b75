import zoneinfo
from datetime import date, datetime, time, timedelta

from django.db.models import OuterRef, Q, Subquery

from backlog.models import Blocker, Dependency, Epic, Milestone, StateChange, Story
from flow.metrics import report
from flow.metrics.items import StoryRow, build_items
from flow.metrics.snapshot import Inputs
from flow.models import FlowSprint, MetricSnapshot, Risk, SprintCommitment, TeamSprint
from flow.roadmap import open_dependencies_coloured
from sem.errors import NotFound
from teams.models import FlowTeam, ScrumTeam


def flow_sprint_current(*, flow_team: FlowTeam, today: date | None = None) -> FlowSprint | None:
    """The Flow Sprint whose dates hold today (in the Flow Team's timezone)."""
    today = today or flow_team.today()
    return (
        FlowSprint.objects.filter(flow_team=flow_team, start__lte=today, end__gte=today)
        .exclude(state=FlowSprint.State.CLOSED)
        .first()
    )


def metrics_inputs(*, flow_team: FlowTeam, as_of: date) -> Inputs:
    """Everything the flow metrics need for one Flow Team, as it stood at the end of as_of.

    A fixed number of queries whatever the size: teams, stories, history, blockers,
    sprints, commitments, milestones with their epics.
    """
    tz = flow_team.tzinfo
    until = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=tz)
    numbers = dict(flow_team.scrum_teams.values_list("pk", "number"))
    stories = [
        StoryRow(id=pk, team=numbers[team_id], kind=kind, points=points, title=title, epic_id=epic)
        for pk, team_id, kind, points, title, epic in Story.objects.filter(
            flow_team=flow_team
        ).values_list("pk", "scrum_team_id", "kind", "points", "title", "epic_id")
    ]
    changes = (
        StateChange.objects.filter(flow_team=flow_team, story__isnull=False, at__lt=until)
        .order_by("story_id", "at", "pk")
        .values_list("story_id", "to_state", "at")
    )
    blockers = Blocker.objects.filter(story__flow_team=flow_team, raised_at__lt=until).values_list(
        "story_id", "raised_at", "cleared_at"
    )
    items = build_items(stories, changes.iterator(chunk_size=5000), blockers, tz=tz, until=until)

    sprints = list(
        FlowSprint.objects.filter(flow_team=flow_team, start__lte=as_of + timedelta(days=1))
        .order_by("number")
        .values("pk", "number", "start", "end", "state", "figures")
    )
    following = (
        FlowSprint.objects.filter(flow_team=flow_team, start__gt=as_of + timedelta(days=1))
        .order_by("number")
        .values("pk", "number", "start", "end", "state", "figures")
        .first()
    )
    if following:
        sprints.append(following)
    state_of = {item.story.id: item.state for item in items}
    predictability, current_commitments = _commitment_figures(sprints, numbers, state_of, as_of)
    return Inputs(
        flow_team_id=flow_team.pk,
        timezone=flow_team.timezone,
        as_of=as_of,
        teams=sorted(numbers.values()),
        items=items,
        sprints=[
            {key: s[key] for key in ("number", "start", "end", "state")} | {"id": s["pk"]}
            for s in sprints
        ],
        predictability=predictability,
        current_commitments=current_commitments,
        milestones=_milestones(flow_team, as_of, {s.epic_id for s in stories}),
        today=flow_team.today(),
    )


def _commitment_figures(sprints, numbers, state_of, as_of):
    """Predictability per sprint and team: frozen figures of closed sprints, and for open
    ones the planned commitments counted from the history's state at as_of."""
    predictability: dict[int, dict[int, dict]] = {}
    open_ids = []
    for sprint in sprints:
        if sprint["state"] == FlowSprint.State.CLOSED and sprint["figures"] is not None:
            predictability[sprint["pk"]] = {
                numbers[int(team_id)]: {
                    "committed": f["committed_points"],
                    "done": f["done_points"],
                }
                for team_id, f in sprint["figures"].items()
                if int(team_id) in numbers
            }
        elif sprint["start"] <= as_of:
            open_ids.append(sprint["pk"])
    current = next((s["pk"] for s in sprints if s["start"] <= as_of <= s["end"]), None)
    current_commitments = set()
    rows = SprintCommitment.objects.filter(team_sprint__flow_sprint_id__in=open_ids).values_list(
        "team_sprint__flow_sprint_id", "team_sprint__scrum_team_id", "story_id", "planned",
        "points_at_planning",
    )  # fmt: skip
    for sprint_id, team_id, story_id, planned, points in rows:
        if sprint_id == current:
            current_commitments.add(story_id)
        team = predictability.setdefault(sprint_id, {}).setdefault(
            numbers[team_id], {"committed": 0, "done": 0}
        )
        if planned:
            team["committed"] += points or 0
            if state_of.get(story_id) == "done":
                team["done"] += points or 0
    return predictability, current_commitments


def _milestones(flow_team, as_of, epics_with_stories):
    milestones = {
        m["pk"]: {**m, "id": m["pk"], "epic_ids": [], "epics_without_stories": 0}
        for m in Milestone.objects.filter(flow_team=flow_team, end__gt=as_of)
        .order_by("order")
        .values("pk", "name", "end")
    }
    epics = Epic.objects.filter(milestone_id__in=milestones).exclude(
        state__in=[Epic.State.DONE, Epic.State.CANCELLED]
    )
    for pk, milestone_id in epics.values_list("pk", "milestone_id"):
        milestones[milestone_id]["epic_ids"].append(pk)
        if pk not in epics_with_stories:
            milestones[milestone_id]["epics_without_stories"] += 1
    return list(milestones.values())


def metric_snapshot_latest(*, flow_team: FlowTeam, team: ScrumTeam | None) -> MetricSnapshot | None:
    """The newest snapshot of the Flow Team (team None) or of one of its Scrum Teams."""
    return (
        MetricSnapshot.objects.filter(flow_team=flow_team, scrum_team=team)
        .order_by("-as_of")
        .first()
    )


def team_snapshots_newest(*, flow_team: FlowTeam, scrum_team_ids=None):
    """The newest metric snapshot of each Scrum Team (of some, when ``scrum_team_ids`` is
    given), as a queryset to read ``values`` from: one query whatever the number of teams."""
    newest = (
        MetricSnapshot.objects.filter(scrum_team=OuterRef("scrum_team"))
        .order_by("-as_of")
        .values("as_of")[:1]
    )
    snapshots = MetricSnapshot.objects.filter(
        flow_team=flow_team, scrum_team__isnull=False, as_of=Subquery(newest)
    )
    if scrum_team_ids is not None:
        snapshots = snapshots.filter(scrum_team_id__in=scrum_team_ids)
    return snapshots


def metric_snapshots_due(*, now: datetime) -> list[tuple[int, date]]:
    """(Flow Team id, local yesterday) for every Flow Team whose yesterday has no snapshot
    computed after that day ended. Two queries whatever the number of Flow Teams."""
    due = {}
    for pk, tz_name in FlowTeam.objects.values_list("pk", "timezone"):
        yesterday = now.astimezone(zoneinfo.ZoneInfo(tz_name)).date() - timedelta(days=1)
        due[pk] = (
            yesterday,
            datetime.combine(
                yesterday + timedelta(days=1), time.min, tzinfo=zoneinfo.ZoneInfo(tz_name)
            ),
        )
    done = MetricSnapshot.objects.filter(
        flow_team_id__in=due, scrum_team__isnull=True, as_of__in={d for d, _ in due.values()}
    ).values_list("flow_team_id", "as_of", "computed_at")
    complete = {(pk, as_of) for pk, as_of, computed_at in done if computed_at >= due[pk][1]}
    return [(pk, day) for pk, (day, _) in due.items() if (pk, day) not in complete]


NOT_COMPUTED = "the metrics job has not computed this Flow Team's metrics yet"


def metrics_report(
    *,
    actor,
    team_number: int | None = None,
    team_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict | None:
    """The newest snapshot of the Flow Team or one of its Scrum Teams (by number on pages,
    by id in the API), cut to a date range. None while the job has not computed one yet.
    Another Flow Team's team is not found."""
    team = None
    if team_number is not None or team_id is not None:
        lookup = {"number": team_number} if team_number is not None else {"pk": team_id}
        team = ScrumTeam.objects.filter(flow_team=actor.flow_team, **lookup).first()
        if team is None:
            which = team_number if team_number is not None else f"with id {team_id}"
            raise NotFound(f"the Flow Team has no Scrum Team {which}")
    snapshot = metric_snapshot_latest(flow_team=actor.flow_team, team=team)
    if snapshot is None:
        return None
    return report.build(snapshot.data, start, end) | {"computed_at": snapshot.computed_at}


# --- The risk register and Flow Sprint Planning 2 -----------------------------------

IMPACT_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
SETTLED = ("resolved", "mitigated")


def risk_register(*, flow_team: FlowTeam) -> list[Risk]:
    """Every risk of the Flow Team, in one query: unsettled ones first (not resolved or
    mitigated), the gravest first, then the newest."""
    risks = Risk.objects.filter(flow_team=flow_team).select_related(
        "owner", "scrum_team", "dependency", "updated_by"
    )
    return sorted(
        risks,
        key=lambda r: (
            r.roam in SETTLED,
            IMPACT_ORDER.get(r.impact, 9),
            -r.created_at.timestamp(),
            -r.pk,
        ),
    )


def dependency_choices(*, flow_team: FlowTeam, also: int | None = None) -> list[dict]:
    """The dependencies a risk may be linked to: the open ones (and ``also``, the one a
    risk is linked to now, whatever its state), named by their two sides. One query."""
    rows = (
        Dependency.objects.filter(flow_team=flow_team)
        .filter(Q(state=Dependency.State.OPEN) | Q(pk=also))
        .order_by("pk")
        .values(
            "pk",
            "from_story__title",
            "from_epic__title",
            "to_story__title",
            "to_epic__title",
        )
    )
    return [
        {
            "id": r["pk"],
            "label": f"#{r['pk']} {r['from_story__title'] or r['from_epic__title']} needs "
            f"{r['to_story__title'] or r['to_epic__title']}",
        }
        for r in rows
    ]


def dependency_plans(*, flow_team: FlowTeam, risks: list[Risk], today: date | None = None):
    """Every open dependency, coloured (flow/roadmap.py), each with the risks linked to it
    (its mitigation plans). Five queries; ``risks`` are the register's, already read."""
    linked: dict[int, list[Risk]] = {}
    for risk in risks:
        if risk.dependency_id:
            linked.setdefault(risk.dependency_id, []).append(risk)
    dependencies = open_dependencies_coloured(flow_team=flow_team, today=today or flow_team.today())
    for dependency in dependencies:
        dependency["risks"] = linked.get(dependency["id"], [])
        dependency["mitigated"] = any(r.mitigation.strip() for r in dependency["risks"])
    return dependencies


def _dependency_reason(dependency: dict) -> str:
    if dependency["planned"] is None:
        return f"not planned, needed by Flow Sprint {dependency['needed_by']}"
    return (
        f"planned for Flow Sprint {dependency['planned']}, "
        f"needed by Flow Sprint {dependency['needed_by']}"
    )


def warnings_of(dependencies: list[dict], risks: list[Risk]) -> list[dict]:
    """What Planning 2 says plainly before the CSM confirms the Flow Sprint Goal: each red
    dependency and each unmitigated high risk (impact high or critical, ROAM neither
    resolved nor mitigated, no mitigation plan). Pure: no queries."""
    found = [
        {
            "key": f"dependency:{d['id']}",
            "kind": "dependency",
            "id": d["id"],
            "title": f"{d['requester']} needs {d['provider']}",
            "reason": "red: " + _dependency_reason(d),
        }
        for d in dependencies
        if d["colour"] == "red"
    ]
    found += [
        {
            "key": f"risk:{r.pk}",
            "kind": "risk",
            "id": r.pk,
            "title": r.title,
            "reason": f"impact {r.get_impact_display().lower()}, ROAM {r.roam}, no mitigation plan",
        }
        for r in risks
        if r.unmitigated_high
    ]
    return found


def goal_warnings(*, flow_team: FlowTeam, today: date | None = None) -> list[dict]:
    """``warnings_of`` the Flow Team as it stands now."""
    risks = risk_register(flow_team=flow_team)
    return warnings_of(dependency_plans(flow_team=flow_team, risks=risks, today=today), risks)


def planning_2_teams(*, flow_sprint: FlowSprint) -> list[dict]:
    """Each Scrum Team's slice of the Flow Sprint: its sprint goal, the stories it planned
    (not dropped) and their load against its capacity. Two queries whatever the size."""
    team_sprints = list(
        TeamSprint.objects.filter(flow_sprint=flow_sprint)
        .select_related("scrum_team")
        .order_by("scrum_team__number", "scrum_team__name")
    )
    planned: dict[int, list] = {}
    for commitment in (
        SprintCommitment.objects.filter(team_sprint__flow_sprint=flow_sprint)
        .exclude(outcome=SprintCommitment.Outcome.DROPPED)
        .select_related("story")
        .order_by("story__rank", "pk")
    ):
        planned.setdefault(commitment.team_sprint_id, []).append(commitment)
    teams = []
    for ts in team_sprints:
        commitments = planned.get(ts.pk, [])
        load = sum((c.story.points or 0) for c in commitments)
        capacity = ts.capacity_points
        percent = min(100, round(100 * load / capacity)) if capacity else None
        teams.append(
            {
                "id": ts.scrum_team_id,
                "name": ts.scrum_team.name,
                "goal": ts.goal,
                "stories": [c.story for c in commitments],
                "load": load,
                "capacity": capacity,
                "percent": percent,
                # The load bar's width class (static/css/sem.css: bar-00 … bar-100).
                "bar": f"bar-{round((percent or 0) / 10) * 10:02d}",
                "over": capacity is not None and load > capacity,
            }
        )
    return teams
