import re
import time

from django.core.management import call_command
from playwright.sync_api import expect

from flow.models import MetricSnapshot

CANVASES = [
    "chart-cycle-time", "chart-aging", "chart-throughput", "chart-cfd", "chart-wip",
    "chart-distribution", "chart-velocity", "chart-predictability", "chart-forecast",
]  # fmt: skip
DRAWN = """ids => ids.map(id => {
  const chart = Chart.getChart(document.getElementById(id));
  return chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : -1;
})"""


def wait_until(page, expression, arg=None, timeout=15.0):
    """Poll from Python: wait_for_function evaluates a string, which the page's CSP forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.05)


def test_cpo_reads_the_charts_and_narrows_them_to_a_team(transactional_db, settings, login):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the seed's metrics run, in this process
    call_command("seed", size="demo")
    # Today's: the Flow Team and its 5 Scrum Teams (the seed also keeps a few earlier
    # days', the values its improvement items were raised at).
    today = MetricSnapshot.objects.latest("as_of").as_of
    assert MetricSnapshot.objects.filter(as_of=today).count() == 6

    page = login("cpo@example.com")
    page.get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", name="Flow metrics", exact=True)).to_be_visible()
    expect(page.locator("#metrics-scope")).to_contain_text("Whole Flow Team")
    # The chart scripts are deferred: on a busy machine the heading shows before they ran.
    wait_until(page, "ids => !!window.Chart && ids.every(id => !!Chart.getChart(id))", CANVASES)
    points = page.evaluate(DRAWN, CANVASES)
    assert all(n > 0 for n in points), dict(zip(CANVASES, points, strict=True))
    velocity_teams = page.evaluate("Chart.getChart('chart-velocity').data.datasets.length")
    assert velocity_teams == 5

    page.get_by_label("Team", exact=True).select_option(label="Team 2")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#metrics-scope")).to_contain_text("Team 2 ·")
    expect(page).to_have_url(re.compile(r"/metrics/\?team=2"))
    wait_until(page, "() => Chart.getChart('chart-velocity')?.data.datasets.length === 1")
    assert all(n > 0 for n in page.evaluate(DRAWN, CANVASES[:6]))

    page.get_by_label("When will this many be done?").fill("25")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("#forecast-questions")).to_contain_text("When: your 25 stories")
    assert page.console_errors == []  # CSP violations and script errors land here


def test_the_pages_fit_a_phone_screen(transactional_db, settings, login, live_server):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("seed", size="demo")
    page = login("po2@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/calendar/", "/metrics/?team=2", "/flow-team/", "/account/tokens/"):
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
    assert page.console_errors == []
