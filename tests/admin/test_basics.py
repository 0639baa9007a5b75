import pytest
from django.urls import reverse

from tests.backlog.factories import EpicFactory, StateChangeFactory, StoryFactory

pytestmark = pytest.mark.django_db


def staff(user):
    user.is_staff = True
    user.save()
    return user


def test_cpo_sees_only_their_flow_teams_epics(client, flow, foreign):
    mine = EpicFactory(flow_team=flow.flow_team, title="Our payments epic")
    theirs = EpicFactory(flow_team=foreign.flow_team, title="Their secret epic")
    client.force_login(staff(flow.cpo))
    page = client.get(reverse("admin:backlog_epic_changelist")).content.decode()
    assert mine.title in page and theirs.title not in page
    assert client.get(reverse("admin:backlog_epic_change", args=[theirs.pk])).status_code == 302
    # Django's admin redirects a missing object to the index with a message: never shows it.
    follow = client.get(reverse("admin:backlog_epic_change", args=[theirs.pk]), follow=True)
    assert theirs.title not in follow.content.decode()


def test_cpo_edits_an_epic_the_developer_may_not(client, flow):
    epic = EpicFactory(flow_team=flow.flow_team, title="Payments")
    client.force_login(staff(flow.cpo))
    url = reverse("admin:backlog_epic_change", args=[epic.pk])
    response = client.get(url)
    assert response.status_code == 200 and 'name="business_value"' in response.content.decode()
    client.force_login(staff(flow.dev1))
    response = client.get(url)
    assert response.status_code == 200  # read-only view
    assert 'name="business_value"' not in response.content.decode()
    post = client.post(url, {"title": "Hijacked"})
    assert post.status_code == 403
    epic.refresh_from_db()
    assert epic.title == "Payments"


def test_architect_may_change_feasibility_only(client, flow):
    epic = EpicFactory(flow_team=flow.flow_team)
    client.force_login(staff(flow.architect))
    html = client.get(reverse("admin:backlog_epic_change", args=[epic.pk])).content.decode()
    assert 'name="feasibility"' in html
    assert 'name="job_size"' not in html


def test_state_history_is_append_only_in_the_admin(client, flow, admin_user):
    change = StateChangeFactory(story=StoryFactory(scrum_team=flow.scrum_teams[0]))
    client.force_login(admin_user)
    assert client.get(reverse("admin:backlog_statechange_add")).status_code == 403
    page = client.get(reverse("admin:backlog_statechange_change", args=[change.pk]))
    assert page.status_code == 200 and 'name="to_state"' not in page.content.decode()
    assert (
        client.post(
            reverse("admin:backlog_statechange_delete", args=[change.pk]), {"post": "yes"}
        ).status_code
        == 403
    )


def test_foreign_key_choices_stay_in_the_flow_team(client, flow, foreign):
    epic = EpicFactory(flow_team=flow.flow_team)
    from tests.backlog.factories import MilestoneFactory

    MilestoneFactory(flow_team=flow.flow_team, name="Our milestone")
    MilestoneFactory(flow_team=foreign.flow_team, name="Foreign milestone")
    client.force_login(staff(flow.cpo))
    html = client.get(reverse("admin:backlog_epic_change", args=[epic.pk])).content.decode()
    assert "Our milestone" in html and "Foreign milestone" not in html


def test_non_staff_cannot_open_the_admin(client, flow):
    client.force_login(flow.cpo)
    assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.parametrize("count", [10, 60])
def test_story_changelist_query_count_is_constant(client, flow, django_assert_num_queries, count):
    for _ in range(count):
        StoryFactory(scrum_team=flow.scrum_teams[0], assignee=flow.dev1)
    client.force_login(staff(flow.cpo))
    # session, user, actor, counts, the page of rows, the filter choices: never per row
    with django_assert_num_queries(12):
        response = client.get(reverse("admin:backlog_story_changelist"))
    assert response.status_code == 200
