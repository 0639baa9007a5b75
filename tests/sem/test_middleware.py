"""sem/middleware.py: what a refusal in front of every view says, to the API and on a page."""

import pytest

pytestmark = pytest.mark.django_db

REASON = "may not contain the control character U+0000"


def test_the_api_hears_a_refused_query_parameter_as_problem_details(client):
    response = client.get("/api/v1/stories/", {"q": "a\x00"})
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://semflow.example.com/problems/validation",
        "title": "Invalid request",
        "status": 400,
        "detail": f"q: {REASON}",
        "errors": {"q": [REASON]},
    }


def test_a_page_names_the_refused_field_and_why(client):
    response = client.get("/", {"q": "a\x00"})
    assert response.status_code == 400
    page = response.content.decode()
    assert '<div class="code">400</div>' in page
    assert f'<p role="alert" id="refused-field"><strong>q</strong>: {REASON}</p>' in page


def test_a_body_too_large_is_refused_with_its_size_to_the_api_and_on_a_page(client, settings):
    settings.API_MAX_BODY_BYTES = 10
    detail = "the body has 11 bytes; the limit is 10"
    api = client.post("/api/v1/stories/", "x" * 11, content_type="application/json")
    assert api.status_code == 413
    assert api.json() == {
        "type": "https://semflow.example.com/problems/too-large",
        "title": "Request body too large",
        "status": 413,
        "detail": detail,
    }
    form = "u=" + "x" * 9  # 11 bytes
    page = client.post("/login/", form, content_type="application/x-www-form-urlencoded")
    page = page.content.decode()
    assert '<div class="code">413</div>' in page
    assert f'<p role="alert" id="refused-field"><strong>body</strong>: {detail}</p>' in page
