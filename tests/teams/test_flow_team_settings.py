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
    assert refusal.value.field == "timezone"
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_create(
            name="N", slug="n", cadence_anchor=flow.flow_team.cadence_anchor, timezone=value
        )
    assert refusal.value.field == "timezone"
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
    assert refusal.value.field == "slug"
