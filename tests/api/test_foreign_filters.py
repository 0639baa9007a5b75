"""A filter on another Flow Team's id answers exactly as a filter on an id that does not
exist (issue: nothing of another Flow Team, anywhere): both are an empty list, so a filter
cannot be used to learn whether an id exists elsewhere."""

import pytest
from django_filters import ModelChoiceFilter
from rest_framework.test import APIClient

from backlog import services
from sem.api import IdFilter, StrictFilterBackend
from sem.api_urls import router
from teams.services import api_token_create
from tests.api.routes import list_routes

pytestmark = pytest.mark.django_db

MISSING = 999_999_999


def _relation_filters():
    """(route, filter name) of every filter on a related object's id, from the router."""
    backend = StrictFilterBackend()
    found = []
    for prefix, viewset, basename in router.registry:
        if basename not in list_routes():
            continue
        view = viewset()
        view.action = "list"
        model = getattr(view, "model", None)
        queryset = model._default_manager.none() if model is not None else None
        filterset_class = backend.get_filterset_class(view, queryset)
        if filterset_class is None:
            continue
        for name, field in filterset_class.base_filters.items():
            model_field = getattr(filterset_class.Meta.model, field.field_name.split("__")[0], None)
            relation = getattr(getattr(model_field, "field", None), "is_relation", False)
            if relation or isinstance(field, IdFilter):
                found.append((prefix, name, field))
    return found


RELATION_FILTERS = _relation_filters()


def test_the_router_has_relation_filters_to_check():
    assert {(p, n) for p, n, _ in RELATION_FILTERS} >= {
        ("stories", "epic"),
        ("tasks", "story"),
        ("epics", "milestone"),
        ("dependencies", "from_epic"),
    }


@pytest.mark.parametrize(
    ("prefix", "name"), [(p, n) for p, n, _ in RELATION_FILTERS], ids=lambda v: str(v)
)
def test_a_relation_filter_never_looks_the_object_up(prefix, name):
    field = next(f for p, n, f in RELATION_FILTERS if (p, n) == (prefix, name))
    # A ModelChoiceFilter answers 400 for a missing id and 200 for a foreign one.
    assert not isinstance(field, ModelChoiceFilter), (prefix, name)


def test_foreign_and_missing_ids_answer_the_same(flow, foreign):
    foreign_epic = services.epic_create(
        actor=foreign.actor("cpo"), title="Foreign epic", acceptance_conditions="x"
    )
    foreign_story = services.story_create(
        actor=foreign.actor("po1"), scrum_team=foreign.scrum_teams[0], title="Foreign", points=1
    )
    _, secret = api_token_create(user=flow.po1, name="probe")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    cases = [
        ("stories", "epic", foreign_epic.pk),
        ("stories", "assignee", foreign.po1.pk),
        ("stories", "team", foreign.scrum_teams[0].pk),
        ("tasks", "story", foreign_story.pk),
        ("dependencies", "from_epic", foreign_epic.pk),
        ("dependencies", "from_story", foreign_story.pk),
        ("risks", "scrum_team", foreign.scrum_teams[0].pk),
        ("events", "scrum_team", foreign.scrum_teams[0].pk),
        ("acceptance-criteria", "story", foreign_story.pk),
    ]
    for prefix, name, foreign_id in cases:
        answers = [api.get(f"/api/v1/{prefix}/", {name: value}) for value in (foreign_id, MISSING)]
        assert [a.status_code for a in answers] == [200, 200], (prefix, name)
        assert (
            answers[0].json()
            == answers[1].json()
            == {
                "count": 0,
                "next": None,
                "previous": None,
                "results": [],
            }
        ), (prefix, name)
