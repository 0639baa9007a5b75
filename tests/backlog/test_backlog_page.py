"""The product backlog page: epics with their stories per Scrum Team, the filters, the
Definition of Ready shown per story, and splitting an epic into stories."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backlog import services
from backlog.models import AcceptanceCriterion, Epic, Milestone, StateChange, Story
from backlog.ranking import GAP
from tests.api.test_hostile_input import snapshot

pytestmark = pytest.mark.django_db

URL, SPLIT = "/backlog/", "/backlog/split/"


def _client(ns, key):
    client = Client()
    client.force_login(ns.users[key])
    return client


@pytest.fixture
def backlog(flow):
    cpo = flow.actor("cpo")
    first = services.epic_create(actor=cpo, title="Self-service onboarding")
    second = services.epic_create(actor=cpo, title="Invoices by email")
    t1, t2 = flow.scrum_teams[0], flow.scrum_teams[1]
    ready = services.story_create(
        actor=cpo, scrum_team=t2, title="Sign up form", criteria=["a form"], points=3, epic=first
    )
    unestimated = services.story_create(
        actor=cpo, scrum_team=t1, title="Welcome mail", criteria=["sent"], epic=first
    )
    bare = services.story_create(actor=cpo, scrum_team=t1, title="Tour", points=2, epic=first)
    loose = services.story_create(actor=cpo, scrum_team=t2, title="Fix the logo", points=1)
    return {
        "first": first,
        "second": second,
        "ready": ready,
        "unestimated": unestimated,
        "bare": bare,
        "loose": loose,
    }


def _page(client, query=""):
    response = client.get(URL + query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_epics_in_rank_order_with_their_stories_per_team_in_team_order(flow, backlog):
    page = _page(_client(flow, "stakeholder"))
    assert page.index("Self-service onboarding") < page.index("Invoices by email")
    first = page.index('id="epic-{}"'.format(backlog["first"].pk))
    # Team 1 before Team 2; within Team 1 the stories in their rank order.
    assert first < page.index("Welcome mail") < page.index("Tour") < page.index("Sign up form")
    # Stories without an epic are counted here and listed on their own page.
    assert "Fix the logo" not in page
    assert "1 story →" in page[page.index('id="without-epic"') :]
    page = _page(_client(flow, "stakeholder"), "?without_epic=on")
    assert "Fix the logo" in page and "Self-service onboarding" not in page
    assert "1 story without an epic" in page


def test_epics_come_in_pages_of_twenty_and_loose_stories_up_to_two_hundred(flow, monkeypatch):
    from backlog import selectors

    _grow(flow, 45)
    client = _client(flow, "po1")
    page = _page(client)
    assert page.count('class="card epic-card') == 20
    assert "Epics 1–20 of 45" in page and "Page 1 of 3" in page and 'rel="prev"' not in page
    page = _page(client, "?page=3")
    assert page.count('class="card epic-card') == 5 and "Epics 41–45 of 45" in page
    assert 'rel="next"' not in page and '<span class="rank" aria-label="rank 41">' in page
    assert "Epics 41–45 of 45" in _page(client, "?page=99")  # past the end: the last page
    # A bad page names the field and shows the first page.
    page = _page(client, "?page=x")
    assert "Page: Enter a whole number." in page and "Epics 1–20 of 45" in page
    # The filters stay in the page links.
    assert 'href="?team=2&amp;page=2"' in _page(client, "?team=2")
    monkeypatch.setattr(selectors, "WITHOUT_EPIC_SHOWN", 1)
    services.story_create(actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="A")
    services.story_create(actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="B")
    page = _page(client, "?without_epic=on")
    assert "The first 1 of 2 are shown" in page and ">A<" in page and ">B<" not in page


def test_each_story_shows_the_definition_of_ready_or_what_it_lacks(flow, backlog):
    page = _page(_client(flow, "po1"))

    def row(story):
        start = page.index(f'id="story-{story.pk}"')
        return page[start : page.index("</tr>", start)]

    assert ">ready<" in row(backlog["ready"])
    assert "needs an estimate" in row(backlog["unestimated"])
    assert "needs an acceptance criterion" in row(backlog["bare"])
    assert "needs an estimate" not in row(backlog["bare"])


def test_blocked_stories_say_so(flow, backlog):
    services.blocker_raise(actor=flow.actor("po1"), story=backlog["bare"], reason="legal")
    page = _page(_client(flow, "po1"))
    start = page.index(f'id="story-{backlog["bare"].pk}"')
    assert "blocked" in page[start : page.index("</tr>", start)]


@pytest.mark.parametrize(
    ("key", "teams"),
    [("cpo", {1, 2, 3}), ("po1", {1}), ("sm2", {2}), ("dev3", {3})],
)
def test_people_who_create_stories_get_the_split_form_for_their_teams(flow, backlog, key, teams):
    page = _page(_client(flow, key))
    epic = backlog["first"].pk
    start = page.index(f'id="split-{epic}-team"')
    select = page[start : page.index("</select>", start)]
    offered = {t.number for t in flow.scrum_teams if f'<option value="{t.pk}"' in select}
    assert offered == teams


@pytest.mark.parametrize("key", ["stakeholder", "csm", "architect"])
def test_the_page_is_read_only_for_people_who_may_not_create_stories(flow, backlog, key):
    page = _page(_client(flow, key))
    assert "Sign up form" in page
    assert "split-" not in page and SPLIT not in page
    assert "read only" in page


def test_filter_by_team_and_states(flow, backlog):
    client = _client(flow, "po1")
    page = _page(client, "?team=1")
    assert "Welcome mail" in page and "Sign up form" not in page and "Fix the logo" not in page
    assert "Invoices by email" in page  # every epic stays listed, to be split
    page = _page(client, "?state=backlog&state=ready&team=2")
    assert "Sign up form" in page and "Welcome mail" not in page
    services.story_transition(actor=flow.actor("po2"), story=backlog["ready"], to_state="ready")
    page = _page(client, "?state=ready")
    assert "Sign up form" in page and "Fix the logo" not in page and "Tour" not in page
    assert 'value="ready" checked' in page


def test_the_htmx_answer_is_the_body_only_and_the_plain_answer_the_whole_page(flow, backlog):
    client = _client(flow, "po1")
    fragment = client.get(URL + "?team=1", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="backlog-body"')
    assert "<html" not in fragment and "Welcome mail" in fragment
    page = _page(client, "?team=1")
    assert "<html" in page and 'hx-push-url="true"' in page and 'id="backlog-body"' in page
    # htmx restoring history after a cache miss needs the whole page.
    restore = client.get(
        URL + "?team=1", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()
    assert "HX-Request" in restore["Vary"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?team=x", "Team"),
        ("?team=99", "Team"),
        ("?state=nope", "State"),
        ("?state=ready&state=" + "9" * 40, "State"),
    ],
)
def test_a_bad_filter_names_the_field_and_shows_everything(flow, backlog, query, field):
    page = _page(_client(flow, "po1"), query)
    assert 'role="alert"' in page and f"{field}:" in page
    assert "Showing every story instead" in page
    assert "Welcome mail" in page and "Sign up form" in page


def test_another_flow_teams_backlog_is_never_shown(flow, foreign, backlog):
    theirs = services.epic_create(actor=foreign.actor("cpo"), title="Their secret epic")
    services.story_create(
        actor=foreign.actor("po1"), scrum_team=foreign.scrum_teams[0], title="Their story"
    )
    services.story_create(
        actor=foreign.actor("po1"), scrum_team=foreign.scrum_teams[0], title="Their epic's story",
        epic=theirs,
    )  # fmt: skip
    for key in ("cpo", "po1", "stakeholder"):
        page = _page(_client(flow, key))
        assert "Their" not in page
    assert "Self-service onboarding" not in _page(_client(foreign, "cpo"))


def test_someone_outside_any_flow_team_gets_a_404(db):
    from tests.teams.factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 404


# --- Splitting an epic ------------------------------------------------------------


def _split(client, epic, htmx=True, **data):
    body = {"epic": epic.pk, "title": "", "team": "", "criteria": "", "points": "", **data}
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(SPLIT, body, **extra)


def test_splitting_creates_one_story_with_criteria_and_points_in_team_and_epic(flow, backlog):
    epic, team = backlog["second"], flow.scrum_teams[0]
    before = Story.objects.count()
    response = _split(
        _client(flow, "po1"),
        epic,
        title="Send the invoice",
        team=team.pk,
        criteria="the customer gets a PDF\n\n  the mail names the amount  \n",
        points="3",
    )
    assert response.status_code == 200
    assert Story.objects.count() == before + 1
    story = Story.objects.get(title="Send the invoice")
    assert (story.epic, story.scrum_team, story.points) == (epic, team, 3)
    assert list(story.criteria.values_list("text", flat=True)) == [
        "the customer gets a PDF",
        "the mail names the amount",
    ]
    history = StateChange.objects.get(story=story)
    assert (history.to_state, history.by) == ("backlog", flow.users["po1"])
    answer = response.content.decode()
    # The new row shows in the epic's stories (swapped out of band) with its DoR badge, and
    # the form comes back empty with the confirmation.
    assert f'id="epic-{epic.pk}-stories" hx-swap-oob="true"' in answer
    assert f'id="story-{story.pk}"' in answer
    assert 'class="badge badge-ok dor">ready<' in answer
    assert f'id="split-{epic.pk}-added"' in answer
    assert 'name="title"' in answer and "Send the invoice</textarea>" not in answer


def test_a_split_story_without_points_says_it_needs_an_estimate(flow, backlog):
    epic = backlog["second"]
    response = _split(
        _client(flow, "cpo"), epic, title="Later", team=flow.scrum_teams[2].pk, criteria="x"
    )
    assert "needs an estimate" in response.content.decode()
    assert Story.objects.get(title="Later").points is None


def test_a_plain_post_is_redirected_to_the_page_with_its_filters(flow, backlog):
    client = _client(flow, "po1")
    response = client.post(
        SPLIT + "?team=1",
        {"epic": backlog["second"].pk, "title": "Plain", "team": flow.scrum_teams[0].pk},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/backlog/?team=1#epic-{backlog['second'].pk}"
    assert Story.objects.filter(title="Plain", epic=backlog["second"]).count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "   "}, "Title"),
        ({"title": "x" * 201}, "Title"),
        ({"points": "4"}, "Points"),
        ({"points": "many"}, "Points"),
        ({"criteria": "y" * 501}, "Acceptance criteria"),
        ({"team": "{other_team}"}, "Team"),
        ({"team": "x"}, "Team"),
        ({"team": ""}, "Team"),
        ({"team": "²"}, "Team"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_a_refusal_keeps_the_text_names_the_field_and_writes_nothing(
    flow, backlog, data, field, htmx
):
    good = {"title": "Keep my words", "team": str(flow.scrum_teams[0].pk), "criteria": "mine"}
    data = {k: v.format(other_team=flow.scrum_teams[1].pk) for k, v in data.items()}
    before = snapshot()
    response = _split(_client(flow, "po1"), backlog["second"], htmx=htmx, **{**good, **data})
    assert response.status_code == 200
    assert snapshot() == before
    page = response.content.decode()
    assert 'role="alert"' in page and f"{field}:" in page and "Nothing was saved" in page
    # The person's text is still in the form.
    typed = data.get("title", good["title"]).strip()
    if typed and len(typed) <= 200:
        assert f'value="{typed}"' in page
    assert "mine</textarea>" in page or "criteria" in data
    if htmx:
        assert page.lstrip().startswith(f'<form id="split-{backlog["second"].pk}"')


@pytest.mark.parametrize("key", ["stakeholder", "csm", "architect"])
def test_a_forged_split_by_someone_without_rights_is_a_403(flow, backlog, key):
    before = snapshot()
    response = _split(
        _client(flow, key), backlog["second"], title="Forged", team=flow.scrum_teams[0].pk
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_a_split_of_a_foreign_epic_or_into_a_foreign_team_is_a_404(flow, foreign, backlog):
    theirs = services.epic_create(actor=foreign.actor("cpo"), title="Theirs")
    client = _client(flow, "cpo")
    before = snapshot()
    response = _split(client, theirs, title="x", team=flow.scrum_teams[0].pk)
    assert response.status_code == 404
    response = _split(client, backlog["second"], title="x", team=foreign.scrum_teams[0].pk)
    assert response.status_code == 404
    response = _split(client, backlog["second"], title="x", team="9" * 12)
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("epic", ["", "x", "-1", "9" * 30, "²", "١"])
def test_a_split_naming_no_epic_is_a_400_naming_it(flow, backlog, epic):
    client = _client(flow, "cpo")
    before = snapshot()
    response = client.post(SPLIT, {"epic": epic, "title": "x", "team": flow.scrum_teams[0].pk})
    assert response.status_code == 400
    assert "epic" in response.content.decode()
    assert snapshot() == before


def test_the_split_is_get_only_for_the_page_and_post_only_for_the_split(flow, backlog):
    client = _client(flow, "cpo")
    assert client.get(SPLIT).status_code == 405
    assert client.post(URL).status_code == 405


# --- Size -------------------------------------------------------------------------


def _grow(flow, epics: int):
    """``epics`` epics in three new milestones (the page names each epic's), each epic with
    a story in every team holding a criterion."""
    start = Epic.objects.filter(flow_team=flow.flow_team).count()
    milestones = Milestone.objects.bulk_create(
        Milestone(
            flow_team=flow.flow_team,
            name=f"Milestone {start}-{n}",
            objective="o",
            start=datetime.date(2026, 1, 5),
            end=datetime.date(2026, 3, 9),
            order=start * 10 + n + 1,
        )
        for n in range(3)
    )
    made = Epic.objects.bulk_create(
        Epic(
            flow_team=flow.flow_team,
            title=f"Epic {n}",
            rank=(start + n + 1) * GAP,
            milestone=milestones[n % 3],
        )
        for n in range(epics)
    )
    stories = Story.objects.bulk_create(
        Story(
            flow_team=flow.flow_team,
            scrum_team=team,
            epic=epic,
            title=f"Story {epic.pk}-{team.number}",
            rank=(epic.pk * 10 + team.number) * GAP,
            points=3,
        )
        for epic in made
        for team in flow.scrum_teams
    )
    AcceptanceCriterion.objects.bulk_create(
        AcceptanceCriterion(story=story, position=1, text="c") for story in stories
    )


def _queries(client, query=""):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL + query)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_page_takes_the_same_queries_at_10_and_300_epics(flow):
    client = _client(flow, "po1")
    _grow(flow, 10)
    small = (_queries(client), _queries(client, "?state=backlog&team=2"))
    _grow(flow, 290)
    assert Epic.objects.filter(flow_team=flow.flow_team).count() == 300
    page = client.get(URL).content.decode()
    assert "Epics 1–20 of 300" in page
    assert (_queries(client), _queries(client, "?state=backlog&team=2")) == small
    assert _queries(client, "?page=15") == small[0]
    assert _queries(client, "?without_epic=on") == _queries(client, "?without_epic=on&team=1")
