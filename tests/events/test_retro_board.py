"""The retrospective board (/events/<pk>/retro/): who sees it, privacy before the reveal
in every answer (page, fragment, writes, poll), anonymity, refusals, the live poll, and
query counts that do not grow with the number of teams."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import ActionItem, RetroCard, RetroVote
from events.retro import services as retro
from tests.conftest import build_flow_team
from tests.events import retro_setup
from tests.events.retro_setup import HX, NOW, client_of, retro_events

pytestmark = pytest.mark.django_db
# The shared fixtures (tests/events/retro_setup.py): the clock at NOW, the two retros.
clock, retros = retro_setup.clock, retro_setup.retros
SECRET = "Nobody else may read this yet"


def board_url(event) -> str:
    return f"/events/{event.pk}/retro/"


def poll_url(html: str) -> str:
    found = re.search(r'id="retro-poll"[^>]*hx-get="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&")


def test_participants_see_the_board_others_do_not(flow, foreign, retros):
    team, flow_retro = retros
    for key in ("po1", "sm1", "dev1"):
        assert client_of(flow.users[key]).get(board_url(team)).status_code == 200
    assert client_of(flow.dev2).get(board_url(team)).status_code == 403
    client_of(flow.dev1).post(
        f"/events/{team.pk}/retro/cards/", {"column": "0", "text": "Team 1 only"}, **HX
    )
    note = client_of(flow.dev2).get(board_url(team), **HX).content.decode()
    assert "Team 1's own retrospective" in note and "Team 1 only" not in note
    assert 'id="retro-poll"' not in note
    assert client_of(flow.dev1).get(board_url(flow_retro)).status_code == 403
    assert client_of(flow.csm).get(board_url(flow_retro)).status_code == 200
    # Stakeholders never; another Flow Team's retro is not found.
    assert client_of(flow.stakeholder).get(board_url(flow_retro)).status_code == 404
    assert client_of(foreign.sm1).get(board_url(team)).status_code == 404
    answer = client_of(foreign.csm).post(
        f"/events/{team.pk}/retro/cards/", {"column": "0", "text": "x"}
    )
    assert answer.status_code == 404
    assert list(RetroCard.objects.values_list("text", flat=True)) == ["Team 1 only"]


def test_the_event_screen_of_a_retro_loads_its_board(flow, retros):
    team, _ = retros
    html = client_of(flow.dev1).get(f"/events/{team.pk}/").content.decode()
    assert f'hx-get="/events/{team.pk}/retro/"' in html


def test_a_forbidden_write_is_403_and_writes_nothing(flow, retros):
    team, _ = retros
    answer = client_of(flow.dev2).post(
        f"/events/{team.pk}/retro/cards/", {"column": "0", "text": "x"}, **HX
    )
    assert answer.status_code == 403
    answer = client_of(flow.dev1).post(f"/events/{team.pk}/retro/phase/", {"phase": "group"}, **HX)
    assert answer.status_code == 403
    assert not RetroCard.objects.exists()


def test_before_the_reveal_another_persons_card_never_reaches_a_browser(flow, retros):
    team, _ = retros
    dev, po, sm = client_of(flow.dev1), client_of(flow.po1), client_of(flow.sm1)
    seen = []
    po_page = po.get(board_url(team)).content.decode()
    po_poll = poll_url(po_page)
    answer = dev.post(f"/events/{team.pk}/retro/cards/", {"column": "1", "text": SECRET}, **HX)
    assert answer.status_code == 200
    assert SECRET in answer.content.decode()  # the author sees their own card
    card = RetroCard.objects.get()
    seen += [
        po.get(board_url(team)),
        po.get(board_url(team), **HX),
        po.get(po_poll, **HX),
        sm.get(f"/events/{team.pk}/"),
        sm.get(board_url(team), **HX),
        po.post(f"/events/{team.pk}/retro/cards/", {"column": "0", "text": "Mine"}, **HX),
        po.get(f"/events/{team.pk}/retro/cards/{card.pk}/edit/"),
        po.post(f"/events/{team.pk}/retro/cards/{card.pk}/delete/", **HX),
        sm.post(
            f"/events/{team.pk}/retro/settings/", {"format": "ssc", "votes_per_person": "4"}, **HX
        ),
    ]
    for response in seen:
        assert SECRET not in response.content.decode(), response.request["PATH_INFO"]
    assert [r.status_code for r in seen[-3:]] == [404, 403, 200]
    # The others see that a card was written, not what it says.
    assert "1 card written" in po.get(board_url(team)).content.decode()
    # The reveal: everyone sees it, and the poll brings it.
    po_page = po.get(board_url(team), **HX).content.decode()
    assert sm.post(f"/events/{team.pk}/retro/phase/", {"phase": "group"}, **HX).status_code == 200
    polled = po.get(poll_url(po_page), **HX).content.decode()
    assert SECRET in polled
    assert 'id="retro-compose"' in polled  # the phase moved: the form follows


def test_an_anonymous_card_shows_nobody_its_author(flow, retros):
    team, _ = retros
    sm = client_of(flow.sm1)
    sm.post(
        f"/events/{team.pk}/retro/settings/",
        {"format": "msg", "votes_per_person": "3", "anonymous": "on"},
        **HX,
    )
    client_of(flow.dev1).post(
        f"/events/{team.pk}/retro/cards/", {"column": "2", "text": "Glad"}, **HX
    )
    html = client_of(flow.dev1).get(board_url(team)).content.decode()
    assert "Edit" in html  # the author keeps their own card editable
    sm.post(f"/events/{team.pk}/retro/phase/", {"phase": "group"}, **HX)
    for phase in ("vote", "discuss"):
        html = sm.get(board_url(team)).content.decode()
        assert "Glad" in html and flow.dev1.display_name not in html.split('id="retro-compose"')[0]
        assert (
            flow.dev1.display_name
            not in html.split("retro-board-root")[1].split("retro-compose")[0]
        )
        sm.post(f"/events/{team.pk}/retro/phase/", {"phase": phase}, **HX)
    card = RetroCard.objects.get()
    assert card.author is None


def test_a_named_card_shows_its_author_after_the_reveal(flow, retros):
    team, _ = retros
    client_of(flow.dev1).post(
        f"/events/{team.pk}/retro/cards/", {"column": "0", "text": "Start X"}, **HX
    )
    client_of(flow.sm1).post(f"/events/{team.pk}/retro/phase/", {"phase": "group"}, **HX)
    html = client_of(flow.po1).get(board_url(team)).content.decode()
    assert "Start X" in html and flow.dev1.display_name in html


def test_the_fourth_dot_is_refused_and_says_so(flow, retros):
    team, _ = retros
    dev, sm = client_of(flow.dev1), client_of(flow.sm1)
    dev.post(f"/events/{team.pk}/retro/cards/", {"column": "0", "text": "a"}, **HX)
    card = RetroCard.objects.get()
    for phase in ("group", "vote"):
        sm.post(f"/events/{team.pk}/retro/phase/", {"phase": phase}, **HX)
    url = f"/events/{team.pk}/retro/cards/{card.pk}/vote/"
    statuses = [dev.post(url, {"action": "add"}, **HX).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 400]
    refused = dev.post(url, {"action": "add"}, **HX).content.decode()
    assert "you have used all your 3 dots" in refused
    assert RetroVote.objects.count() == 3
    assert 'data-dots-left="0"' in refused


@pytest.mark.parametrize(
    "path,data,field_text",
    [
        ("cards/", {"column": "9", "text": "x"}, "choose one of the board"),
        ("cards/", {"column": "abc", "text": "x"}, "choose one of the values"),
        ("cards/", {"column": "0", "text": "x" * 501}, "at most 500"),
        ("cards/", {"column": "0", "card": "99999999999", "text": "x"}, "choose one of the values"),
        ("settings/", {"format": "zz", "votes_per_person": "3"}, "choose one of the formats"),
        ("settings/", {"format": "ssc", "votes_per_person": "0"}, "between 1 and 20"),
        ("phase/", {"phase": "nonsense"}, "choose a phase"),
    ],
)
def test_hostile_posts_are_refused_naming_the_field(flow, retros, path, data, field_text):
    team, _ = retros
    answer = client_of(flow.sm1).post(f"/events/{team.pk}/retro/{path}", data, **HX)
    assert answer.status_code == 400
    assert field_text in answer.content.decode()
    assert not RetroCard.objects.exists()


def test_a_refused_card_keeps_the_typed_text(flow, retros):
    team, _ = retros
    answer = client_of(flow.dev1).post(
        f"/events/{team.pk}/retro/cards/", {"column": "7", "text": "Keep me"}
    )
    assert answer.status_code == 400
    assert ">Keep me</textarea>" in answer.content.decode()


def test_action_items_show_on_the_other_screen_through_the_poll(flow, retros):
    team, _ = retros
    sm, po = client_of(flow.sm1), client_of(flow.po1)
    for phase in ("group", "vote", "discuss"):
        sm.post(f"/events/{team.pk}/retro/phase/", {"phase": phase}, **HX)
    page = po.get(board_url(team)).content.decode()
    due = (NOW.date() + datetime.timedelta(days=7)).isoformat()
    answer = sm.post(
        f"/events/{team.pk}/retro/actions/",
        {"text": "Automate the release", "owner": str(flow.dev1.pk), "due_date": due},
        **HX,
    )
    assert answer.status_code == 200
    assert ActionItem.objects.get().owner == flow.dev1
    polled = po.get(poll_url(page), **HX)
    assert "Automate the release" in polled.content.decode()
    assert 'id="retro-compose"' not in polled.content.decode()  # po's typing is kept
    assert po.get(poll_url(polled.content.decode()), **HX).status_code == 204


def queries_of(n_teams: int, clock) -> tuple[int, int]:
    ns = build_flow_team(prefix=f"Q{n_teams}", teams=n_teams)
    team, flow_retro = retro_events(ns)
    for k in range(n_teams):
        actor = ns.actor(f"po{k + 1}")
        retro.card_add(actor=actor, event=flow_retro, column=k % 3, text=f"card {k}")
    for phase in ("group", "vote"):
        retro.retro_phase(actor=ns.actor("csm"), event=flow_retro, to=phase)
    retro.vote_cast(
        actor=ns.actor("po1"),
        event=flow_retro,
        card_id=RetroCard.objects.filter(retrospective__event=flow_retro).first().pk,
    )
    client = client_of(ns.csm)
    with CaptureQueriesContext(connection) as board:
        page = client.get(board_url(flow_retro), **HX).content.decode()
    retro.vote_cast(
        actor=ns.actor("po1"),
        event=flow_retro,
        card_id=RetroCard.objects.filter(retrospective__event=flow_retro).first().pk,
    )
    with CaptureQueriesContext(connection) as poll:
        assert client.get(poll_url(page), **HX).status_code == 200
    return len(board), len(poll)


def test_board_and_poll_queries_do_not_grow_with_teams(db, clock):
    assert queries_of(3, clock) == queries_of(15, clock)


def test_the_flow_retro_shows_the_team_retros_top_groups_but_no_private_card(flow, retros):
    team, flow_retro = retros
    dev, sm = flow.actor("dev1"), flow.actor("sm1")
    top = retro.card_add(actor=dev, event=team, column=0, text="Pairing helped")
    retro.card_add(actor=dev, event=team, column=1, text="Nobody voted this")
    html = client_of(flow.csm).get(board_url(flow_retro)).content.decode()
    assert "Pairing helped" not in html and "has revealed its cards yet" in html
    for phase in ("group", "vote"):
        retro.retro_phase(actor=sm, event=team, to=phase)
    retro.vote_cast(actor=dev, event=team, card_id=top.pk)
    html = client_of(flow.csm).get(board_url(flow_retro)).content.decode()
    assert "Pairing helped" in html and "Nobody voted this" not in html
    assert "Team 1" in html


def test_the_flow_retros_screen_gets_the_team_themes_through_its_poll(flow, retros):
    team, flow_retro = retros
    dev, sm = flow.actor("dev1"), flow.actor("sm1")
    csm = client_of(flow.csm)
    url = poll_url(csm.get(board_url(flow_retro)).content.decode())
    assert csm.get(url, **HX).status_code == 204
    top = retro.card_add(actor=dev, event=team, column=0, text="Pairing helped")
    # The card is private still: the poll answers, without it.
    polled = csm.get(url, **HX).content.decode()
    assert 'id="retro-themes"' in polled and "Pairing helped" not in polled
    for phase in ("group", "vote"):
        retro.retro_phase(actor=sm, event=team, to=phase)
    retro.vote_cast(actor=dev, event=team, card_id=top.pk)
    polled = csm.get(poll_url(polled), **HX).content.decode()
    assert "Pairing helped" in polled and "1 dot" in polled


def test_deleting_a_card_keeps_the_text_being_typed_and_a_phase_move_redraws_the_form(flow, retros):
    team, _ = retros
    dev, sm = client_of(flow.dev1), client_of(flow.sm1)
    dev.post(f"/events/{team.pk}/retro/cards/", {"column": "0", "text": "Gone soon"}, **HX)
    card = RetroCard.objects.get()
    answer = dev.post(f"/events/{team.pk}/retro/cards/{card.pk}/delete/", **HX).content.decode()
    assert 'id="retro-compose"' not in answer and "Gone soon" not in answer
    moved = sm.post(
        f"/events/{team.pk}/retro/phase/", {"phase": "group", "shown_phase": "collect"}, **HX
    ).content.decode()
    assert 'id="retro-compose"' in moved and "Drag a card onto another" in moved
