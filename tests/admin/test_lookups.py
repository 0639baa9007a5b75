"""Lookups of the admin show nothing of another Flow Team: filters, raw-id popups and
labels, autocomplete, the people list."""

import pytest
from django.urls import reverse

from tests.admin.conftest import foreign_marks
from tests.admin.test_writes import change_url, form_data

pytestmark = pytest.mark.django_db


def test_flow_team_filter_offers_only_ones_own(client, world):
    client.force_login(world.flow.cpo)
    html = client.get(reverse("admin:backlog_story_changelist")).content.decode()
    assert f"?flow_team={world.flow.flow_team.pk}" in html
    assert world.foreign.flow_team.name not in html
    assert f"flow_team={world.foreign.flow_team.pk}" not in html


FOREIGN_FILTERS = {
    "flow_team": lambda w: w.foreign.flow_team.pk,
    "flow_team__id__exact": lambda w: w.foreign.flow_team.pk,
    "scrum_team__id__exact": lambda w: w.foreign.scrum_teams[0].pk,
    "epic__id__exact": lambda w: w.theirs["epic"].pk,
}


@pytest.mark.parametrize("param", FOREIGN_FILTERS)
def test_a_filter_on_a_foreign_id_answers_as_one_that_does_not_exist(client, world, param):
    client.force_login(world.flow.cpo)
    url = reverse("admin:backlog_story_changelist")
    foreign = client.get(url, {param: FOREIGN_FILTERS[param](world)})
    missing = client.get(url, {param: 987654})
    assert foreign.status_code == missing.status_code
    if foreign.status_code == 200:
        assert foreign.context["cl"].result_count == missing.context["cl"].result_count == 0
        html = foreign.content.decode()
        assert not [m for m in foreign_marks(world) if m in html]
    else:
        assert foreign["Location"].split("?")[0] == missing["Location"].split("?")[0]


@pytest.mark.parametrize("name", ["story", "epic", "user", "dependency", "event"])
def test_raw_id_popup_lists_only_own_rows(client, world, name):
    client.force_login(world.flow.cpo)
    model = type(world.mine[name])
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url, {"_to_field": "id", "_popup": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert not [m for m in foreign_marks(world) if m in html]
    assert response.context["cl"].result_count >= 1


def test_people_list_shows_only_members_of_ones_flow_team(client, world):
    client.force_login(world.flow.cpo)
    response = client.get(reverse("admin:teams_user_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.flow.dev1.email in html
    assert world.foreign.dev1.email not in html
    assert response.context["cl"].result_count == len(world.flow.users)
    # A member's page is read-only for staff, and shows no password hash.
    page = client.get(reverse("admin:teams_user_change", args=[world.flow.dev1.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "md5$" not in page.content.decode()


def test_autocomplete_lists_no_foreign_person(client, world):
    client.force_login(world.flow.cpo)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "teams", "model_name": "membership", "field_name": "user", "term": "example"},
    )
    assert response.status_code == 200
    ids = {int(r["id"]) for r in response.json()["results"]}
    assert ids == {u.pk for u in world.flow.users.values()}
    assert "other" not in response.content.decode()


def test_a_posted_foreign_raw_id_is_refused_and_not_named(client, world):
    """Django's raw-id widget names the posted row from the whole table; ours only from
    the person's Flow Team, so an invalid form cannot be used to read foreign titles."""
    story = world.mine["story"]
    foreign_epic = world.theirs["epic"]
    client.force_login(world.flow.cpo)
    response = client.post(change_url(story), form_data(client, story, epic=str(foreign_epic.pk)))
    assert response.status_code == 200
    assert "epic" in response.context["adminform"].form.errors
    assert foreign_epic.title not in response.content.decode()
    story.refresh_from_db()
    assert story.epic_id == world.mine["epic"].pk


def test_recent_actions_name_no_foreign_object(client, world):
    """A person who once worked in another Flow Team keeps no list of its objects' names."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    cpo = world.flow.cpo
    for epic in (world.mine["epic"], world.theirs["epic"]):
        LogEntry.objects.create(
            user=cpo,
            content_type=ContentType.objects.get_for_model(epic),
            object_id=str(epic.pk),
            object_repr=epic.title,
            action_flag=CHANGE,
        )
    client.force_login(cpo)
    html = client.get(reverse("admin:index")).content.decode()
    assert world.mine["epic"].title in html
    assert world.theirs["epic"].title not in html


HOSTILE_QUERIES = [
    {"flow_team": "abc"},
    {"flow_team": "1 OR 1=1"},
    {"flow_team": "\u00b2"},  # a digit to str.isdigit(), not to int()
    {"flow_team__id__exact": "x"},
    {"o": "99.-zz"},
    {"q": "\x00'\""},
    {"p": "-1"},
    {"_to_field": "password", "_popup": "1"},
    {"e": "1"},
]


def test_hostile_query_strings_never_answer_500(client, world):
    from tests.admin.test_matrix import project_models, url

    client.raise_request_exception = False
    client.force_login(world.flow.cpo)
    for model in project_models():
        for query in HOSTILE_QUERIES:
            response = client.get(url(model, "changelist"), query)
            assert response.status_code < 500, (model, query, response.status_code)
        for bad_id in ("abc", "0", "-1", "1e9", "%00"):
            response = client.get(url(model, "change", bad_id))
            assert response.status_code < 500, (model, bad_id)


def test_a_hostile_post_never_answers_500(client, world):
    client.raise_request_exception = False
    story = world.mine["story"]
    client.force_login(world.flow.cpo)
    for data in (
        form_data(client, story, expected_version="abc"),
        form_data(client, story, epic="abc", assignee="-1"),
        form_data(client, story, points="7"),
        {"title": "only a title"},
    ):
        response = client.post(change_url(story), data)
        assert response.status_code in (200, 302, 400), (data, response.status_code)
    story.refresh_from_db()
    assert story.version == 1


@pytest.mark.parametrize("role", ["cpo", "csm", "architect"])
def test_garbage_in_every_field_of_every_writable_page_never_answers_500(client, world, role):
    from tests.admin.test_matrix import ADD, CHANGE, project_models, url

    client.raise_request_exception = False
    client.force_login(world.flow.users[role])
    for model in project_models():
        name = model._meta.model_name
        if name in CHANGE[role]:
            own = world.mine[name]
            for garbage in ("x", "-1", "99999999999999999999", "\x00", ""):
                data = dict.fromkeys(form_data(client, own), garbage)
                response = client.post(change_url(own), data)
                assert response.status_code < 500, (name, garbage)
        if name in ADD[role]:
            for garbage in ("x", "-1", ""):
                data = {f.name: garbage for f in model._meta.fields}
                response = client.post(url(model, "add"), data)
                assert response.status_code < 500, (name, "add", garbage)
