"""The Product Backlog Refinement screen over HTTP: nobody else's poker vote reaches a
browser before the reveal (not in the page, a fragment, the poll or a write's answer), who
may see and write what, refusals that name their field, the poll, and query counts that do
not grow with the Flow Team."""

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog.models import Story
from events.models import PokerRound, PokerVote
from events.poker import services as poker
from tests.events.refinement_setup import HX, NOW, refinement_of
from tests.events.retro_setup import client_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ref(flow):
    with time_machine.travel(NOW, tick=False):
        yield refinement_of(flow)


def url(ref, tail=""):
    return f"/events/{ref.event.pk}/refinement/{tail}"


def poll_url(html: str) -> str:
    return re.search(r'id="ref-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


# What differs between two renders whatever the votes: CSRF tokens, the poll URL, the id of
# the criterion sm1 adds in each run.
NOISE = [
    re.compile(r'data-criterion="\d+"'),
    re.compile(r"/criteria/\d+/"),
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'),
    re.compile(r'"X-CSRFToken": "[^"]+"'),
    re.compile(r'hx-get="/events/\d+/refinement/live/[^"]*"'),
]


def normal(html: str) -> str:
    for pattern in NOISE:
        html = pattern.sub("", html)
    return html


def what_sm1_receives(flow, ref, round_, seen_poll: str) -> dict[str, str]:
    """Every answer sm1's browser gets while dev1's vote is hidden: the page, a compose
    fragment, the poll answer (from before dev1 voted), and the answers of sm1's own writes
    (a vote, a criterion added)."""
    sm = client_of(flow.sm1)
    answers = {
        "page": sm.get(url(ref)),
        "fragment": sm.get(url(ref), {"compose": "criterion", "story": ref.story.pk}, **HX),
        "poll": sm.get(seen_poll, **HX),
        "vote": sm.post(url(ref, f"poker/{round_.pk}/vote/"), {"value": "2"}, **HX),
        "criterion": sm.post(
            url(ref, "criteria/"), {"story": ref.estimated.pk, "text": "A trace"}, **HX
        ),
        "refused": sm.post(url(ref, f"poker/{round_.pk}/vote/"), {"value": "4"}, **HX),
    }
    assert [a.status_code for a in answers.values()] == [200, 200, 200, 200, 200, 400]
    return {name: a.content.decode() for name, a in answers.items()}


def test_no_other_persons_vote_reaches_a_browser_before_the_reveal(flow, ref):
    """sm1 gets the very same bytes whether dev1 voted 13 or 40: nothing of the value leaks,
    not even its length; after the reveal both see every value."""
    with time_machine.travel(NOW, tick=False):
        round_ = poker.round_open(actor=flow.actor("sm1"), event=ref.event, story_id=ref.story.pk)
        dev = client_of(flow.dev1)
        seen = poll_url(client_of(flow.sm1).get(url(ref)).content.decode())
        runs = []
        for value in ("13", "40"):
            answer = dev.post(url(ref, f"poker/{round_.pk}/vote/"), {"value": value}, **HX)
            assert answer.status_code == 200
            # The voter's own answer shows their card.
            assert f'data-vote-value="{value}"' in answer.content.decode()
            received = what_sm1_receives(flow, ref, round_, seen)
            for name, html in received.items():
                assert f'data-vote-value="{value}"' not in html, name
                assert f"voted {value}" not in html, name
            runs.append(received)
            # Undo sm1's own writes, so both runs start alike.
            PokerVote.objects.filter(voter=flow.sm1).delete()
            Story.objects.get(pk=ref.estimated.pk).criteria.filter(text="A trace").delete()
        first, second = runs
        for name in first:
            assert normal(first[name]) == normal(second[name]), f"{name} depends on dev1's vote"
        assert f'data-voter="{flow.dev1.pk}" data-voted="yes"' in first["page"]

        client_of(flow.sm1).post(url(ref, f"poker/{round_.pk}/reveal/"), **HX)
        for person in (flow.sm1, flow.po1, flow.csm):
            html = client_of(person).get(url(ref)).content.decode()
            assert 'data-vote-value="40"' in html, person


def test_the_other_persons_vote_is_no_part_of_the_reveal_answer_before_it(flow, ref):
    with time_machine.travel(NOW, tick=False):
        round_ = poker.round_open(actor=flow.actor("sm1"), event=ref.event, story_id=ref.story.pk)
        poker.vote_cast(actor=flow.actor("dev1"), event=ref.event, round_id=round_.pk, value="20")
        sm = client_of(flow.sm1)
        html = sm.get(url(ref)).content.decode()
        assert "has voted" in html and 'data-vote-value="20"' not in html
        answer = sm.post(url(ref, f"poker/{round_.pk}/reveal/"), **HX).content.decode()
        assert 'data-vote-value="20"' in answer and "Votes revealed." in answer


def test_who_sees_the_screen_and_who_writes_on_it(flow, foreign, ref):
    with time_machine.travel(NOW, tick=False):
        assert client_of(flow.stakeholder).get(url(ref)).status_code == 404
        assert client_of(foreign.dev1).get(url(ref)).status_code == 404
        assert client_of(foreign.csm).get(url(ref, "live/")).status_code == 403
        for reader in (flow.csm, flow.architect, flow.dev2):
            page = client_of(reader).get(url(ref))
            assert page.status_code == 200
            html = page.content.decode()
            assert "Pay by invoice" in html and "Readiness before the next planning" in html
            assert "Vote 5" not in html and "Estimate Pay by invoice" not in html
        po1 = client_of(flow.po1)
        assert "Estimate Pay by invoice" in po1.get(url(ref)).content.decode()
        round_ = poker.round_open(actor=flow.actor("po1"), event=ref.event, story_id=ref.story.pk)
        for outsider in (flow.csm, flow.cpo, flow.dev2):
            answer = client_of(outsider).post(
                url(ref, f"poker/{round_.pk}/vote/"), {"value": "3"}, **HX
            )
            assert answer.status_code == 403
        assert (
            client_of(flow.csm)
            .post(url(ref, "stories/"), {"epic": ref.epic.pk, "title": "No"}, **HX)
            .status_code
            == 403
        )
        assert (
            client_of(foreign.po1)
            .post(url(ref, "stories/"), {"epic": ref.epic.pk, "title": "No"}, **HX)
            .status_code
            == 404
        )
        assert (
            client_of(flow.cpo)
            .post(url(ref, "stories/"), {"epic": ref.epic.pk, "title": "By the CPO"}, **HX)
            .status_code
            == 200
        )
        assert not PokerVote.objects.exists()
        assert set(Story.objects.filter(epic=ref.epic).values_list("title", flat=True)) == {
            "Pay by card",
            "Pay by invoice",
            "By the CPO",
        }


def test_a_non_refinement_event_has_no_refinement_screen(flow, ref):
    from events.models import Event

    other = Event.objects.filter(flow_team=flow.flow_team, kind="daily_scrum").first()
    assert client_of(flow.dev1).get(f"/events/{other.pk}/refinement/").status_code == 404


@pytest.mark.parametrize(
    ("tail", "data", "field"),
    [
        ("poker/", {"story": "x"}, "story"),
        ("poker/{round}/vote/", {"value": "7"}, "value"),
        ("poker/{round}/vote/", {}, "value"),
        ("poker/{round}/agree/", {"points": "5", "version": "1"}, "points"),
        ("stories/", {"epic": "{epic}", "title": " "}, "title"),
        ("stories/", {"epic": "e", "title": "t"}, "epic"),
        ("stories/", {"epic": "{epic}", "title": "x" * 201}, "title"),
        ("criteria/", {"story": "{story}", "text": ""}, "text"),
        ("criteria/", {"story": "", "text": "t"}, "story"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(flow, ref, tail, data, field):
    with time_machine.travel(NOW, tick=False):
        round_ = poker.round_open(actor=flow.actor("sm1"), event=ref.event, story_id=ref.story.pk)
        ids = {"round": round_.pk, "epic": ref.epic.pk, "story": ref.story.pk}
        data = {k: v.format(**ids) for k, v in data.items()}
        stories, rounds = Story.objects.count(), PokerRound.objects.count()
        for headers in (HX, {}):
            answer = client_of(flow.dev1).post(url(ref, tail.format(**ids)), data, **headers)
            assert answer.status_code == 400
            assert f"{field}:" in answer.content.decode()
        assert (Story.objects.count(), PokerRound.objects.count()) == (stories, rounds)
        assert not PokerVote.objects.exists()


def test_a_stale_agreement_is_a_409_saying_who_saved_first(flow, ref):
    with time_machine.travel(NOW, tick=False):
        round_ = poker.round_open(actor=flow.actor("sm1"), event=ref.event, story_id=ref.story.pk)
        poker.vote_cast(actor=flow.actor("sm1"), event=ref.event, round_id=round_.pk, value="5")
        poker.round_reveal(actor=flow.actor("sm1"), event=ref.event, round_id=round_.pk)
        read = Story.objects.get(pk=ref.story.pk).version
        client_of(flow.po1).post(
            url(ref, f"poker/{round_.pk}/agree/"), {"points": "8", "version": read}, **HX
        )
        answer = client_of(flow.dev1).post(
            url(ref, f"poker/{round_.pk}/agree/"), {"points": "3", "version": read}, **HX
        )
        # The round is closed by the first agreement: the second is told so.
        assert answer.status_code == 400 and "round is over" in answer.content.decode()
        # A new round on the story, agreed on an old read: the conflict names who saved.
        poker.round_open(actor=flow.actor("sm1"), event=ref.event, story_id=ref.story.pk)
        again = PokerRound.objects.get(closed=False)
        poker.vote_cast(actor=flow.actor("sm1"), event=ref.event, round_id=again.pk, value="5")
        poker.round_reveal(actor=flow.actor("sm1"), event=ref.event, round_id=again.pk)
        answer = client_of(flow.dev1).post(
            url(ref, f"poker/{again.pk}/agree/"), {"points": "3", "version": read}, **HX
        )
        assert answer.status_code == 409
        assert f"{flow.po1.display_name} saved 8 points" in answer.content.decode()
        assert Story.objects.get(pk=ref.story.pk).points == 8


def test_a_typed_criterion_stays_when_refused_and_the_form_stays_open_when_saved(flow, ref):
    with time_machine.travel(NOW, tick=False):
        dev = client_of(flow.dev1)
        form = dev.get(url(ref), {"compose": "criterion", "story": ref.story.pk}, **HX)
        assert 'name="text"' in form.content.decode() and "Pay by invoice" in form.content.decode()
        saved = dev.post(url(ref, "criteria/"), {"story": ref.story.pk, "text": "PDF"}, **HX)
        html = saved.content.decode()
        assert saved.status_code == 200 and "Criterion added." in html
        assert 'id="ref-criterion"' in html and ">PDF</textarea>" not in html
        assert Story.objects.get(pk=ref.story.pk).criteria.get().text == "PDF"
        long = "y" * 501
        refused = dev.post(url(ref, "criteria/"), {"story": ref.story.pk, "text": long}, **HX)
        assert refused.status_code == 400 and f">{long}</textarea>" in refused.content.decode()


def test_the_poll_is_204_in_two_queries_until_something_changes(flow, ref):
    with time_machine.travel(NOW, tick=False):
        sm = client_of(flow.sm1)
        poll = poll_url(sm.get(url(ref)).content.decode())
        with CaptureQueriesContext(connection) as ctx:
            assert sm.get(poll, **HX).status_code == 204
        assert len(ctx) <= 2
        poker.refinement_story_add(
            actor=flow.actor("po1"), event=ref.event, epic_id=ref.epic.pk, title="Pay later"
        )
        answer = sm.get(poll, **HX)
        assert answer.status_code == 200 and "Pay later" in answer.content.decode()
        assert 'id="ref-compose"' not in answer.content.decode()
        # A change elsewhere in the Flow Team's backlog (another team's story) reaches the
        # readiness overview too.
        poll = poll_url(answer.content.decode())
        Story.objects.filter(pk=ref.story.pk).update(points=5)
        poker.refinement_criterion_add(
            actor=flow.actor("po1"), event=ref.event, story_id=ref.story.pk, text="x"
        )
        answer = sm.get(poll, **HX).content.decode()
        assert f'data-team="{flow.scrum_teams[0].pk}" data-ready-points="8"' in answer


def _populated(prefix: str, teams: int, stories: int):
    from backlog.models import AcceptanceCriterion
    from backlog.services import epic_create
    from tests.backlog.factories import StoryFactory
    from tests.conftest import build_flow_team

    ns = build_flow_team(prefix=prefix, teams=teams)
    ref = refinement_of(ns)
    epics = [epic_create(actor=ns.actor("cpo"), title=f"E{n}") for n in range(stories // 4)]
    for team in ns.scrum_teams:
        for i in range(stories):
            story = StoryFactory(
                scrum_team=team,
                epic=epics[i % len(epics)],
                points=[None, 3][i % 2],
                rank=10**9 + i,  # after the stories the services ranked
            )
            AcceptanceCriterion.objects.create(story=story, position=1, text="c")
    round_ = poker.round_open(actor=ns.actor("sm1"), event=ref.event, story_id=ref.story.pk)
    poker.vote_cast(actor=ns.actor("dev1"), event=ref.event, round_id=round_.pk, value="5")
    return ns, ref


def test_the_screen_runs_the_same_queries_for_3_and_15_teams(db):
    counts = []
    with time_machine.travel(NOW, tick=False):
        for prefix, teams, stories in (("S", 3, 4), ("L", 15, 40)):
            ns, ref = _populated(prefix, teams, stories)
            client = client_of(ns.sm1)
            connection.queries_log.clear()  # the set-up filled its 9,000 places
            with CaptureQueriesContext(connection) as page:
                assert client.get(url(ref)).status_code == 200
            poll = poll_url(client.get(url(ref)).content.decode())
            poker.refinement_story_add(
                actor=ns.actor("po1"), event=ref.event, epic_id=ref.epic.pk, title="New"
            )
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as changed:
                assert client.get(poll, **HX).status_code == 200
            counts.append((len(page), len(changed)))
    # Session, user, membership, roles, event, live versions; epics, stories, criteria; open
    # and last round, the team, the votes; teams, ready points, next sprint, its capacities,
    # velocity. The changed poll reads the same (its versions first, then the full check).
    assert counts[0] == counts[1] == (18, 18)
