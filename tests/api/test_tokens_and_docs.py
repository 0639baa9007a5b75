import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from teams.models import ApiToken

pytestmark = pytest.mark.django_db


def test_person_creates_names_and_revokes_a_token(client, flow):
    client.force_login(flow.dev1)
    page = client.post("/account/tokens/", {"name": "CI pipeline"})
    html = page.content.decode()
    token = ApiToken.objects.get(user=flow.dev1)
    secret = html.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("sf_") and token.prefix == secret[:10]
    assert secret not in token.token_hash  # stored hashed
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/stories/").status_code == 200
    # shown once: the list page does not show it again
    assert secret not in client.get("/account/tokens/").content.decode()
    client.post("/account/tokens/", {"revoke": token.pk})
    assert api.get("/api/v1/stories/").status_code == 401


def test_token_needs_a_name(client, flow):
    client.force_login(flow.dev1)
    html = client.post("/account/tokens/", {"name": "  "}).content.decode()
    assert "name the token" in html
    assert not ApiToken.objects.exists()


def test_nobody_revokes_someone_elses_token(client, flow):
    from teams.services import api_token_create

    token, _ = api_token_create(user=flow.dev2, name="theirs")
    client.force_login(flow.dev1)
    client.post("/account/tokens/", {"revoke": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is None


def test_command_prints_a_working_token(flow, capsys):
    call_command("api_token", "po1@example.com", "--name", "bot")
    secret = capsys.readouterr().out.strip()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/flow-teams/").json()["results"][0]["name"] == "Atlas"
    assert ApiToken.objects.get(user=flow.po1).name == "bot"


def test_schema_documents_every_operation_and_its_errors(client, flow):
    client.force_login(flow.dev1)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "bearerAuth" in schema["components"]["securitySchemes"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method} {path} has a summary"
            codes = set(operation["responses"])
            assert {"401", "404", "429"} <= codes, (method, path, codes)
            if method in ("post", "patch"):
                assert {"400", "403"} <= codes, (method, path, codes)
    patch = schema["paths"]["/api/v1/stories/{id}/"]["patch"]["responses"]
    assert {"412", "428"} <= set(patch)


def test_docs_page_is_served_from_vendored_files(client, flow):
    client.force_login(flow.dev1)
    html = client.get("/api/docs/").content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_the_schema_is_generated_without_warnings(tmp_path):
    # A warning is a name the generator had to guess (two names for one choice set, an
    # enum collision, a view it could not read): clients would see the guess.
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
