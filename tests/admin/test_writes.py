"""Admin writes go through the services: versions, webhooks, refusals as form errors."""

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from backlog.models import Epic, Story
from flow.models import FlowSprint, Risk
from teams.models import FlowTeam, WebhookDelivery
from tests.admin.conftest import closed
from tests.teams.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def form_data(client, obj, **changes):
    """The change form as the browser would post it back, with ``changes`` applied."""
    response = client.get(change_url(obj))
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        if isinstance(field.widget, forms.SplitDateTimeWidget):
            local = timezone.localtime(value)
            data[f"{name}_0"], data[f"{name}_1"] = (
                local.date().isoformat(),
                local.strftime("%H:%M:%S"),
            )
            continue
        data[name] = value
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        data.update(
            {
                f"{fs.prefix}-TOTAL_FORMS": str(fs.total_form_count()),
                f"{fs.prefix}-INITIAL_FORMS": str(fs.initial_form_count()),
            }
        )
        for sub in fs.forms:
            for name in sub.fields:
                value = sub[name].value()
                if value not in (None, False):
                    data[sub.add_prefix(name)] = value
    data.update(changes)
    return {k: ("on" if v is True else v) for k, v in data.items() if v is not False}


def errors(response) -> str:
    form = response.context["adminform"].form
    return str(form.errors)


def test_an_admin_title_change_bumps_the_version_and_sends_the_webhook(client, world):
    WebhookEndpointFactory(flow_team=world.flow.flow_team, event_types=["story"])
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    response = client.post(change_url(story), form_data(client, story, title="Renamed in admin"))
    assert response.status_code == 302, errors(response)
    story.refresh_from_db()
    assert story.title == "Renamed in admin" and story.version == 2
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "story.updated"
    assert delivery.payload["data"]["title"] == "Renamed in admin"
    assert delivery.payload["data"]["version"] == 2


def test_a_stale_admin_form_is_refused_and_writes_nothing(client, world):
    WebhookEndpointFactory(flow_team=world.flow.flow_team, event_types=["story"])
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    data = form_data(client, story, title="Stale edit")
    Story.objects.filter(pk=story.pk).update(version=5, title="Newer from the API")
    response = client.post(change_url(story), data)
    assert response.status_code == 200
    assert "changed since you opened it" in errors(response)
    assert "version 5" in errors(response)
    story.refresh_from_db()
    assert (story.title, story.version) == ("Newer from the API", 5)
    assert not WebhookDelivery.objects.exists()


def test_a_change_without_the_version_it_was_made_on_is_refused(client, world):
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    data = form_data(client, story, title="No version")
    del data["expected_version"]
    response = client.post(change_url(story), data)
    assert response.status_code == 200 and "required" in errors(response)
    assert Story.objects.get(pk=story.pk).title == "Mine story"


def test_a_stale_form_cannot_add_criteria_either(client, world):
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    data = form_data(client, story)
    data["criteria-TOTAL_FORMS"] = str(int(data["criteria-TOTAL_FORMS"]) + 1)
    new = int(data["criteria-TOTAL_FORMS"]) - 1
    data[f"criteria-{new}-text"] = "A new criterion"
    data[f"criteria-{new}-story"] = story.pk
    Story.objects.filter(pk=story.pk).update(version=9)
    response = client.post(change_url(story), data)
    assert response.status_code == 200 and "changed since you opened it" in errors(response)
    assert not story.criteria.filter(text="A new criterion").exists()


def test_a_criterion_added_in_the_admin_goes_through_the_service(client, world):
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    first = story.criteria.get()
    data = form_data(client, story)
    new = int(data["criteria-TOTAL_FORMS"])
    data["criteria-TOTAL_FORMS"] = str(new + 1)
    data[f"criteria-{new}-text"] = "  Works offline  "
    data[f"criteria-{new}-story"] = story.pk
    response = client.post(change_url(story), data)
    assert response.status_code == 302, errors(response)
    criterion = story.criteria.get(text="Works offline")  # trimmed and numbered by the service
    assert criterion.position == first.position + 1
    story.refresh_from_db()
    assert story.version == 2


def test_rewriting_a_criterion_is_refused(client, world):
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    response = client.post(change_url(story), form_data(client, story, **{"criteria-0-text": "X"}))
    assert response.status_code == 200 and "not rewritten" in errors(response)
    assert story.criteria.get().text == "Mine crit"


def test_a_forged_post_of_read_only_fields_changes_nothing(client, world):
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    data = form_data(client, story, state="done", rank="1", blocked="on", scrum_team="999")
    response = client.post(change_url(story), data)
    assert response.status_code == 302
    fresh = Story.objects.get(pk=story.pk)
    assert (fresh.state, fresh.rank, fresh.blocked, fresh.version) == (
        story.state,
        story.rank,
        story.blocked,
        1,  # nothing the form may write changed: no bump
    )


def test_the_architect_writes_feasibility_only(client, world):
    epic = world.mine["epic"]
    client.force_login(world.flow.architect)
    data = form_data(client, epic, feasibility="concerns", title="Hijacked", business_value="13")
    response = client.post(change_url(epic), data)
    assert response.status_code == 302, errors(response)
    epic.refresh_from_db()
    assert (epic.feasibility, epic.title, epic.business_value) == ("concerns", "Mine epic", 5)
    assert epic.version == 2


def test_an_invalid_wsjf_value_is_a_form_error(client, world):
    epic = world.mine["epic"]
    client.force_login(world.flow.cpo)
    response = client.post(change_url(epic), form_data(client, epic, business_value="4"))
    assert response.status_code == 200
    # The database constraint answers first (the service would name the field too).
    assert "epic_wsjf_on_scale" in errors(response)
    assert Epic.objects.get(pk=epic.pk).business_value == 5


def test_an_invalid_timezone_is_refused_with_a_form_error(client, world):
    client.force_login(world.flow.csm)
    flow_team = world.flow.flow_team
    response = client.post(
        change_url(flow_team), form_data(client, flow_team, timezone="Mars/Olympus")
    )
    assert response.status_code == 200
    # The model's validator answers first; flow_team_update would name the field too.
    assert "Mars/Olympus" in str(response.context["adminform"].form.errors["timezone"])
    assert FlowTeam.objects.get(pk=flow_team.pk).timezone == flow_team.timezone
    response = client.post(
        change_url(flow_team), form_data(client, flow_team, timezone="Asia/Tokyo")
    )
    assert response.status_code == 302
    assert FlowTeam.objects.get(pk=flow_team.pk).timezone == "Asia/Tokyo"


def test_a_closed_flow_sprints_figures_are_not_editable(client, world):
    sprint = closed(world.mine["flowsprint"])
    for role in ("cpo", "csm", "architect"):
        client.force_login(world.flow.users[role])
        html = client.get(change_url(sprint)).content.decode()
        assert 'name="figures"' not in html and 'name="_save"' not in html
        response = client.post(change_url(sprint), {"figures": "{}", "goal": "Rewritten"})
        assert response.status_code == 403
    sprint.refresh_from_db()
    assert sprint.figures == {"1": {"committed_points": 8, "done_points": 5}}
    assert sprint.goal == "Mine sprint goal"
    assert sprint.state == FlowSprint.State.CLOSED


def test_a_po_cannot_move_a_risk_to_another_teams_register(client, world):
    po = world.flow.po1
    po.is_staff = True
    po.save(update_fields=["is_staff"])
    risk = world.mine["risk"]
    other_team = world.flow.scrum_teams[1]
    client.force_login(po)
    data = form_data(client, risk, scrum_team=str(other_team.pk))
    response = client.post(change_url(risk), data)
    assert response.status_code == 200
    assert "scrum_team" in response.context["adminform"].form.errors
    assert Risk.objects.get(pk=risk.pk).scrum_team_id == world.flow.scrum_teams[0].pk
    # ... nor to another Flow Team's.
    data = form_data(client, risk, scrum_team=str(world.foreign.scrum_teams[0].pk))
    assert client.post(change_url(risk), data).status_code == 200
    assert Risk.objects.get(pk=risk.pk).scrum_team_id == world.flow.scrum_teams[0].pk
    # Their own team's risk they do edit, through the service (version bumped).
    response = client.post(change_url(risk), form_data(client, risk, roam="owned"))
    assert response.status_code == 302, errors(response)
    assert Risk.objects.get(pk=risk.pk).version == 2


def test_the_csm_moves_an_event_through_the_service(client, world):
    event = world.mine["event"]
    client.force_login(world.flow.csm)
    data = form_data(client, event, duration_minutes="60")
    response = client.post(change_url(event), data)
    assert response.status_code == 302, errors(response)
    event.refresh_from_db()
    assert event.duration_minutes == 60 and event.rescheduled_by_hand
    response = client.post(change_url(event), form_data(client, event, duration_minutes="600"))
    assert response.status_code == 200 and "5 minutes to 8 hours" in errors(response)
    response = client.post(change_url(event), form_data(client, event, state="done"))
    assert response.status_code == 200 and "moved or cancelled" in errors(response)
    response = client.post(change_url(event), form_data(client, event, state="cancelled"))
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.state == "cancelled"


def test_the_cpo_adds_an_epic_through_the_service(client, world):
    client.force_login(world.flow.cpo)
    add = reverse("admin:backlog_epic_add")
    data = {"title": "From the admin", "business_value": "8", "time_criticality": "3",
            "risk_reduction": "2", "job_size": "5"}  # fmt: skip
    data["milestone"] = str(world.theirs["milestone"].pk)
    response = client.post(add, data)
    assert response.status_code == 200  # a foreign milestone is not a choice
    assert "milestone" in response.context["adminform"].form.errors
    data["milestone"] = ""
    response = client.post(add, data)
    assert response.status_code == 302, errors(response)
    epic = Epic.objects.get(title="From the admin")
    assert epic.flow_team == world.flow.flow_team
    assert epic.history.count() == 1  # the first history row, written by the service


def test_the_bulk_delete_action_is_not_offered(client, world):
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    url = reverse("admin:backlog_story_changelist")
    assert "delete_selected" not in client.get(url).content.decode()
    client.post(url, {"action": "delete_selected", "_selected_action": [story.pk], "post": "yes"})
    assert Story.objects.filter(pk=story.pk).exists()


def test_only_the_team_checks_criteria(client, world):
    story = world.mine["story"]
    criterion = story.criteria.get()
    client.force_login(world.flow.cpo)
    html = client.get(change_url(story)).content.decode()
    assert 'name="criteria-0-text"' in html and 'name="criteria-0-checked"' not in html
    data = form_data(client, story, **{"criteria-0-checked": "on"})
    assert client.post(change_url(story), data).status_code == 302
    criterion.refresh_from_db()
    assert not criterion.checked
    dev = world.flow.dev1
    dev.is_staff = True
    dev.save(update_fields=["is_staff"])
    client.force_login(dev)
    data = form_data(client, story, **{"criteria-0-checked": "on"})
    response = client.post(change_url(story), data)
    assert response.status_code == 302, errors(response)
    criterion.refresh_from_db()
    assert criterion.checked and criterion.checked_by == dev


def test_the_csm_writes_a_teams_scrum_of_scrums_answers_through_the_service(client, world):
    report = world.mine["scrumofscrumsreport"]
    client.force_login(world.flow.csm)
    data = form_data(client, report, impediments="  Waiting for the payments API  ")
    response = client.post(change_url(report), data)
    assert response.status_code == 302, errors(response)
    report.refresh_from_db()
    assert report.impediments == "Waiting for the payments API"
    assert (report.version, report.submitted_by) == (2, world.flow.csm)
    stale = client.post(change_url(report), {**data, "impediments": "Overwrite"})
    assert stale.status_code == 200 and "changed since you opened it" in errors(stale)
    report.refresh_from_db()
    assert report.impediments == "Waiting for the payments API"
