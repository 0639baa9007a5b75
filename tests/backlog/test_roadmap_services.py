"""The roadmap's services: the CPO plans, the Architect assesses, everyone else reads.

Each refusal names its field and writes nothing; each change writes its RoadmapChange
rows (before/after) and bumps the roadmap's live version in the same transaction."""

import datetime

import pytest

from backlog import selectors, services
from backlog.models import Epic, Milestone, ProductGoal, RoadmapChange, StateChange
from backlog.ranking import GAP
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from teams import services as team_services
from teams.models import Membership, WebhookDelivery
from teams.webhooks import webhook_subscriptions
from tests.teams.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

NOT_CPO = ["csm", "architect", "stakeholder", "po1", "sm1", "dev1"]
START = datetime.date(2026, 3, 2)
WEEK = datetime.timedelta(weeks=1)


def live(flow):
    key = services.roadmap_live_key(flow.flow_team.pk)
    return live_versions([key])[key]


def changes(**filters):
    return list(
        RoadmapChange.objects.filter(**filters)
        .order_by("id")
        .values_list("kind", "before", "after")
    )


def milestone(flow, name="M1", weeks=9, start=START):
    return services.milestone_create(
        actor=flow.actor("cpo"),
        name=name,
        objective=f"{name} done",
        start=start,
        end=start + datetime.timedelta(weeks=weeks),
    )


def epic(flow, title="Billing", **fields):
    return services.epic_create(actor=flow.actor("cpo"), title=title, **fields)


def refused(call, field, message):
    with pytest.raises(RuleViolation) as error:
        call()
    assert error.value.detail == {field: [message]}
    return error.value


# --- permissions -------------------------------------------------------------------


@pytest.mark.parametrize("who", NOT_CPO)
def test_only_the_cpo_plans_the_roadmap(flow, who):
    m = milestone(flow)
    e = epic(flow)
    goal = services.product_goal_create(actor=flow.actor("cpo"), statement="Win")
    actor = flow.actor(who)
    calls = [
        (
            lambda: services.product_goal_create(actor=actor, statement="Mine"),
            "only the CPO sets the Product Goal",
        ),
        (
            lambda: services.product_goal_update(actor=actor, goal=goal, data={"statement": "x"}),
            "only the CPO edits the Product Goal",
        ),
        (
            lambda: services.milestone_create(
                actor=actor, name="n", objective="o", start=START, end=START + datetime.timedelta(1)
            ),
            "only the CPO plans milestones",
        ),
        (
            lambda: services.milestone_update(actor=actor, milestone=m, data={"name": "x"}),
            "only the CPO plans milestones",
        ),
        (
            lambda: services.milestone_move(actor=actor, milestone=m),
            "only the CPO plans milestones",
        ),
        (
            lambda: services.milestone_close(actor=actor, milestone=m),
            "only the CPO closes milestones",
        ),
        (
            lambda: services.epic_create(actor=actor, title="Mine"),
            "only the CPO creates epics",
        ),
        (
            lambda: services.epic_rank_move(actor=actor, epic=e, milestone=m),
            "only the CPO ranks epics",
        ),
        (
            lambda: services.epic_wsjf_rank_apply(actor=actor, proposal=[(e.pk, e.version)]),
            "only the CPO ranks epics",
        ),
    ]
    rows, version = RoadmapChange.objects.count(), live(flow)
    for call, message in calls:
        with pytest.raises(PermissionRefused) as refusal:
            call()
        assert str(refusal.value) == message
    assert (RoadmapChange.objects.count(), live(flow)) == (rows, version)


def test_the_architect_records_feasibility_and_the_log_says_so(flow):
    e = epic(flow)
    before = live(flow)
    services.epic_update(
        actor=flow.actor("architect"),
        epic=e,
        data={"feasibility": "concerns", "feasibility_note": "needs the new ledger"},
    )
    assert changes(epic=e, kind="feasibility") == [
        (
            "feasibility",
            {"feasibility": "unassessed", "feasibility_note": ""},
            {"feasibility": "concerns", "feasibility_note": "needs the new ledger"},
        )
    ]
    assert live(flow) == before + 1
    refused(
        lambda: services.epic_update(actor=flow.actor("architect"), epic=e, data={"job_size": 3}),
        "job_size",
        "your role may not change this field",
    )


# --- Product Goal --------------------------------------------------------------------


def test_product_goal_update_edits_and_keeps_one_active(flow):
    cpo = flow.actor("cpo")
    old = services.product_goal_create(actor=cpo, statement="First")
    services.product_goal_close(actor=cpo, goal=old, status="achieved")
    goal = services.product_goal_create(actor=cpo, statement="Second")
    before = live(flow)
    goal = services.product_goal_update(
        actor=cpo,
        goal=goal,
        data={"statement": "  Grow  ", "target_date": datetime.date(2026, 12, 1)},
    )
    assert (goal.statement, goal.target_date) == ("Grow", datetime.date(2026, 12, 1))
    assert live(flow) == before + 1
    refused(
        lambda: services.product_goal_update(actor=cpo, goal=old, data={"status": "active"}),
        "status",
        "the Flow Team already has an active Product Goal; mark it achieved or abandoned first",
    )
    refused(
        lambda: services.product_goal_update(actor=cpo, goal=goal, data={"statement": " "}),
        "statement",
        "state the Product Goal",
    )
    refused(
        lambda: services.product_goal_update(actor=cpo, goal=goal, data={"status": "paused"}),
        "status",
        "status is one of active, achieved, abandoned",
    )
    refused(
        lambda: services.product_goal_update(actor=cpo, goal=goal, data={"flow_team": 1}),
        "flow_team",
        "unknown or read-only field",
    )
    assert ProductGoal.objects.get(pk=old.pk).status == "achieved"
    assert ProductGoal.objects.get(pk=goal.pk).statement == "Grow"
    assert live(flow) == before + 1
    # Abandoning the active one frees the slot: the old goal may become active again.
    services.product_goal_update(actor=cpo, goal=goal, data={"status": "abandoned"})
    services.product_goal_update(actor=cpo, goal=old, data={"status": "active"})
    assert selectors.product_goal_active(actor=cpo).pk == old.pk


def test_product_goal_close_writes_only_the_status_and_bumps_the_roadmap(flow):
    """Closing writes the status alone: a goal object read before an edit does not
    write the old statement back."""
    cpo = flow.actor("cpo")
    goal = services.product_goal_create(actor=cpo, statement="Win")
    services.product_goal_update(actor=cpo, goal=goal, data={"statement": "Win big"})
    before = live(flow)
    closed = services.product_goal_close(actor=cpo, goal=goal, status="achieved")
    assert closed.status == "achieved"
    assert ProductGoal.objects.filter(pk=goal.pk).values_list("statement", "status").get() == (
        "Win big",
        "achieved",
    )
    assert live(flow) == before + 1


@pytest.mark.parametrize("status", ["active", "paused"])
def test_a_product_goal_closes_as_achieved_or_abandoned(flow, status):
    cpo = flow.actor("cpo")
    goal = services.product_goal_create(actor=cpo, statement="Win")
    before = live(flow)
    with pytest.raises(RuleViolation) as refusal:
        services.product_goal_close(actor=cpo, goal=goal, status=status)
    assert refusal.value.detail == {"status": ["a Product Goal closes as achieved or abandoned"]}
    assert ProductGoal.objects.get(pk=goal.pk).status == "active"
    assert live(flow) == before


@pytest.mark.parametrize("who", NOT_CPO)
def test_only_the_cpo_closes_the_product_goal(flow, who):
    goal = services.product_goal_create(actor=flow.actor("cpo"), statement="Win")
    before = live(flow)
    with pytest.raises(PermissionRefused) as refusal:
        services.product_goal_close(actor=flow.actor(who), goal=goal, status="achieved")
    assert str(refusal.value) == "only the CPO closes the Product Goal"
    assert ProductGoal.objects.get(pk=goal.pk).status == "active"
    assert live(flow) == before


# --- milestones ------------------------------------------------------------------


def test_milestone_create_logs_and_spaces_orders(flow):
    before = live(flow)
    first, second = milestone(flow, "M1"), milestone(flow, "M2")
    assert second.order - first.order >= 2  # room for a one-row move between them
    assert changes(milestone=first)[0][0] == "created"
    assert live(flow) == before + 2
    refused(
        lambda: services.milestone_create(
            actor=flow.actor("cpo"), name=" ", objective="o", start=START, end=START
        ),
        "name",
        "give the milestone a name",
    )


def test_milestone_update_edits_checks_dates_and_version(flow):
    m = milestone(flow)
    cpo = flow.actor("cpo")
    before = live(flow)
    m = services.milestone_update(
        actor=cpo,
        milestone=m,
        data={"name": "Checkout", "end": START + datetime.timedelta(weeks=10)},
        expected_version=1,
    )
    assert m.version == 2
    assert changes(milestone=m, kind="edited") == [
        (
            "edited",
            {"name": "M1", "end": "2026-05-04"},
            {"name": "Checkout", "end": "2026-05-11"},
        )
    ]
    assert live(flow) == before + 1
    refused(
        lambda: services.milestone_update(actor=cpo, milestone=m, data={"end": START}),
        "end",
        "a milestone ends after it starts",
    )
    refused(
        lambda: services.milestone_update(
            actor=cpo, milestone=m, data={"start": START + datetime.timedelta(weeks=11)}
        ),
        "start",
        "a milestone ends after it starts",
    )
    refused(
        lambda: services.milestone_update(actor=cpo, milestone=m, data={"objective": ""}),
        "objective",
        "state a measurable objective",
    )
    refused(
        lambda: services.milestone_update(actor=cpo, milestone=m, data={"order": 3}),
        "order",
        "unknown or read-only field",
    )
    with pytest.raises(VersionConflict):
        services.milestone_update(
            actor=cpo, milestone=m, data={"name": "Stale"}, expected_version=1
        )
    fresh = Milestone.objects.get(pk=m.pk)
    assert (fresh.name, fresh.start, fresh.version) == ("Checkout", START, 2)
    assert live(flow) == before + 1


def test_milestone_update_strips_the_name_and_objective(flow):
    m = services.milestone_update(
        actor=flow.actor("cpo"),
        milestone=milestone(flow),
        data={"name": "  Checkout  ", "objective": " Pay in one step "},
    )
    assert Milestone.objects.filter(pk=m.pk).values_list("name", "objective").get() == (
        "Checkout",
        "Pay in one step",
    )


def test_milestone_update_refusals_say_why(flow):
    m = milestone(flow)
    cpo = flow.actor("cpo")
    refused(
        lambda: services.milestone_update(actor=cpo, milestone=m, data={"order": 3}),
        "order",
        "unknown or read-only field",
    )
    refused(
        lambda: services.milestone_update(actor=cpo, milestone=m, data={"end": START}),
        "end",
        "a milestone ends after it starts",
    )
    with pytest.raises(PermissionRefused) as refusal:
        services.milestone_update(actor=flow.actor("csm"), milestone=m, data={"name": "x"})
    assert str(refusal.value) == "only the CPO plans milestones"
    assert Milestone.objects.get(pk=m.pk).version == 1


def test_milestone_move_before_a_milestone_is_logged_as_the_cpos(flow):
    m1, m2, m3 = milestone(flow, "M1"), milestone(flow, "M2"), milestone(flow, "M3")
    services.milestone_move(actor=flow.actor("cpo"), milestone=m3, before=m2)
    assert list(Milestone.objects.order_by("order").values_list("pk", flat=True)) == [
        m1.pk,
        m3.pk,
        m2.pk,
    ]
    assert RoadmapChange.objects.get(milestone=m3, kind="ranked").by == flow.cpo


def test_milestone_move_refusals_say_why(flow, foreign):
    m = milestone(flow)
    theirs = services.milestone_create(
        actor=foreign.actor("cpo"), name="F", objective="o", start=START, end=START + WEEK
    )
    refused(
        lambda: services.milestone_move(actor=flow.actor("cpo"), milestone=m, before=theirs),
        "before",
        "that milestone is not in this Flow Team",
    )
    with pytest.raises(PermissionRefused) as refusal:
        services.milestone_move(actor=flow.actor("csm"), milestone=m)
    assert str(refusal.value) == "only the CPO plans milestones"
    assert Milestone.objects.get(pk=m.pk).version == 1


def test_milestone_move_to_order_one_renumbers_nothing(flow):
    """1 is the smallest order: a move that lands on it writes its own row only."""
    first = milestone(flow, "M1")
    Milestone.objects.filter(pk=first.pk).update(order=GAP + 1)
    last = milestone(flow, "M2")
    services.milestone_move(actor=flow.actor("cpo"), milestone=last)
    assert list(Milestone.objects.order_by("order").values_list("name", "order")) == [
        ("M2", 1),
        ("M1", GAP + 1),
    ]


def test_milestone_move_writes_one_row(flow, django_assert_num_queries):
    m1, m2, m3 = milestone(flow, "M1"), milestone(flow, "M2"), milestone(flow, "M3")
    cpo = flow.actor("cpo")
    orders = dict(Milestone.objects.values_list("pk", "order"))
    services.milestone_move(actor=cpo, milestone=m3, after=m1, expected_version=1)
    now = dict(Milestone.objects.values_list("pk", "order"))
    assert [pk for pk, _ in sorted(now.items(), key=lambda kv: kv[1])] == [m1.pk, m3.pk, m2.pk]
    assert {pk for pk in now if now[pk] != orders[pk]} == {m3.pk}
    assert changes(milestone=m3, kind="ranked") == [
        ("ranked", {"order": orders[m3.pk]}, {"order": now[m3.pk]})
    ]
    # To the top, then refused next to itself or stale.
    services.milestone_move(actor=cpo, milestone=m2)
    assert list(Milestone.objects.order_by("order").values_list("pk", flat=True)) == [
        m2.pk,
        m1.pk,
        m3.pk,
    ]
    refused(
        lambda: services.milestone_move(actor=cpo, milestone=m1, after=m1),
        "after",
        "an item cannot move next to itself",
    )
    with pytest.raises(VersionConflict):
        services.milestone_move(actor=cpo, milestone=m3, before=m2, expected_version=1)


def test_milestone_move_to_the_top_of_dense_orders_stays_positive(flow):
    # Milestones made before gaps existed carry orders 1, 2, 3.
    ms = [
        Milestone.objects.create(
            flow_team=flow.flow_team,
            name=f"M{n}",
            objective="o",
            start=START,
            end=START + datetime.timedelta(weeks=9),
            order=n,
        )
        for n in (1, 2, 3)
    ]
    services.milestone_move(actor=flow.actor("cpo"), milestone=ms[2])
    services.milestone_move(actor=flow.actor("cpo"), milestone=ms[0], after=ms[1])
    ordered = list(Milestone.objects.order_by("order").values_list("name", "order"))
    assert [name for name, _ in ordered] == ["M3", "M2", "M1"]
    assert all(order >= 1 for _, order in ordered)


def test_milestone_close_is_logged_as_the_cpos_and_refusals_say_why(flow):
    m = milestone(flow)
    with pytest.raises(PermissionRefused) as refusal:
        services.milestone_close(actor=flow.actor("csm"), milestone=m)
    assert str(refusal.value) == "only the CPO closes milestones"
    m = services.milestone_close(actor=flow.actor("cpo"), milestone=m)
    closed = RoadmapChange.objects.get(milestone=m, kind="closed")
    assert (closed.before, closed.after, closed.by) == (
        {"closed_at": None},
        {"closed_at": m.closed_at.isoformat()},
        flow.cpo,
    )
    refused(
        lambda: services.milestone_close(actor=flow.actor("cpo"), milestone=m),
        "closed_at",
        "the milestone is already closed",
    )


def test_milestone_close_keeps_its_epics_and_refuses_new_ones(flow):
    m, other = milestone(flow, "M1"), milestone(flow, "M2")
    cpo = flow.actor("cpo")
    e = epic(flow, milestone=m)
    before = live(flow)
    m = services.milestone_close(actor=cpo, milestone=m, expected_version=1)
    assert m.closed_at is not None and m.version == 2
    assert Epic.objects.get(pk=e.pk).milestone_id == m.pk  # stays, shown as missed
    assert changes(milestone=m, kind="closed")[0][1] == {"closed_at": None}
    assert live(flow) == before + 1
    refused(
        lambda: services.milestone_close(actor=cpo, milestone=m),
        "closed_at",
        "the milestone is already closed",
    )
    e2 = epic(flow, "Other", milestone=other)
    rows = RoadmapChange.objects.count()
    refused(
        lambda: epic(flow, "New", milestone=m),
        "milestone",
        "the milestone is closed; choose an open one",
    )
    refused(
        lambda: services.epic_rank_move(actor=cpo, epic=e2, milestone=m),
        "milestone",
        "the milestone is closed; choose an open one",
    )
    refused(
        lambda: services.epic_update(actor=cpo, epic=e2, data={"milestone": m}),
        "milestone",
        "the milestone is closed; choose an open one",
    )
    assert Epic.objects.get(pk=e2.pk).milestone_id == other.pk
    assert RoadmapChange.objects.count() == rows
    # The epic already in the closed milestone is still edited and ranked in place.
    services.epic_update(actor=cpo, epic=e, data={"milestone": m, "title": "Billing v2"})
    services.epic_rank_move(actor=cpo, epic=e, milestone=m, after=e2)


# --- epics ---------------------------------------------------------------------------


def test_epic_create_and_change_log_each_kind(flow):
    cpo = flow.actor("cpo")
    m = milestone(flow)
    e = epic(flow, acceptance_conditions="Invoices go out", business_value=5, job_size=5)
    assert changes(epic=e)[0][0] == "created"
    before = live(flow)
    e = services.epic_change(
        actor=cpo,
        epic=e,
        data={"job_size": 2, "milestone": m, "title": "Billing now", "business_value": 5},
        to_state="ready",
        expected_version=1,
    )
    assert e.version == 2
    # business_value was given unchanged: not logged.
    logged = {kind: (b, a) for kind, b, a in changes(epic=e)[1:]}
    assert logged == {
        "rescored": ({"job_size": 5}, {"job_size": 2}),
        "moved": ({"milestone": None}, {"milestone": m.pk}),
        "edited": ({"title": "Billing"}, {"title": "Billing now"}),
        "state": ({"state": "funnel"}, {"state": "ready"}),
    }
    assert live(flow) == before + 1


def test_an_epics_change_records_who_moved_it_and_logs_its_milestone_by_id(
    flow, django_assert_num_queries
):
    cpo = flow.actor("cpo")
    m1, m2 = milestone(flow, "M1"), milestone(flow, "M2")
    e = Epic.objects.get(pk=epic(flow, acceptance_conditions="Invoices go out", milestone=m1).pk)
    # Savepoint, lock, update, change log, live bump, state change, release: the change log
    # compares milestones by id, and reading either milestone would be one query more.
    with django_assert_num_queries(7):
        services.epic_change(actor=cpo, epic=e, data={"milestone": m2}, to_state="ready")
    assert changes(epic=e, kind="moved") == [("moved", {"milestone": m1.pk}, {"milestone": m2.pk})]
    assert list(
        StateChange.objects.filter(epic=e, to_state="ready").values_list(
            "from_state", "to_state", "by"
        )
    ) == [("funnel", "ready", cpo.user.pk)]


def test_epic_update_writes_only_on_the_version_it_was_given(flow):
    """The admin's edit passes the version its form read: a stale one is a conflict."""
    cpo = flow.actor("cpo")
    e = epic(flow)
    services.epic_update(actor=cpo, epic=e, data={"title": "Billing v2"}, expected_version=1)
    logged = len(changes(epic=e))
    with pytest.raises(VersionConflict) as conflict:
        services.epic_update(actor=cpo, epic=e, data={"title": "Billing v3"}, expected_version=1)
    assert conflict.value.current_version == 2
    assert Epic.objects.filter(pk=e.pk).values_list("title", "version").get() == ("Billing v2", 2)
    assert len(changes(epic=e)) == logged


def test_epic_rank_move_into_another_milestone_is_one_row_and_one_bump(
    flow, django_assert_num_queries
):
    cpo = flow.actor("cpo")
    m1, m2 = milestone(flow, "M1"), milestone(flow, "M2")
    a, b, c = epic(flow, "A", milestone=m1), epic(flow, "B", milestone=m2), epic(flow, "C")
    before = live(flow)
    ranks = dict(Epic.objects.values_list("pk", "rank"))
    moved = services.epic_rank_move(actor=cpo, epic=a, before=c, milestone=m2, expected_version=1)
    assert moved.version == 2 and moved.milestone_id == m2.pk
    now = dict(Epic.objects.values_list("pk", "rank"))
    assert {pk for pk in now if now[pk] != ranks[pk]} == {a.pk}
    assert list(Epic.objects.order_by("rank").values_list("title", flat=True)) == ["B", "A", "C"]
    assert changes(epic=a)[1:] == [
        ("moved", {"milestone": m1.pk}, {"milestone": m2.pk}),
        ("ranked", {"rank": ranks[a.pk]}, {"rank": now[a.pk]}),
    ]
    assert live(flow) == before + 1
    # Into the unscheduled lane; a plain rank move leaves the milestone alone.
    services.epic_rank_move(actor=cpo, epic=a, milestone=None)
    assert Epic.objects.get(pk=a.pk).milestone_id is None
    services.epic_rank_move(actor=cpo, epic=b, after=c)
    assert Epic.objects.get(pk=b.pk).milestone_id == m2.pk
    with pytest.raises(VersionConflict):
        services.epic_rank_move(actor=cpo, epic=a, milestone=m1, expected_version=2)
    assert Epic.objects.get(pk=a.pk).milestone_id is None


def test_an_epic_moved_or_edited_moves_this_flow_teams_roadmap_and_planning_board_once(
    flow, foreign
):
    # Flow Sprint Planning 1 lists the epics teams claim, in roadmap order.
    keys = [
        services.roadmap_live_key(flow.flow_team.pk),
        services.planning_live_key(flow.flow_team.pk),
        services.roadmap_live_key(foreign.flow_team.pk),
        services.planning_live_key(foreign.flow_team.pk),
    ]
    a, b = epic(flow, "A"), epic(flow, "B")
    epic(foreign, "Theirs")
    for change in (
        lambda: services.epic_rank_move(actor=flow.actor("cpo"), epic=b, before=a),
        lambda: services.epic_update(actor=flow.actor("cpo"), epic=a, data={"title": "A2"}),
    ):
        before = live_versions(keys)
        change()
        after = live_versions(keys)
        assert [after[k] - before[k] for k in keys] == [1, 1, 0, 0]


def test_epic_rank_move_and_update_refuse_another_flow_teams_milestone(flow, foreign):
    theirs = milestone(foreign)
    e = epic(flow)
    cpo = flow.actor("cpo")
    for call in (
        lambda: services.epic_rank_move(actor=cpo, epic=e, milestone=theirs),
        lambda: services.epic_update(actor=cpo, epic=e, data={"milestone": theirs}),
    ):
        refused(call, "milestone", "the milestone is not in this Flow Team")
    fresh = Epic.objects.get(pk=e.pk)
    assert (fresh.version, fresh.milestone_id) == (1, None)


def test_a_cpo_who_is_also_the_architect_edits_both_kinds_of_field(flow, foreign):
    """Each role adds its fields; the union is the call's own, so another CPO afterwards
    still may not assess feasibility."""
    team_services.role_revoke(
        membership=Membership.objects.get(user=flow.architect), role="architect"
    )
    team_services.role_assign(membership=Membership.objects.get(user=flow.cpo), role="architect")
    e = epic(flow)
    done = services.epic_update(
        actor=flow.actor("cpo"), epic=e, data={"title": "Billing v2", "feasibility": "concerns"}
    )
    assert (done.title, done.feasibility) == ("Billing v2", "concerns")
    theirs = epic(foreign)
    refused(
        lambda: services.epic_update(
            actor=foreign.actor("cpo"), epic=theirs, data={"feasibility": "feasible"}
        ),
        "feasibility",
        "your role may not change this field",
    )
    assert Epic.objects.get(pk=theirs.pk).feasibility == "unassessed"


@pytest.mark.parametrize("side", ["after", "before"])
def test_epic_rank_move_refuses_another_flow_teams_epic_as_neighbour(flow, foreign, side):
    theirs = epic(foreign)
    e = epic(flow)
    version, rows = live(flow), RoadmapChange.objects.count()
    refused(
        lambda: services.epic_rank_move(actor=flow.actor("cpo"), epic=e, **{side: theirs}),
        side,
        "that epic is not in this Flow Team",
    )
    assert Epic.objects.get(pk=e.pk).version == 1
    assert (RoadmapChange.objects.count(), live(flow)) == (rows, version)


# --- rank by WSJF ---------------------------------------------------------------------


def wsjf_epics(flow):
    # WSJF = (bv + tc + rr) / size: A 1.0, B 3.0, C 1.0 (tie with A), D 6.0 but done.
    a = epic(flow, "A", business_value=1, time_criticality=1, risk_reduction=1, job_size=3)
    b = epic(flow, "B", business_value=5, time_criticality=3, risk_reduction=1, job_size=3)
    c = epic(flow, "C", business_value=3, time_criticality=1, risk_reduction=1, job_size=5)
    d = epic(flow, "D", business_value=8, time_criticality=2, risk_reduction=2, job_size=2)
    Epic.objects.filter(pk=d.pk).update(state="done")
    Epic.objects.filter(pk=b.pk).update(rank=0)  # B already first: no change row for it
    return a, b, c, d


def test_wsjf_proposal_orders_by_score_and_ties_keep_their_order(flow, django_assert_num_queries):
    a, b, c, d = wsjf_epics(flow)
    stakeholder = flow.actor("stakeholder")
    with django_assert_num_queries(1):
        proposal = selectors.wsjf_proposal(actor=stakeholder)
    assert [e.title for e in proposal] == ["B", "A", "C", "D"]
    assert [e.current_position for e in proposal] == [1, 2, 3, 4]
    Epic.objects.filter(pk=c.pk).update(rank=-1)  # now C before A: the tie follows
    assert [e.title for e in selectors.wsjf_proposal(actor=flow.actor("cpo"))] == [
        "B",
        "C",
        "A",
        "D",
    ]


def test_wsjf_apply_writes_ranks_in_one_statement(flow, django_assert_num_queries):
    a, b, c, d = wsjf_epics(flow)
    Epic.objects.filter(pk=d.pk).update(rank=1)  # done D currently second
    cpo = flow.actor("cpo")
    proposal = [(e.pk, e.version) for e in selectors.wsjf_proposal(actor=cpo)]
    before = live(flow)
    old_ranks = dict(Epic.objects.values_list("title", "rank"))
    base = max(old_ranks.values())
    # Savepoint, Flow Team lock, epics lock, ONE rank update, one log insert, live bump,
    # release.
    with django_assert_num_queries(7):
        applied = services.epic_wsjf_rank_apply(actor=cpo, proposal=proposal)
    assert [e.title for e in applied] == ["B", "A", "C", "D"]
    assert list(Epic.objects.order_by("rank").values_list("title", flat=True)) == [
        "B",
        "A",
        "C",
        "D",
    ]
    assert set(Epic.objects.values_list("version", flat=True)) == {2}
    logged = {
        Epic.objects.get(pk=pk).title: (b_["position"], a_["position"])
        for pk, b_, a_ in RoadmapChange.objects.filter(kind="ranked").values_list(
            "epic", "before", "after"
        )
    }
    assert logged == {"A": (3, 2), "C": (4, 3), "D": (2, 4)}
    # Each new rank is a gap above the highest current one; the log names the ranks and the CPO.
    new_ranks = {t: base + n * GAP for n, t in enumerate(["B", "A", "C", "D"], start=1)}
    assert dict(Epic.objects.values_list("title", "rank")) == new_ranks
    rows = RoadmapChange.objects.filter(kind="ranked").order_by("id")
    assert [(r.epic.title, r.before, r.after, r.by) for r in rows] == [
        (
            t,
            {"position": p, "rank": old_ranks[t]},
            {"position": n, "rank": new_ranks[t], "by": "wsjf"},
            flow.cpo,
        )
        for t, p, n in [("A", 3, 2), ("C", 4, 3), ("D", 2, 4)]
    ]
    # Every epic the statement ranked was updated at the moment the log names.
    assert set(Epic.objects.values_list("updated_at", flat=True)) == {rows[0].at}
    assert live(flow) == before + 1


def test_wsjf_apply_tells_the_webhooks_of_each_epic_that_changed_place_in_one_insert(
    flow, django_assert_num_queries
):
    a, b, c, d = wsjf_epics(flow)
    Epic.objects.filter(pk=d.pk).update(rank=1)  # done D currently second
    WebhookEndpointFactory(flow_team=flow.flow_team, event_types=["epic"])
    WebhookEndpointFactory(flow_team=flow.flow_team, event_types=["story"])  # not told
    WebhookDelivery.objects.all().delete()
    cpo = flow.actor("cpo")
    proposal = [(e.pk, e.version) for e in selectors.wsjf_proposal(actor=cpo)]
    webhook_subscriptions(flow_team_id=flow.flow_team.pk)  # cached, as on every request
    # The seven of test_wsjf_apply_writes_ranks_in_one_statement, plus ONE insert of the
    # deliveries.
    with django_assert_num_queries(8):
        services.epic_wsjf_rank_apply(actor=cpo, proposal=proposal)
    told = {
        d.payload["data"]["title"]: (
            d.event,
            d.payload["data"]["rank"],
            d.payload["data"]["version"],
        )
        for d in WebhookDelivery.objects.all()
    }
    ranks = dict(Epic.objects.values_list("title", "rank"))
    # B kept its place: no delivery for it.
    assert told == {t: ("epic.ranked", ranks[t], 2) for t in ("A", "C", "D")}
    assert WebhookDelivery.objects.count() == 3


def test_wsjf_apply_of_an_empty_roadmap_writes_nothing(flow):
    assert services.epic_wsjf_rank_apply(actor=flow.actor("cpo"), proposal=[]) == []
    assert not RoadmapChange.objects.exists()


def test_wsjf_apply_is_refused_when_an_epic_changed(flow):
    a, b, c, d = wsjf_epics(flow)
    cpo = flow.actor("cpo")
    proposal = [(e.pk, e.version) for e in selectors.wsjf_proposal(actor=cpo)]
    services.epic_update(actor=cpo, epic=c, data={"job_size": 1})
    ranks, rows, version = (
        dict(Epic.objects.values_list("pk", "rank")),
        RoadmapChange.objects.count(),
        live(flow),
    )
    with pytest.raises(VersionConflict) as conflict:
        services.epic_wsjf_rank_apply(actor=cpo, proposal=proposal)
    assert str(conflict.value) == f"epic {c.pk} (C) changed since the proposal; ask for a new one"
    assert conflict.value.current_version == 2
    # An epic added or left out since the proposal is refused too.
    fresh = [(e.pk, e.version) for e in selectors.wsjf_proposal(actor=cpo)]
    refused(
        lambda: services.epic_wsjf_rank_apply(actor=cpo, proposal=fresh[:-1]),
        "proposal",
        "epics were added or removed since the proposal; ask for a new one",
    )
    refused(
        lambda: services.epic_wsjf_rank_apply(actor=cpo, proposal=[*fresh, fresh[0]]),
        "proposal",
        "an epic appears twice in the proposal",
    )
    refused(
        lambda: services.epic_wsjf_rank_apply(actor=cpo, proposal=[("x", 1)]),
        "proposal",
        "the proposal lists (epic id, version) pairs",
    )
    assert dict(Epic.objects.values_list("pk", "rank")) == ranks
    assert (RoadmapChange.objects.count(), live(flow)) == (rows, version)
    services.epic_wsjf_rank_apply(actor=cpo, proposal=fresh)


def test_wsjf_apply_refuses_another_flow_teams_epic(flow, foreign):
    mine = epic(flow)
    theirs = epic(foreign)
    refused(
        lambda: services.epic_wsjf_rank_apply(
            actor=flow.actor("cpo"), proposal=[(mine.pk, 1), (theirs.pk, 1)]
        ),
        "proposal",
        "epics were added or removed since the proposal; ask for a new one",
    )


def test_roadmap_changes_since_reads_the_flow_teams_log(flow, foreign):
    cutoff = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    e = epic(flow)
    epic(foreign)
    RoadmapChange.objects.filter(epic=e).update(at=cutoff - datetime.timedelta(days=1))
    services.epic_update(actor=flow.actor("cpo"), epic=e, data={"title": "Renamed"})
    rows = list(selectors.roadmap_changes_since(actor=flow.actor("stakeholder"), since=cutoff))
    assert [(r.kind, r.epic_id, r.by) for r in rows] == [("edited", e.pk, flow.cpo)]


def test_the_active_goal_stays_active_and_another_flow_teams_goal_does_not_count(flow, foreign):
    cpo = flow.actor("cpo")
    services.product_goal_create(actor=foreign.actor("cpo"), statement="Theirs")
    old = services.product_goal_create(actor=cpo, statement="First")
    services.product_goal_close(actor=cpo, goal=old, status="abandoned")
    services.product_goal_update(actor=cpo, goal=old, data={"status": "active"})
    services.product_goal_update(actor=cpo, goal=old, data={"status": "active"})
    assert ProductGoal.objects.get(pk=old.pk).status == "active"
