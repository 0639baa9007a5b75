"""Operators (superusers) keep the structure through the teams services; the CSM keeps the
cadence. Superusers write domain objects only through a role they hold."""

import pytest
from django.urls import reverse

from teams import services
from teams.models import FlowTeam, RoleAssignment, ScrumTeam, User
from tests.admin.test_writes import change_url, errors, form_data

pytestmark = pytest.mark.django_db


def test_an_operator_renames_a_scrum_team_through_the_service(admin_client, world):
    team = world.flow.scrum_teams[0]
    other = world.flow.scrum_teams[1]
    response = admin_client.post(change_url(team), form_data(admin_client, team, name=other.name))
    assert response.status_code == 200 and "exists in the Flow Team" in errors(response)
    response = admin_client.post(change_url(team), form_data(admin_client, team, name="Falcons"))
    assert response.status_code == 302
    assert ScrumTeam.objects.get(pk=team.pk).name == "Falcons"


def test_an_operator_adds_a_flow_team_and_a_scrum_team(admin_client, db):
    response = admin_client.post(
        reverse("admin:teams_flowteam_add"),
        {"name": "Borealis", "slug": "borealis", "sprint_length_weeks": "3",
         "cadence_anchor": "2026-02-02", "timezone": "Europe/Oslo", "working_days_mask": "31"},
    )  # fmt: skip
    assert response.status_code == 302, errors(response)
    flow_team = FlowTeam.objects.get(slug="borealis")
    assert (flow_team.sprint_length_weeks, flow_team.timezone) == (3, "Europe/Oslo")
    response = admin_client.post(
        reverse("admin:teams_scrumteam_add"), {"flow_team": flow_team.pk, "name": "First"}
    )
    assert response.status_code == 302
    assert ScrumTeam.objects.get(flow_team=flow_team).number == 1


def test_roles_are_given_and_taken_through_the_services(admin_client, world):
    membership = world.mine["membership"]  # the CPO's
    data = form_data(admin_client, membership)
    n = int(data["roles-TOTAL_FORMS"])
    data.update({"roles-TOTAL_FORMS": str(n + 1), f"roles-{n}-role": "architect",
                 f"roles-{n}-membership": membership.pk})  # fmt: skip
    response = admin_client.post(change_url(membership), data)
    assert response.status_code == 302, errors(response)
    assert set(membership.roles.values_list("role", flat=True)) == {"cpo", "architect"}
    # A second CPO is refused by the service, named on the form, and nothing is written.
    dev = services.member_add(flow_team=world.flow.flow_team, user=world.flow.dev2)
    data = form_data(admin_client, dev)
    n = int(data["roles-TOTAL_FORMS"])
    data.update({"roles-TOTAL_FORMS": str(n + 1), f"roles-{n}-role": "cpo",
                 f"roles-{n}-membership": dev.pk})  # fmt: skip
    response = admin_client.post(change_url(dev), data)
    assert response.status_code == 200 and "already has a Chief Product Owner" in errors(response)
    assert RoleAssignment.objects.filter(flow_team=world.flow.flow_team, role="cpo").count() == 1


def test_an_operator_edits_an_account_through_the_service(admin_client, world):
    user = world.flow.dev1
    data = form_data(admin_client, user, email=world.flow.dev2.email.upper())
    response = admin_client.post(change_url(user), data)
    assert response.status_code == 200 and "already exists" in errors(response)
    response = admin_client.post(change_url(user), form_data(admin_client, user, full_name="Ada"))
    assert response.status_code == 302, errors(response)
    assert User.objects.get(pk=user.pk).full_name == "Ada"


def test_a_superuser_without_a_role_reads_domain_objects_only(admin_client, world):
    story = world.mine["story"]
    html = admin_client.get(change_url(story)).content.decode()
    assert 'name="_save"' not in html
    assert admin_client.post(change_url(story), {"title": "Operator edit"}).status_code == 403
    story.refresh_from_db()
    assert story.title == "Mine story"


def test_the_csm_keeps_the_cadence_but_not_the_anchor_or_slug(client, world):
    flow_team = world.flow.flow_team
    client.force_login(world.flow.csm)
    data = form_data(
        client,
        flow_team,
        name="Atlas North",
        sprint_length_weeks="3",
        working_days_mask="15",
        slug="forged",
        cadence_anchor="2030-01-07",
    )
    response = client.post(change_url(flow_team), data)
    assert response.status_code == 302, errors(response)
    fresh = FlowTeam.objects.get(pk=flow_team.pk)
    assert (fresh.name, fresh.sprint_length_weeks, fresh.working_weekdays) == (
        "Atlas North",
        3,
        [0, 1, 2, 3],
    )
    assert (fresh.slug, fresh.cadence_anchor) == (flow_team.slug, flow_team.cadence_anchor)
