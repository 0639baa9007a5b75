"""A Flow Team cannot be given an invalid timezone, by any interface."""

import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory

from sem.errors import PermissionRefused, RuleViolation
from teams import services
from teams.models import FlowTeam

pytestmark = pytest.mark.django_db

BAD = ["Mars/Olympus", "", "utc ", "Europe/Berlin/Mitte"]


@pytest.mark.parametrize("value", BAD)
def test_services_refuse_an_unknown_timezone_naming_the_field(flow, value):
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_update(
            actor=flow.actor("csm"), flow_team=flow.flow_team, data={"timezone": value}
        )
    assert refusal.value.detail == {"timezone": [f"unknown timezone {value!r}"]}
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_create(
            name="N", slug="n", cadence_anchor=flow.flow_team.cadence_anchor, timezone=value
        )
    assert refusal.value.detail == {"timezone": [f"unknown timezone {value!r}"]}
    assert FlowTeam.objects.get(pk=flow.flow_team.pk).timezone == flow.flow_team.timezone


@pytest.mark.parametrize("value", BAD)
def test_the_model_and_its_forms_refuse_an_unknown_timezone(flow, value):
    # The admin's form is a ModelForm: it gets the choices and the validator from the field.
    form = modelform_factory(FlowTeam, fields=["timezone"])(
        {"timezone": value}, instance=flow.flow_team
    )
    assert not form.is_valid() and "timezone" in form.errors
    flow.flow_team.timezone = value
    with pytest.raises(ValidationError) as invalid:
        flow.flow_team.full_clean()
    assert "timezone" in invalid.value.message_dict


def test_the_csm_updates_the_cadence_settings(flow):
    updated = services.flow_team_update(
        actor=flow.actor("csm"),
        flow_team=flow.flow_team,
        data={"timezone": "Asia/Tokyo", "working_weekdays": [0, 1, 2, 3]},
    )
    fresh = FlowTeam.objects.get(pk=updated.pk)
    assert (fresh.timezone, fresh.working_weekdays) == ("Asia/Tokyo", [0, 1, 2, 3])
    with pytest.raises(PermissionRefused):
        services.flow_team_update(
            actor=flow.actor("cpo"), flow_team=flow.flow_team, data={"timezone": "UTC"}
        )
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_update(
            actor=flow.actor("csm"), flow_team=flow.flow_team, data={"slug": "x"}
        )
    assert refusal.value.detail == {"slug": ["unknown or read-only field"]}


@pytest.mark.parametrize("role", ["cpo", "architect", "po1", "sm1", "dev1", "stakeholder"])
def test_only_the_csm_keeps_the_cadence_settings_saying_so(flow, role):
    with pytest.raises(PermissionRefused) as refused:
        services.flow_team_update(
            actor=flow.actor(role), flow_team=flow.flow_team, data={"sprint_length_weeks": 3}
        )
    assert str(refused.value) == "the CSM keeps the Flow Team's cadence settings"
    assert FlowTeam.objects.get(pk=flow.flow_team.pk).sprint_length_weeks == 2


def test_another_flow_teams_csm_is_refused_naming_the_flow_team(flow, foreign):
    with pytest.raises(RuleViolation) as refused:
        services.flow_team_update(
            actor=foreign.actor("csm"), flow_team=flow.flow_team, data={"name": "Taken over"}
        )
    assert refused.value.detail == {"flow_team": ["not your Flow Team"]}
    assert FlowTeam.objects.get(pk=flow.flow_team.pk).name == flow.flow_team.name


def test_the_first_field_the_csm_may_not_write_is_refused_by_name(flow):
    with pytest.raises(RuleViolation) as refused:
        services.flow_team_update(
            actor=flow.actor("csm"),
            flow_team=flow.flow_team,
            data={"slug": "x", "name": "New", "cadence_anchor": flow.flow_team.cadence_anchor},
        )
    assert refused.value.detail == {"cadence_anchor": ["unknown or read-only field"]}
    fresh = FlowTeam.objects.get(pk=flow.flow_team.pk)
    assert (fresh.slug, fresh.name) == (flow.flow_team.slug, flow.flow_team.name)


def test_a_blank_name_is_refused_saying_so_and_a_name_is_written(flow):
    with pytest.raises(RuleViolation) as refused:
        services.flow_team_update(
            actor=flow.actor("csm"), flow_team=flow.flow_team, data={"name": "  "}
        )
    assert refused.value.detail == {"name": ["name the Flow Team"]}
    assert FlowTeam.objects.get(pk=flow.flow_team.pk).name == flow.flow_team.name
    services.flow_team_update(
        actor=flow.actor("csm"), flow_team=flow.flow_team, data={"name": "Payments"}
    )
    assert FlowTeam.objects.get(pk=flow.flow_team.pk).name == "Payments"


@pytest.mark.parametrize("weeks", [1, 5])
def test_a_flow_sprint_of_other_than_2_3_or_4_weeks_is_refused_saying_so(flow, weeks):
    with pytest.raises(RuleViolation) as refused:
        services.flow_team_update(
            actor=flow.actor("csm"), flow_team=flow.flow_team, data={"sprint_length_weeks": weeks}
        )
    assert refused.value.detail == {"sprint_length_weeks": ["a Flow Sprint lasts 2, 3 or 4 weeks"]}
    assert FlowTeam.objects.get(pk=flow.flow_team.pk).sprint_length_weeks == 2


def test_a_flow_sprint_lasts_2_3_or_4_weeks(flow):
    for weeks in (4, 3, 2):
        services.flow_team_update(
            actor=flow.actor("csm"), flow_team=flow.flow_team, data={"sprint_length_weeks": weeks}
        )
        assert FlowTeam.objects.get(pk=flow.flow_team.pk).sprint_length_weeks == weeks
