from playwright.sync_api import expect

from tests.conftest import build_flow_team


def test_api_docs_render_under_the_csp(transactional_db, login, live_server, tmp_path):
    build_flow_team()
    page = login("dev1@example.com")
    page.get_by_role("link", name="API docs").click()
    expect(page.get_by_text("SEM Flow API").first).to_be_visible(timeout=15000)
    expect(page.get_by_text("/api/v1/stories/").first).to_be_visible()
    page.screenshot(path="/tmp/api-docs.png")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], (
        page.console_errors
    )
