"""Demo and benchmark data sets (quality.md, "The benchmark data set").

Deterministic for a seed: every choice comes from one ``random.Random(seed)``
and every timestamp is an offset from the Flow Team's today, so the demo is
always current (history ends today, the current Flow Sprint is active).

The few structural writes (Flow Team, Scrum Teams) go through ``teams.services``.
The bulk (people, roles, stories, history) is written with ``bulk_create``: a
service call per row would take minutes for ``fleet``; the database constraints
still hold every cap and uniqueness rule.
"""

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery

from backlog.models import (
    AcceptanceCriterion,
    Blocker,
    Dependency,
    DependencyStep,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    StateChange,
    Story,
    Task,
)
from backlog.ranking import GAP
from events.kinds import OUTPUTS
from events.models import (
    ActionItem,
    DailyScrumNote,
    Event,
    PokerRound,
    PokerVote,
    RetroCard,
    Retrospective,
    RetroVote,
    ScrumOfScrumsReport,
)
from events.retro.services import author_key
from events.services import cadence_roll
from flow.metrics.improvement import metric_value
from flow.models import EpicClaim, FlowSprint, MetricSnapshot, Risk, SprintCommitment, TeamSprint
from flow.services import metric_snapshots_compute
from flow.tasks import metrics_compute
from teams import services as team_services
from teams.models import FlowTeam, Membership, Role, RoleAssignment, User


@dataclass(frozen=True)
class Size:
    flow_teams: int
    scrum_teams: int  # per Flow Team
    members: int  # per Flow Team
    epics: int  # per Flow Team
    stories: int  # per Flow Team
    past_sprints: int


SIZES = {
    "demo": Size(1, 5, 45, 12, 150, 4),
    "max": Size(1, 15, 150, 300, 6000, 26),
    "fleet": Size(10, 15, 150, 300, 6000, 26),
}

FIRST = "Ada Ben Chloe Dev Elif Farid Greta Hana Ivo Jonas Kemal Lea Mia Noah Omar Pia Quinn Rosa Sven Tariq Uma Vera Wen Xaver Yara Zoe".split()  # noqa: E501
LAST = "Abebe Becker Costa Dimitrov Engel Fischer Garcia Hoffmann Ivanova Jansen Kowalski Lindqvist Moreau Novak Okafor Petrov Quispe Rossi Schmidt Tanaka Usman Varga Weber Yilmaz Zhang".split()  # noqa: E501
TEAM_NAMES = "Aurora Borealis Comet Delta Equinox Fjord Glacier Horizon Island Jetstream Kestrel Lagoon Monsoon Nebula Orbit".split()  # noqa: E501
VERBS = "export import filter search share schedule archive compare approve tag sync audit".split()
OBJECTS = (
    "invoices reports orders dashboards contracts alerts payments users shipments forecasts".split()
)
ROLES_TEXT = "account manager,warehouse clerk,finance lead,customer,support agent,auditor".split(
    ","
)
SPRINT_GOALS = [
    "Customers can pay invoices online end to end",
    "Order tracking visible to every customer",
    "Cut checkout errors by half",
    "Self-service onboarding for new accounts",
    "Audit trail for every approval",
    "Faster search on large catalogues",
]
KINDS = (["feature"] * 13) + (["defect"] * 4) + (["debt"] * 2) + ["risk"]
POINTS = [1, 2, 2, 3, 3, 3, 5, 5, 8, 13]
WSJF = [1, 2, 3, 5, 8, 13, 20]


def slugs_for(size: str) -> list[str]:
    if size == "demo":
        return ["atlas"]
    if size == "max":
        return ["atlas-max"]
    return [f"fleet-{i}" for i in range(1, SIZES[size].flow_teams + 1)]


def email_prefix(size: str, index: int) -> str:
    return {"demo": "", "max": "max-"}.get(size, f"f{index}-")


def is_loaded(size: str) -> bool:
    return FlowTeam.objects.filter(slug__in=slugs_for(size)).exists()


@transaction.atomic
def reset(size: str) -> None:
    teams = FlowTeam.objects.filter(slug__in=slugs_for(size))
    user_ids = list(Membership.objects.filter(flow_team__in=teams).values_list("user", flat=True))
    # Stories protect their Scrum Team, so they go first.
    Story.objects.filter(flow_team__in=teams).delete()
    teams.delete()
    User.objects.filter(pk__in=user_ids, memberships__isnull=True).delete()


def build(size: str, seed: int = 1, today: date | None = None) -> dict[str, int]:
    """Build every Flow Team of the data set; returns counts per model."""
    spec = SIZES[size]
    password = make_password("demo")  # one hash for all: PBKDF2 per user would take minutes
    started = time.monotonic()
    for index, slug in enumerate(slugs_for(size), start=1):
        rng = random.Random(f"{seed}:{slug}")
        name = {"demo": "Atlas", "max": "Atlas Max"}.get(size, f"Fleet {index}")
        with transaction.atomic():
            _FlowTeamBuilder(
                rng,
                spec,
                slug=slug,
                name=name,
                prefix=email_prefix(size, index),
                password=password,
                today=today,
            ).build()
    counts = _counts(slugs_for(size))
    counts["seconds"] = round(time.monotonic() - started, 2)
    return counts


def _insert_state_changes(rows: list[tuple]) -> None:
    """Story history rows (flow_team_id, story_id, from_state, to_state, at, by_id) in one
    executemany: they are most of every data set (~320,000 on fleet), nobody needs their ids,
    and building a model and its SQL per row was a third of the loading time."""
    ops = connection.ops
    columns = ("flow_team_id", "story_id", "from_state", "to_state", "at", "by_id")
    sql = (
        f"INSERT INTO {ops.quote_name(StateChange._meta.db_table)} "
        f"({', '.join(ops.quote_name(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*r[:4], ops.adapt_datetimefield_value(r[4]), r[5]) for r in rows])


def _counts(slugs: list[str]) -> dict[str, int]:
    teams = FlowTeam.objects.filter(slug__in=slugs)
    return {
        "flow teams": teams.count(),
        "scrum teams": teams.aggregate(n=Count("scrum_teams"))["n"],
        "members": Membership.objects.filter(flow_team__in=teams).count(),
        "epics": Epic.objects.filter(flow_team__in=teams).count(),
        "stories": Story.objects.filter(flow_team__in=teams).count(),
        "state changes": StateChange.objects.filter(flow_team__in=teams).count(),
        "flow sprints": FlowSprint.objects.filter(flow_team__in=teams).count(),
        "commitments": SprintCommitment.objects.filter(
            team_sprint__flow_sprint__flow_team__in=teams
        ).count(),
    }


SOS_ACTIONS = [
    "Agree one test data set for the payment flows",
    "Book the shared staging slot for the release rehearsal",
    "Ask the bank for the new API sandbox credentials",
    "Write down the ledger schema change for all teams",
    "Move the nightly build off the shared runner",
    "Pair the two teams on the export contract",
]
FLOW_RETRO_CARDS = [
    "Start: one shared definition of done across the teams",
    "Stop: starting stories in the sprint's last two days",
    "Continue: the Scrum of Scrums before lunch",
]
FLOW_IMPROVEMENTS = [
    ("Limit work in progress to two stories per developer", "wip"),
    ("Review pull requests within a day, across teams", "cycle_time_85"),
    ("Invite two customers to every Flow Sprint Review", ""),
]
SOS_IMPEDIMENTS = [
    "Staging database restored from an old backup, tests fail",
    "Waiting two days for a code review from the platform team",
    "The bank sandbox rejects our certificates",
]


class _FlowTeamBuilder:
    def __init__(self, rng, spec: Size, *, slug, name, prefix, password, today):
        self.rng, self.spec, self.slug, self.name = rng, spec, slug, name
        self.prefix, self.password = prefix, password
        self.tz_name = "Europe/Berlin"
        self.today = today

    # -- time helpers ---------------------------------------------------------

    def at(self, day: date, hour: float) -> datetime:
        """A UTC timestamp at a local hour of a local day."""
        local = datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(hours=hour)
        return local.astimezone(UTC)

    def build(self):
        spec = self.spec
        probe = FlowTeam(timezone=self.tz_name)
        self.tz = probe.tzinfo
        today = self.today or probe.today()
        self.now = datetime.now(UTC) if self.today is None else self.at(today, 17)
        current_start = today - timedelta(days=today.weekday())  # Monday of this week
        anchor = current_start - timedelta(weeks=2 * spec.past_sprints)
        self.flow_team = team_services.flow_team_create(
            name=self.name,
            slug=self.slug,
            cadence_anchor=anchor,
            sprint_length_weeks=2,
            timezone=self.tz_name,
        )
        self.scrum_teams = [
            team_services.scrum_team_create(flow_team=self.flow_team, name=TEAM_NAMES[i])
            for i in range(spec.scrum_teams)
        ]
        self._people()
        self._sprints(anchor)
        self._roadmap(anchor)
        self._stories()
        self._registers()
        # The cadence job's own work: future sprints and every open sprint's calendar.
        cadence_roll(flow_team=self.flow_team, today=today)
        self._past_retro()
        self._roadmap_history(today)
        self._planning_1()
        self._team_sprint_planning()
        self._scrum_of_scrums(today)
        self._improvements()
        self._daily_scrum(today)
        self._backlog_refinement()
        self._review()
        # And the metrics job's, once this Flow Team is committed: today's snapshots, so the
        # metrics page has charts from the first start (in-process when tasks run eagerly).
        pk, day = self.flow_team.pk, today.isoformat()
        transaction.on_commit(lambda: metrics_compute.delay(pk, day))

    # -- people ---------------------------------------------------------------

    def _people(self):
        rng, spec, p = self.rng, self.spec, self.prefix
        seats = []  # (email, [(role, team index or None)])
        seats.append((f"{p}cpo@example.com", [(Role.CPO, None)]))
        seats.append((f"{p}csm@example.com", [(Role.CSM, None)]))
        seats.append((f"{p}architect@example.com", [(Role.ARCHITECT, None)]))
        seats.append((f"{p}stakeholder@example.com", [(Role.STAKEHOLDER, None)]))
        per_team, extra = divmod(spec.members - len(seats), spec.scrum_teams)
        for t in range(spec.scrum_teams):
            n = t + 1
            headcount = per_team + (1 if t < extra else 0)
            seats.append((f"{p}po{n}@example.com", [(Role.PO, t)]))
            seats.append((f"{p}sm{n}@example.com", [(Role.SM, t)]))
            for d in range(1, headcount - 1):
                suffix = "" if d == 1 else f"-{d}"
                seats.append((f"{p}dev{n}{suffix}@example.com", [(Role.DEVELOPER, t)]))
        staff = {f"{p}cpo@example.com", f"{p}csm@example.com", f"{p}architect@example.com"}
        users = User.objects.bulk_create(
            User(
                email=email,
                full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                password=self.password,
                is_staff=email in staff,
            )
            for email, _ in seats
        )
        memberships = Membership.objects.bulk_create(
            Membership(flow_team=self.flow_team, user=user, seat=i)
            for i, user in enumerate(users, start=1)
        )
        RoleAssignment.objects.bulk_create(
            RoleAssignment(
                membership=m,
                flow_team=self.flow_team,
                role=role,
                scrum_team=self.scrum_teams[t] if t is not None else None,
            )
            for m, (_, roles) in zip(memberships, seats, strict=True)
            for role, t in roles
        )
        self.users = {email: u for (email, _), u in zip(seats, users, strict=True)}
        self.cpo = self.users[f"{p}cpo@example.com"]
        self.architect = self.users[f"{p}architect@example.com"]
        self.team_people = [[] for _ in self.scrum_teams]
        for (_, roles), user in zip(seats, users, strict=True):
            for _, t in roles:
                if t is not None:
                    self.team_people[t].append(user)

    # -- cadence --------------------------------------------------------------

    def _sprints(self, anchor: date):
        rng = self.rng
        rows = []
        for i in range(self.spec.past_sprints + 1):
            start = anchor + timedelta(weeks=2 * i)
            current = i == self.spec.past_sprints
            rows.append(
                FlowSprint(
                    flow_team=self.flow_team,
                    number=i + 1,
                    start=start,
                    end=start + timedelta(days=13),
                    goal=rng.choice(SPRINT_GOALS),
                    state=FlowSprint.State.ACTIVE if current else FlowSprint.State.CLOSED,
                    closed_at=None if current else self.at(start + timedelta(days=13), 18),
                )
            )
        self.sprints = FlowSprint.objects.bulk_create(rows)
        team_sprints = TeamSprint.objects.bulk_create(
            TeamSprint(
                flow_sprint=sprint,
                scrum_team=team,
                goal=f"{rng.choice(VERBS).capitalize()} {rng.choice(OBJECTS)} for "
                f"{rng.choice(ROLES_TEXT)}s",
                capacity_days=len(self.team_people[t]) * 9,
                capacity_points=len(self.team_people[t]) * 4,
            )
            for sprint in self.sprints
            for t, team in enumerate(self.scrum_teams)
        )
        self.team_sprint = {(ts.flow_sprint_id, ts.scrum_team_id): ts for ts in team_sprints}

    def sprint_at(self, day: date):
        index = (day - self.sprints[0].start).days // 14
        if 0 <= index < len(self.sprints):
            return self.sprints[index]
        return None

    # -- roadmap --------------------------------------------------------------

    def _roadmap(self, anchor: date):
        rng, spec = self.rng, self.spec
        ProductGoal.objects.create(
            flow_team=self.flow_team,
            statement="Become the simplest way for mid-sized firms to get paid on time",
            target_date=anchor + timedelta(weeks=2 * spec.past_sprints + 26),
        )
        self.milestones = Milestone.objects.bulk_create(
            Milestone(
                flow_team=self.flow_team,
                name=f"M{i + 1}: {rng.choice(SPRINT_GOALS)}",
                objective=f"{rng.randint(20, 80)}% of active accounts use it weekly",
                start=anchor + timedelta(weeks=9 * i),
                end=anchor + timedelta(weeks=9 * (i + 1)),
                order=i + 1,
            )
            for i in range(max(5, spec.past_sprints * 2 // 9 + 3))
        )
        states = ["done", "in_progress", "in_progress", "ready", "funnel", "funnel"]
        feas = ["feasible", "feasible", "concerns", "unassessed", "infeasible"]
        epics = []
        for i in range(spec.epics):
            state = states[min(len(states) - 1, i * len(states) // spec.epics)]
            epics.append(
                Epic(
                    flow_team=self.flow_team,
                    title=f"{rng.choice(VERBS).capitalize()} {rng.choice(OBJECTS)} at scale",
                    description="Why it matters, for whom, and how we will know.",
                    acceptance_conditions="Measured in production for two weeks.",
                    milestone=self.milestones[i % len(self.milestones)],
                    rank=(i + 1) * GAP,
                    business_value=rng.choice(WSJF),
                    time_criticality=rng.choice(WSJF),
                    risk_reduction=rng.choice(WSJF),
                    job_size=rng.choice(WSJF),
                    state=state,
                    feasibility=rng.choice(feas),
                    feasibility_note="Fits the current architecture." if rng.random() < 0.5 else "",
                )
            )
        self.epics = Epic.objects.bulk_create(epics)
        first = self.at(anchor, 9)
        StateChange.objects.bulk_create(
            StateChange(
                flow_team=self.flow_team,
                epic=e,
                from_state="",
                to_state="funnel",
                at=first,
                by=self.cpo,
            )
            for e in self.epics
        )

    def _roadmap_history(self, today: date):
        """Last month's Product Roadmap Refinement (done, with its outputs) and the roadmap's
        change log around it, so the roadmap's "changes since the last refinement" opens on
        a month of facts: re-scores, moves between milestones, feasibility, re-ranking."""
        rng = self.rng
        day = today - timedelta(days=28)
        sprint = self.sprint_at(day)
        if sprint is None:
            return
        began = self.at(day, 13)
        Event.objects.create(
            flow_team=self.flow_team,
            flow_sprint=sprint,
            kind=Event.Kind.ROADMAP_REFINEMENT,
            level=Event.Level.FLOW,
            starts_at=began,
            duration_minutes=120,
            facilitator=self.cpo,
            participant_roles=["cpo", "po", "architect", "stakeholder"],
            state=Event.State.DONE,
            started_at=began,
            ended_at=began + timedelta(minutes=110),
            recorded_outputs={
                slug: "Re-scored the funnel; M3 kept; two epics moved to M4."
                for slug, _label in OUTPUTS["roadmap_refinement"]
            },
            outputs_version=1,
            outputs_recorded_at=began + timedelta(minutes=110),
            outputs_recorded_by=self.cpo,
        )
        changes = []
        first = day - timedelta(days=7)
        days = max(1, (today - first).days)
        for n, epic in enumerate(rng.sample(self.epics, min(14, len(self.epics)))):
            # Working hours, spread from a week before the refinement until yesterday.
            at = min(self.at(first + timedelta(days=n * days // 14), 9 + n % 8), self.now)
            kind = ("rescored", "moved", "feasibility", "ranked")[n % 4]
            if kind == "feasibility" and epic.feasibility == "unassessed":
                kind = "rescored"
            by = self.architect if kind == "feasibility" else self.cpo
            if kind == "rescored":
                before = {
                    "business_value": rng.choice([v for v in WSJF if v != epic.business_value]),
                    "job_size": epic.job_size,
                }
                after = {"business_value": epic.business_value, "job_size": epic.job_size}
            elif kind == "moved":
                other = rng.choice([m for m in self.milestones if m.pk != epic.milestone_id])
                before, after = {"milestone": other.pk}, {"milestone": epic.milestone_id}
            elif kind == "feasibility":
                before, after = {"feasibility": "unassessed"}, {"feasibility": epic.feasibility}
            else:
                before, after = {"rank": epic.rank + GAP // 2}, {"rank": epic.rank}
            changes.append(
                RoadmapChange(
                    flow_team=self.flow_team,
                    epic=epic,
                    kind=kind,
                    before=before,
                    after=after,
                    at=at,
                    by=by,
                )
            )
        RoadmapChange.objects.bulk_create(changes)

    # -- stories and their history -------------------------------------------

    def _stories(self):
        rng, spec = self.rng, self.spec
        start = self.sprints[0].start - timedelta(days=14)
        span_days = (self.now.date() - start).days
        stories, histories = [], []
        per_team = [spec.stories // spec.scrum_teams] * spec.scrum_teams
        for t in range(spec.stories % spec.scrum_teams):
            per_team[t] += 1
        for t, team in enumerate(self.scrum_teams):
            devs = self.team_people[t][2:] or self.team_people[t]
            for i in range(per_team[t]):
                # Older stories are more likely done: creation skews to the past.
                created_day = start + timedelta(days=int(span_days * rng.random() ** 0.8))
                created = self.at(created_day, rng.uniform(8, 17))
                timeline = self._timeline(created)
                state = timeline[-1][1]
                verb, obj = rng.choice(VERBS), rng.choice(OBJECTS)
                stories.append(
                    Story(
                        flow_team=self.flow_team,
                        scrum_team=team,
                        epic=rng.choice(self.epics) if rng.random() < 0.8 else None,
                        title=f"{verb.capitalize()} {obj}",
                        as_a=f"a {rng.choice(ROLES_TEXT)}",
                        i_want=f"to {verb} {obj}",
                        so_that="I spend less time on it",
                        kind=rng.choice(KINDS),
                        points=rng.choice(POINTS)
                        if state != "backlog" or rng.random() < 0.5
                        else None,
                        rank=(i + 1) * GAP,
                        assignee=rng.choice(devs) if state not in ("backlog", "ready") else None,
                        state=state,
                    )
                )
                histories.append(timeline)
        stories = Story.objects.bulk_create(stories, batch_size=2000)

        changes, criteria, tasks, blockers, commitments = [], [], [], [], []
        flow_team_id = self.flow_team.pk
        for story, timeline, t_index in zip(
            stories, histories, self._team_index(stories), strict=True
        ):
            by = story.assignee or self.team_people[t_index][0]
            prev = ""
            for at, to_state in timeline:
                changes.append((flow_team_id, story.pk, prev, to_state, at, by.pk))
                prev = to_state
            n_criteria = rng.randint(1, 4) if story.points is not None else rng.randint(0, 2)
            for pos in range(1, n_criteria + 1):
                checked = story.state == "done" or (story.state == "in_review" and pos > 1)
                criteria.append(
                    AcceptanceCriterion(
                        story_id=story.pk,
                        position=pos,
                        text=f"{story.title} works for {rng.choice(ROLES_TEXT)}s ({pos})",
                        checked=checked,
                        checked_by_id=by.pk if checked else None,
                        checked_at=timeline[-1][0] if checked else None,
                    )
                )
            if story.state in ("in_progress", "in_review"):
                for k in range(rng.randint(2, 4)):
                    tasks.append(
                        Task(
                            story=story,
                            title=f"Step {k + 1}: {rng.choice(VERBS)}",
                            assignee=story.assignee,
                            done=rng.random() < 0.5,
                        )
                    )
            blockers.extend(self._blockers(story, timeline, by))
            commitments.extend(self._commitments(story, timeline, by))
        _insert_state_changes(changes)
        AcceptanceCriterion.objects.bulk_create(criteria, batch_size=5000)
        Task.objects.bulk_create(tasks, batch_size=5000)
        Blocker.objects.bulk_create(blockers, batch_size=5000)
        SprintCommitment.objects.bulk_create(commitments, batch_size=5000)
        # auto_now_add ignores given values: put the real creation times back, in one
        # statement from each story's first history row (a bulk_update of 6,000 rows builds
        # a CASE per row and took a third of the whole seed).
        created = StateChange.objects.filter(story=OuterRef("pk"), from_state="").values("at")[:1]
        Story.objects.filter(flow_team=self.flow_team).update(
            created_at=Subquery(created), updated_at=Subquery(created)
        )
        blocked = {b.story_id: b.reason for b in blockers if b.cleared_at is None}
        if blocked:
            still = [s for s in stories if s.pk in blocked]
            for s in still:
                s.blocked, s.blocked_reason = True, blocked[s.pk]
            Story.objects.bulk_update(still, ["blocked", "blocked_reason"])
        self.stories = stories

    def _team_index(self, stories):
        index = {team.pk: t for t, team in enumerate(self.scrum_teams)}
        return [index[s.scrum_team_id] for s in stories]

    def _timeline(self, created: datetime) -> list[tuple[datetime, str]]:
        """The states a story went through, with when. Stops at now."""
        rng, now = self.rng, self.now
        steps = [(created, "backlog")]
        t = created + timedelta(days=rng.expovariate(1 / 4))
        if t >= now:
            return steps
        steps.append((t, "ready"))
        # Work starts in the first days of a Flow Sprint (taken at planning).
        sprint = self.sprint_at(t.astimezone(self.tz).date())
        if sprint is not None:
            next_start = sprint.end + timedelta(days=1)
            t = self.at(next_start, 0) + timedelta(hours=rng.uniform(10, 4 * 24))
        else:
            t += timedelta(days=rng.uniform(1, 5))
        if t >= now:
            return steps
        steps.append((t, "in_progress"))
        rounds = 2 if rng.random() < 0.05 else 1  # ~5% are reopened once
        for r in range(rounds):
            if r:
                t += timedelta(days=rng.uniform(0.5, 3))
                if t >= now:
                    return steps
                steps.append((t, "in_progress"))
            work_days = min(20.0, rng.lognormvariate(1.1, 0.6))
            t += timedelta(days=work_days * 0.7)
            if t >= now:
                return steps
            if rng.random() < 0.85:  # some skip the review
                steps.append((t, "in_review"))
                if rng.random() < 0.3:  # review sends it back once
                    t += timedelta(days=rng.uniform(0.2, 1.5))
                    if t >= now:
                        return steps
                    steps.append((t, "in_progress"))
                    t += timedelta(days=rng.uniform(0.5, 2))
                    if t >= now:
                        return steps
                    steps.append((t, "in_review"))
                t += timedelta(days=work_days * 0.3)
                if t >= now:
                    return steps
            steps.append((t, "done"))
        return steps

    def _blockers(self, story, timeline, by):
        rng = self.rng
        starts = [at for at, s in timeline if s == "in_progress"]
        if not starts or rng.random() >= 0.08:
            return []
        raised = starts[0] + timedelta(hours=rng.uniform(2, 30))
        finish = timeline[-1][0] if story.state == "done" else self.now
        if raised >= finish:
            return []
        cleared = raised + timedelta(hours=rng.uniform(4, 72))
        reason = rng.choice(
            [
                "Waiting for the payments API of Team 2",
                "Test environment down",
                "Unclear acceptance criterion",
                "Licence approval pending",
            ]
        )
        if cleared >= finish:
            if story.state == "done":
                cleared = raised + (finish - raised) / 2
            else:
                cleared = None  # still blocked now
        return [
            Blocker(
                story=story,
                reason=reason,
                raised_at=raised,
                raised_by=by,
                cleared_at=cleared,
                cleared_by=by if cleared else None,
            )
        ]

    def _commitments(self, story, timeline, by):
        """Planned into the sprint where work started; carried over while unfinished."""
        starts = [at for at, s in timeline if s == "in_progress"]
        if not starts:
            return []
        first = self.sprint_at(starts[0].astimezone(self.tz).date())
        if first is None:
            return []
        done_at = timeline[-1][0] if story.state == "done" else None
        done_sprint = self.sprint_at(done_at.astimezone(self.tz).date()) if done_at else None
        rows = []
        for sprint in self.sprints[self.sprints.index(first) :]:
            if done_sprint is not None and sprint.number > done_sprint.number:
                break
            if sprint.state == FlowSprint.State.ACTIVE:
                outcome = "done" if done_sprint == sprint else "open"
            else:
                outcome = "done" if done_sprint == sprint else "carried_over"
            rows.append(
                SprintCommitment(
                    team_sprint_id=self.team_sprint[(sprint.pk, story.scrum_team_id)].pk,
                    story_id=story.pk,
                    points_at_planning=story.points,
                    planned=True,
                    outcome=outcome,
                    committed_at=self.at(sprint.start, 10),
                    committed_by_id=by.pk,
                )
            )
        return rows

    # -- the previous sprint's team retro -------------------------------------

    def _past_retro(self):
        """The first team's retro of the previous Flow Sprint, closed: cards in the three
        columns, grouped and voted, and its actions (one done, two still open, so the
        current sprint's retro of that team reviews them first)."""
        if len(self.sprints) < 2:
            return
        sprint, team, people = self.sprints[-2], self.scrum_teams[0], self.team_people[0]
        starts = self.at(sprint.end, 13)
        event = Event.objects.create(
            flow_team=self.flow_team,
            flow_sprint=sprint,
            scrum_team=team,
            kind=Event.Kind.TEAM_RETRO,
            level=Event.Level.TEAM,
            starts_at=starts,
            duration_minutes=60,
            facilitator=people[1 % len(people)],
            participant_roles=[Role.PO, Role.SM, Role.DEVELOPER],
            state=Event.State.DONE,
            started_at=starts,
            ended_at=starts + timedelta(minutes=55),
        )
        board = Retrospective.objects.create(event=event, phase=Retrospective.Phase.CLOSED)
        texts = [
            (0, "Pair on every story touching payments"),
            (0, "Split stories before planning"),
            (1, "Starting stories on the last day"),
            (1, "Reviews waiting two days"),
            (2, "The Daily Scrum in 10 minutes"),
            (2, "Demoing from the test system"),
        ]
        cards = [
            RetroCard.objects.create(
                retrospective=board,
                column=column,
                text=text,
                author=people[i % len(people)],
                author_key=author_key(board.pk, people[i % len(people)].pk),
            )
            for i, (column, text) in enumerate(texts)
        ]
        RetroCard.objects.filter(pk=cards[3].pk).update(group=cards[2])
        RetroVote.objects.bulk_create(
            RetroVote(card=cards[k], voter=person)
            for person in people
            for k in self.rng.sample([0, 1, 2, 4], 3)
        )
        for text, done, owner in [
            ("Review pull requests within a day", False, people[0]),
            ("Slice stories to at most 5 points", False, people[-1]),
            ("Keep the Daily Scrum to 15 minutes", True, people[1 % len(people)]),
        ]:
            action = ActionItem.objects.create(
                event=event,
                text=text,
                owner=owner,
                due_date=sprint.end + timedelta(days=14),
                done=done,
                done_at=starts + timedelta(days=3) if done else None,
                done_by=owner if done else None,
                scrum_team=team,
            )
            ActionItem.objects.filter(pk=action.pk).update(created_at=starts)

    # -- improvement items: the Flow Backlog and the teams' ----------------------

    def _improvements(self):
        """The previous sprint's Flow Sprint Retrospective, closed, with its improvement
        items; every open item numbered in its backlog by age; and a few naming the flow
        metric they should move, with that metric's real value of the day they were raised
        (the metrics job's snapshot of the day before, computed here)."""
        if len(self.sprints) < 2:
            return
        sprint, csm = self.sprints[-2], self.users[f"{self.prefix}csm@example.com"]
        cpo = self.cpo
        starts = self.at(sprint.end, 15)
        event = Event.objects.create(
            flow_team=self.flow_team,
            flow_sprint=sprint,
            kind=Event.Kind.FLOW_RETRO,
            level=Event.Level.FLOW,
            starts_at=starts,
            duration_minutes=60,
            facilitator=csm,
            participant_roles=[Role.CSM, Role.CPO, Role.PO, Role.SM, Role.ARCHITECT],
            state=Event.State.DONE,
            started_at=starts,
            ended_at=starts + timedelta(minutes=50),
        )
        board = Retrospective.objects.create(event=event, phase=Retrospective.Phase.CLOSED)
        for column, text in enumerate(FLOW_RETRO_CARDS):
            RetroCard.objects.create(retrospective=board, column=column, text=text, author=csm)
        for n, (text, metric) in enumerate(FLOW_IMPROVEMENTS):
            item = ActionItem.objects.create(
                event=event,
                text=text,
                owner=[csm, cpo][n % 2],
                due_date=sprint.end + timedelta(days=21),
                metric=metric,
            )
            ActionItem.objects.filter(pk=item.pk).update(created_at=event.ended_at)
        open_items = ActionItem.objects.filter(event__flow_team=self.flow_team, done=False)
        items = list(open_items.order_by("created_at", "pk"))
        counters: dict = {}
        for item in items:
            counters[item.scrum_team_id] = counters.get(item.scrum_team_id, 0) + 1
            item.priority = counters[item.scrum_team_id]
        # Some SoS items name a metric too, so a team's list shows one.
        team_items = [i for i in items if i.scrum_team_id and not i.metric]
        for item, metric in zip(team_items, ["wip", "cycle_time_85"], strict=False):
            item.metric = metric
        self._metric_before(i for i in items if i.metric)
        ActionItem.objects.bulk_update(
            items, ["priority", "metric", "metric_before", "metric_before_as_of"]
        )

    def _metric_before(self, items):
        by_day: dict = {}
        for item in items:
            raised = item.created_at.astimezone(self.tz).date()
            by_day.setdefault(raised - timedelta(days=1), []).append(item)
        for day, raised in sorted(by_day.items()):
            metric_snapshots_compute(flow_team=self.flow_team, as_of=day)
            data = dict(
                MetricSnapshot.objects.filter(flow_team=self.flow_team, as_of=day).values_list(
                    "scrum_team_id", "data"
                )
            )
            for item in raised:
                item.metric_before = metric_value(data.get(item.scrum_team_id), item.metric)
                item.metric_before_as_of = day if item.metric_before is not None else None

    # -- dependency and risk registers ---------------------------------------

    def _registers(self):
        rng = self.rng
        open_stories = [s for s in self.stories if s.state != "done"]
        deps = []
        for _ in range(max(3, len(self.stories) // 15)):
            a, b = rng.sample(open_stories, 2)
            if a.scrum_team_id == b.scrum_team_id:
                continue
            deps.append(
                Dependency(
                    flow_team=self.flow_team,
                    from_story=a,
                    to_story=b,
                    needed_by=self.sprints[-1],
                    description=f"{a.title} needs {b.title}",
                    state=rng.choice(["open", "open", "resolved"]),
                )
            )
        deps = Dependency.objects.bulk_create(deps)
        Risk.objects.bulk_create(
            Risk(
                flow_team=self.flow_team,
                scrum_team=rng.choice(self.scrum_teams),
                title=f"{rng.choice(OBJECTS).capitalize()} load may exceed capacity",
                owner=rng.choice(self.team_people[0]),
                impact=rng.choice(["low", "medium", "high", "critical"]),
                roam=rng.choice(["open", "resolved", "owned", "accepted", "mitigated"]),
                mitigation="Load test before release; fallback queue.",
                dependency=rng.choice(deps) if deps and rng.random() < 0.3 else None,
            )
            for _ in range(len(self.scrum_teams) * 2)
        )
        # Planning 2 has something to warn about on the demo: a high risk nobody has planned
        # for yet, on the first open dependency.
        open_deps = [d for d in deps if d.state == "open"]
        Risk.objects.create(
            flow_team=self.flow_team,
            scrum_team=self.scrum_teams[0],
            title="Payment provider may not certify us in time",
            owner=self.team_people[0][0],
            impact="high",
            roam="open",
            mitigation="",
            dependency=open_deps[0] if open_deps else None,
        )

    # -- Flow Sprint Planning 1 ----------------------------------------------------

    def _planning_1(self):
        """What the planning board shows on the demo: epics claimed by teams for the
        current and next Flow Sprints, ready stories planned into the next one against a
        capacity (the later sprints without one), and dependencies between those stories
        in every state of their contract, so the markers come in red, orange and green."""
        rng = self.rng
        coming = list(
            FlowSprint.objects.filter(flow_team=self.flow_team)
            .exclude(state=FlowSprint.State.CLOSED)
            .order_by("number")[:4]
        )
        if len(coming) < 4:
            return
        current, following, later, last = coming
        epics = [e for e in self.epics if e.state not in ("done", "cancelled")][:6]
        po = {t.pk: self.team_people[i][0] for i, t in enumerate(self.scrum_teams)}
        claims = {}
        for team in self.scrum_teams:
            for sprint in (current, following):
                for epic in rng.sample(epics, min(2, len(epics))):
                    claims[(epic.pk, team.pk, sprint.pk)] = EpicClaim(
                        epic=epic,
                        scrum_team=team,
                        flow_sprint=sprint,
                        claimed_at=self.now - timedelta(hours=rng.randint(1, 48)),
                        claimed_by=po[team.pk],
                    )
        EpicClaim.objects.bulk_create(claims.values())
        TeamSprint.objects.filter(flow_sprint=following).update(capacity_points=20)
        with_criteria = set(
            AcceptanceCriterion.objects.filter(story__flow_team=self.flow_team).values_list(
                "story_id", flat=True
            )
        )
        committed = set(
            SprintCommitment.objects.filter(
                team_sprint__flow_sprint__flow_team=self.flow_team
            ).values_list("story_id", flat=True)
        )
        ready = [
            s
            for s in self.stories
            if s.state in ("backlog", "ready")
            and s.points is not None
            and s.pk in with_criteria
            and s.pk not in committed
        ]
        team_sprints = {
            (ts.flow_sprint_id, ts.scrum_team_id): ts
            for ts in TeamSprint.objects.filter(flow_sprint__in=[following, later])
        }
        planned = {}
        for team in self.scrum_teams:
            theirs = [s for s in ready if s.scrum_team_id == team.pk]
            for n, story in enumerate(theirs[:3]):
                sprint = following if n < 2 else later
                planned[story.pk] = (story, sprint)
        SprintCommitment.objects.bulk_create(
            SprintCommitment(
                team_sprint=team_sprints[(sprint.pk, story.scrum_team_id)],
                story=story,
                points_at_planning=story.points,
                committed_at=self.now - timedelta(hours=2),
                committed_by=po[story.scrum_team_id],
            )
            for story, sprint in planned.values()
        )
        # Needing story -> providing story (another team's), with its needed-by sprint
        # and how far the contract got.
        providers = list(planned.values())
        contracts = [
            (following, "requested"),  # provider planned in the next sprint: orange
            (later, "committed"),  # committed in time: green
            (following, "countered"),  # counter-proposed a later sprint: red until settled
            (last, "accepted"),
            (following, "requested"),
        ]
        steps, deps = [], []
        for n, (needed_by, contract) in enumerate(contracts):
            if len(providers) < 2:
                break
            provider, provided_in = providers[(2 * n + 2) % len(providers)]
            requester = next(
                (s for s, _ in providers if s.scrum_team_id != provider.scrum_team_id), None
            )
            if requester is None:
                break
            committed_sprint = {"committed": following, "accepted": last}.get(contract)
            proposed = last if contract == "countered" else None
            deps.append(
                Dependency(
                    flow_team=self.flow_team,
                    from_story=requester,
                    to_story=provider,
                    needed_by=needed_by,
                    description=f"{requester.title} needs {provider.title}",
                    contract=contract,
                    committed_sprint=committed_sprint,
                    proposed_sprint=proposed,
                )
            )
        deps = Dependency.objects.bulk_create(deps)
        for dep in deps:
            asked = self.now - timedelta(hours=rng.randint(20, 40))
            requester, provider = po[dep.from_story.scrum_team_id], po[dep.to_story.scrum_team_id]
            steps.append(
                DependencyStep(
                    dependency=dep, kind="raised", flow_sprint=dep.needed_by, at=asked, by=requester
                )
            )
            answered = asked + timedelta(hours=3)
            if dep.contract in ("committed", "countered", "accepted"):
                kind = "committed" if dep.contract == "committed" else "countered"
                sprint = (
                    dep.committed_sprint
                    if kind == "committed"
                    else (dep.proposed_sprint or dep.committed_sprint)
                )
                steps.append(
                    DependencyStep(
                        dependency=dep, kind=kind, flow_sprint=sprint, at=answered, by=provider
                    )
                )
            if dep.contract == "accepted":
                steps.append(
                    DependencyStep(
                        dependency=dep,
                        kind="accepted",
                        flow_sprint=dep.committed_sprint,
                        at=answered + timedelta(hours=1),
                        by=requester,
                    )
                )
        DependencyStep.objects.bulk_create(steps)

    def _team_sprint_planning(self):
        """Team 1's Team Sprint Planning of the next Flow Sprint (after _planning_1): two
        members give fewer days (a holiday, a training), so the proposed capacity sits
        below the velocity; a planned story is already broken into tasks."""
        from backlog.models import Task
        from flow.capacity.selectors import sprint_working_days
        from flow.models import MemberAvailability

        following = (
            FlowSprint.objects.filter(flow_team=self.flow_team, state=FlowSprint.State.PLANNED)
            .order_by("number")
            .first()
        )
        team = self.scrum_teams[0]
        team_sprint = TeamSprint.objects.filter(flow_sprint=following, scrum_team=team).first()
        if team_sprint is None:
            return
        people = self.team_people[0]
        full = sprint_working_days(team_sprint)
        given = {people[-1]: full - 4, people[-2]: full - 1.5} if len(people) > 3 else {}
        MemberAvailability.objects.bulk_create(
            MemberAvailability(team_sprint=team_sprint, user=user, days=days)
            for user, days in given.items()
        )
        TeamSprint.objects.filter(pk=team_sprint.pk).update(
            capacity_days=full * len(people) - sum(full - d for d in given.values()),
            goal="",
        )
        # A story the refinement has not finished: the screen says why it cannot be planned.
        AcceptanceCriterion.objects.filter(
            story=Story.objects.filter(scrum_team=team, state=Story.State.BACKLOG)
            .exclude(commitments__isnull=False)
            .order_by("-rank")
            .first()
        ).delete()
        story = Story.objects.filter(commitments__team_sprint=team_sprint).order_by("rank").first()
        if story is not None:
            Task.objects.bulk_create(
                Task(story=story, title=title, assignee=people[n % len(people)], done=n == 0)
                for n, title in enumerate(
                    ["Sketch the screen", "Write the API call", "Test with real data"]
                )
            )

    # -- Scrum of Scrums: past meetings, their answers and action items -------------

    SOS_PAST = 4  # weeks of past Scrum of Scrums

    def _scrum_of_scrums(self, today: date):
        """The last four weekly Scrum of Scrums (Wednesdays 10:00) as they ran: each team's
        answers saved by its SM, two action items each, the older ones mostly closed; and
        Daily Scrum impediments since the last one, so the next Scrum of Scrums opens with
        open action items and a prefilled draft for each team."""
        rng = self.rng
        existing = {
            (e.flow_sprint_id, e.occurrence): e
            for e in Event.objects.filter(flow_team=self.flow_team, kind="scrum_of_scrums")
        }
        wednesday = today - timedelta(days=(today.weekday() - 2) % 7)
        meetings = []
        for weeks_ago in range(self.SOS_PAST, -1, -1):
            day = wednesday - timedelta(weeks=weeks_ago)
            starts = self.at(day, 10)
            sprint = self.sprint_at(day)
            if sprint is None or starts + timedelta(minutes=45) > self.now:
                continue
            occurrence = (day - sprint.start).days // 7 + 1
            event = existing.get((sprint.pk, occurrence)) or Event(
                flow_team=self.flow_team,
                flow_sprint=sprint,
                kind="scrum_of_scrums",
                level="flow",
                occurrence=occurrence,
                starts_at=starts,
                duration_minutes=45,
                participant_roles=["csm", "po", "sm", "cpo", "architect"],
            )
            event.state, event.started_at = "done", starts
            event.ended_at = starts + timedelta(minutes=rng.choice([35, 40, 45]))
            event.save()
            meetings.append(event)
        csm = self.users[f"{self.prefix}csm@example.com"]
        reports, items = [], []
        for n, event in enumerate(meetings):
            for t, team in enumerate(self.scrum_teams):
                sm = self.team_people[t][1] if len(self.team_people[t]) > 1 else None
                reports.append(
                    ScrumOfScrumsReport(
                        event=event,
                        scrum_team=team,
                        done_since_last=f"- Finished the {rng.choice(OBJECTS)} "
                        f"{rng.choice(['export', 'import', 'screen', 'API'])}",
                        next_until_next=f"- {rng.choice(VERBS).capitalize()} "
                        f"{rng.choice(OBJECTS)} for {rng.choice(TEAM_NAMES[:5])}",
                        impediments=rng.choice(
                            ["", "- Test environment down twice", "- Waiting for the bank"]
                        ),
                        in_others_way=rng.choice(["", "- Schema change in the shared ledger"]),
                        dependencies=rng.choice(["", "- Needs the payment API by next sprint"]),
                        submitted_by=sm,
                        drafted_at=event.starts_at - timedelta(days=1),
                        version=2,
                    )
                )
            for k in range(2):
                raised = event.ended_at
                # The older meetings' items are mostly closed; one of each stays open.
                closed = n < len(meetings) - 1 and k == 0
                items.append(
                    ActionItem(
                        event=event,
                        text=rng.choice(SOS_ACTIONS),
                        owner=rng.choice([csm, *(p[1] for p in self.team_people if len(p) > 1)]),
                        scrum_team=rng.choice([None, *self.scrum_teams]),
                        due_date=(raised + timedelta(days=7)).date(),
                        done=closed,
                        done_at=raised + timedelta(days=rng.randint(1, 6)) if closed else None,
                        done_by=csm if closed else None,
                    )
                )
        ScrumOfScrumsReport.objects.bulk_create(reports)
        for event in meetings:  # saved the day before each meeting, as the drafts were
            ScrumOfScrumsReport.objects.filter(event=event).update(
                updated_at=event.starts_at - timedelta(hours=20)
            )
        created = ActionItem.objects.bulk_create(items)
        # Keep the created_at of each item at its meeting, so its age is honest.
        for item, meeting_item in zip(created, items, strict=True):
            ActionItem.objects.filter(pk=item.pk).update(
                created_at=meeting_item.event.ended_at, updated_at=meeting_item.event.ended_at
            )
        # The register's risks were raised over the past sprints; two are new since the last
        # Scrum of Scrums. Impediments from the latest Daily Scrums, noted since then too.
        risks = list(Risk.objects.filter(flow_team=self.flow_team).values_list("pk", flat=True))
        Risk.objects.filter(pk__in=risks).update(created_at=self.at(self.sprints[0].start, 11))
        Risk.objects.filter(pk__in=rng.sample(risks, min(2, len(risks)))).update(
            created_at=self.now - timedelta(hours=2)
        )
        notes = []
        for daily in (
            Event.objects.filter(
                flow_team=self.flow_team, kind="daily_scrum", starts_at__lt=self.now
            )
            .select_related("scrum_team")
            .order_by("-starts_at")[:6]
        ):
            t = self.scrum_teams.index(daily.scrum_team)
            person = self.team_people[t][-1]
            notes.append(
                DailyScrumNote(
                    event=daily,
                    person=person,
                    yesterday="Paired on the review comments",
                    today="Finish the story",
                    impediments=rng.choice(SOS_IMPEDIMENTS),
                )
            )
        DailyScrumNote.objects.bulk_create(notes)

    # -- the next Daily Scrum of the first team ------------------------------------

    def _daily_scrum(self, today: date):
        """Team 1's Daily Scrum today (or the next one) opens on a board worth talking
        about: besides the team's work in progress, a story carried over from the previous
        sprint and blocked since yesterday (old against the team's cycle time), a ready one, and the
        notes of two of its people, one naming an impediment; the others have not spoken."""
        team = self.scrum_teams[0]
        midnight = self.at(today, 0)
        event = (
            Event.objects.filter(scrum_team=team, kind="daily_scrum", starts_at__gte=midnight)
            .exclude(state="cancelled")
            .order_by("starts_at")
            .first()
        )
        if event is None:
            return
        team_sprint = self.team_sprint.get((event.flow_sprint_id, team.pk))
        spare = list(
            Story.objects.filter(scrum_team=team, state="ready", commitments__isnull=True).order_by(
                "rank"
            )[:2]
        )
        if team_sprint is None or not spare:
            return
        people = self.team_people[0]
        # Carried into this sprint: started ten days ago, older than most of the team's work.
        started = self.now - timedelta(days=9, hours=2)
        old = spare[0]
        StateChange.objects.create(
            flow_team=self.flow_team, story=old, from_state="ready", to_state="in_progress",
            at=started, by=people[-1],
        )  # fmt: skip
        reason = "Waiting for the payments API of Team 2"
        Blocker.objects.create(
            story=old, reason=reason, raised_at=self.now - timedelta(hours=20), raised_by=people[-1]
        )
        Story.objects.filter(pk=old.pk).update(
            state="in_progress", blocked=True, blocked_reason=reason, assignee=people[-1]
        )
        commitments = [
            SprintCommitment(
                team_sprint=team_sprint,
                story=story,
                points_at_planning=story.points,
                committed_at=self.at(event.flow_sprint.start, 10),
                committed_by=people[0],
            )
            for story in spare
        ]
        before = self.sprint_at(started.astimezone(self.tz).date())
        if before is not None and before.pk != event.flow_sprint_id:
            commitments.append(
                SprintCommitment(
                    team_sprint=self.team_sprint[(before.pk, team.pk)],
                    story=old,
                    points_at_planning=old.points,
                    outcome="carried_over",
                    committed_at=started,
                    committed_by=people[0],
                )
            )
        SprintCommitment.objects.bulk_create(commitments)
        notes = [
            (people[-1], "Chased the payments API with Team 2", "Start on the refund screen",
             "Blocked on Team 2's payments API since yesterday"),
            (people[0], "Accepted the export story", "Refine the next epic with the Architect",
             ""),
        ]  # fmt: skip
        for person, yesterday, doing, impediments in notes:
            DailyScrumNote.objects.update_or_create(
                event=event,
                person=person,
                defaults={"yesterday": yesterday, "today": doing, "impediments": impediments},
            )

    # -- Product Backlog Refinement ---------------------------------------------

    def _backlog_refinement(self):
        """The next Product Backlog Refinement of the first team: the top epic in the funnel
        or ready split into four of the team's waiting stories (two estimated with criteria,
        one without criteria, one with neither), and a poker round open on the last. The
        data set keeps its size: the stories are the team's own, moved under the epic."""
        team, people = self.scrum_teams[0], self.team_people[0]
        upcoming = (
            Event.objects.filter(
                flow_team=self.flow_team,
                kind=Event.Kind.BACKLOG_REFINEMENT,
                scrum_team=team,
                starts_at__gte=self.now,
            )
            .order_by("starts_at")
            .first()
        )
        epic = (
            Epic.objects.filter(flow_team=self.flow_team, state__in=["funnel", "ready"])
            .order_by("rank")
            .first()
        )
        waiting = Story.objects.filter(scrum_team=team).order_by("rank")
        # Two ready ones (an estimate and criteria already), two still in the backlog.
        stories = [*waiting.filter(state="ready")[:2], *waiting.filter(state="backlog")[:2]]
        if upcoming is None or epic is None or len(stories) < 4:
            return
        Story.objects.filter(pk__in=[s.pk for s in stories]).update(epic=epic)
        Story.objects.filter(pk__in=[stories[2].pk]).update(points=8)
        Story.objects.filter(pk=stories[3].pk).update(points=None)
        AcceptanceCriterion.objects.filter(story__in=stories[2:]).delete()
        # Three developers have voted; the demo's PO, SM and developer (po1, sm1, dev1) not yet.
        round_ = PokerRound.objects.create(
            event=upcoming, story=stories[3], opened_by=people[1 % len(people)], opened_at=self.now
        )
        PokerVote.objects.bulk_create(
            PokerVote(round=round_, voter=person, value=value)
            for person, value in zip(people[3:6], ["5", "8", "5"], strict=False)
        )

    # -- the current Flow Sprint's review ---------------------------------------

    def _review(self):
        """The current Flow Sprint's review, ready to run: the teams' showing order set by
        the CSM, feedback from the stakeholder (on a demoed story) and the Architect (on an
        epic). Turning them into backlog items is left to the people in the room, so the
        data set's story count stays as quality.md gives it."""
        from events.review import selectors as review_selectors
        from events.review import services as review
        from teams.selectors import actor_for

        event = Event.objects.filter(flow_sprint=self.sprints[-1], kind=Event.Kind.REVIEW).first()
        if event is None:
            return
        p = self.prefix
        actor = {
            key: actor_for(user=self.users[f"{p}{key}@example.com"], flow_team=self.flow_team)
            for key in ("csm", "architect", "stakeholder")
        }
        order = [t.pk for t in self.scrum_teams]
        review.demo_order_set(actor=actor["csm"], event=event, team_ids=order[1:] + order[:1])
        stories = review_selectors.demo_stories(event)
        if stories:
            review.feedback_add(
                actor=actor["stakeholder"],
                event=event,
                text=f"{stories[0].title}: customers will want this as a weekly e-mail too",
                story_id=stories[0].pk,
            )
        open_epics = [e for e in self.epics if e.state not in ("done", "cancelled")]
        if open_epics:
            review.feedback_add(
                actor=actor["architect"],
                event=event,
                text="Load-test the export path before the next milestone",
                epic_id=open_epics[0].pk,
            )
