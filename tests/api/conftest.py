import pytest
from rest_framework.test import APIClient

from backlog import services
from teams.services import api_token_create


@pytest.fixture
def api(flow):
    """api("po1") -> an APIClient authenticated with a personal token of that person."""
    clients = {}

    def client_for(key, ns=flow):
        if (key, id(ns)) not in clients:
            _, secret = api_token_create(user=ns.users[key], name="test")
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
            clients[(key, id(ns))] = client
        return clients[(key, id(ns))]

    return client_for


@pytest.fixture
def story(flow):
    return services.story_create(
        actor=flow.actor("po1"),
        scrum_team=flow.scrum_teams[0],
        title="Export invoices",
        points=3,
        criteria=["CSV has every column"],
    )
