import inspect

import pytest
from factory.django import DjangoModelFactory

from tests.backlog import factories as backlog_factories
from tests.events import factories as events_factories
from tests.flow import factories as flow_factories
from tests.teams import factories as teams_factories

FACTORIES = [
    obj
    for module in (teams_factories, backlog_factories, flow_factories, events_factories)
    for _, obj in inspect.getmembers(module, inspect.isclass)
    if issubclass(obj, DjangoModelFactory) and obj.__module__ == module.__name__
]


def test_every_model_has_a_factory():
    from django.apps import apps

    covered = {f._meta.model for f in FACTORIES}
    ours = {
        m
        for app in ("teams", "backlog", "flow", "events")
        for m in apps.get_app_config(app).get_models()
    }
    assert ours - covered == set()


@pytest.mark.django_db
@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_builds_a_valid_saved_object(factory):
    obj = factory()
    assert obj.pk is not None
    obj.full_clean()
