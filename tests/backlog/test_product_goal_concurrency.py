"""The Flow Team's one active Product Goal under clicks at once: eight CPO sessions set or
reopen a goal together; exactly one goal is active and the other seven are told why,
never a database error (the Flow Team's row lock orders them before the check)."""

import pytest

from backlog import services
from backlog.models import ProductGoal
from tests.conftest import build_flow_team
from tests.events.concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLICKS = 8
ALREADY = "the Flow Team already has an active Product Goal; mark it achieved or abandoned first"


def test_eight_goals_set_at_once_make_one_active_goal():
    ns = build_flow_team()
    cpo = ns.actor("cpo")
    outcomes = at_once(
        [
            lambda n=n: services.product_goal_create(actor=cpo, statement=f"Goal {n}")
            for n in range(CLICKS)
        ],
        field="status",
        accepted="set",
    )
    assert outcomes.count("set") == 1 and outcomes.count(ALREADY) == CLICKS - 1
    assert ProductGoal.objects.filter(flow_team=ns.flow_team, status="active").count() == 1


def test_eight_closed_goals_reopened_at_once_leave_one_active():
    ns = build_flow_team()
    cpo = ns.actor("cpo")
    goals = []
    for n in range(CLICKS):
        goal = services.product_goal_create(actor=cpo, statement=f"Goal {n}")
        goals.append(services.product_goal_close(actor=cpo, goal=goal, status="abandoned"))
    outcomes = at_once(
        [
            lambda g=g: services.product_goal_update(actor=cpo, goal=g, data={"status": "active"})
            for g in goals
        ],
        field="status",
        accepted="reopened",
    )
    assert outcomes.count("reopened") == 1 and outcomes.count(ALREADY) == CLICKS - 1
    assert ProductGoal.objects.filter(flow_team=ns.flow_team, status="active").count() == 1
