"""Product Backlog Refinement, the services and reads: planning poker (private votes, one
open round, reveal, agreed value saved on the story with its version), epics split into
stories, acceptance criteria, the readiness overview, and who may do what."""

import datetime
import functools

import pytest
import time_machine

from backlog import services as backlog_services
from backlog.models import AcceptanceCriterion, Story
from events.models import PokerRound, PokerVote
from events.poker import selectors as poker_selectors
from events.poker import services as poker
from flow.models import FlowSprint, TeamSprint
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from teams import services as team_services
from teams.models import Membership, Role, RoleAssignment
from tests.events.refinement_setup import NOW, refinement_of
from tests.teams.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ref(flow):
    with time_machine.travel(NOW, tick=False):
        yield refinement_of(flow)


def seat(table, user):
    return next(s for s in table["seats"] if s["user"].pk == user.pk)


def strings_in(value):
    """Every string in nested dicts, lists and tuples (model instances are not entered)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def test_votes_stay_private_until_the_reveal_then_show_all_at_once(flow, ref):
    round_ = poker.round_open(actor=flow.actor("sm1"), event=ref.event, story_id=ref.story.pk)
    poker.vote_cast(actor=flow.actor("dev1"), event=ref.event, round_id=round_.pk, value="13")
    poker.vote_cast(actor=flow.actor("sm1"), event=ref.event, round_id=round_.pk, value="5")

    table = poker_selectors.poker_table(ref.event, viewer_id=flow.sm1.pk)
    assert seat(table, flow.dev1) == {**seat(table, flow.dev1), "voted": True, "value": None}
    assert seat(table, flow.sm1)["value"] == "5" and table["mine"] == "5"
    assert seat(table, flow.po1)["voted"] is False
    assert table["votes"] == 2 and not table["revealed"]
    # Nobody's value but the viewer's own is read at all before the reveal (the table's
    # own strings; a repr would also show ids, which may hold "13" on a long run).
    assert "13" not in set(strings_in(table))

    poker.round_reveal(actor=flow.actor("dev1"), event=ref.event, round_id=round_.pk)
    table = poker_selectors.poker_table(ref.event, viewer_id=flow.sm1.pk)
    assert seat(table, flow.dev1)["value"] == "13" and seat(table, flow.sm1)["value"] == "5"
    spread = table["spread"]
    assert (spread["min"], spread["max"], spread["consensus"]) == (5, 13, False)


def test_the_table_seats_the_po_then_the_sm_then_the_developers_each_once(flow, ref):
    team = flow.scrum_teams[0]
    # Names against the role order, and the SM also a developer: seated once, as SM.
    for key, name in (("po1", "Zoe"), ("sm1", "Yan"), ("dev1", "Abe")):
        flow.users[key].full_name = name
        flow.users[key].save(update_fields=["full_name"])
    second = UserFactory(email="dev1b@example.com", full_name="Bea")
    membership = team_services.member_add(flow_team=flow.flow_team, user=second)
    team_services.role_assign(membership=membership, role=Role.DEVELOPER, scrum_team=team)
    team_services.role_assign(
        membership=Membership.objects.get(user=flow.sm1), role=Role.DEVELOPER, scrum_team=team
    )

    members = poker_selectors.poker_table(ref.event, viewer_id=flow.sm1.pk)["members"]

    assert [(m["user"], m["role"]) for m in members] == [
        (flow.po1, "Product Owner"),
        (flow.sm1, "Scrum Master"),
        (flow.dev1, "Developer"),
        (second, "Developer"),
    ]


def test_consensus_is_highlighted_and_question_marks_counted(flow, ref):
    round_ = poker.round_open(actor=flow.actor("po1"), event=ref.event, story_id=ref.story.pk)
    for who in ("po1", "sm1"):
        poker.vote_cast(actor=flow.actor(who), event=ref.event, round_id=round_.pk, value="8")
    poker.round_reveal(actor=flow.actor("po1"), event=ref.event, round_id=round_.pk)
    table = poker_selectors.poker_table(ref.event, viewer_id=flow.dev1.pk)
    assert table["spread"]["consensus"] is True and table["spread"]["common"] == "8"
    assert [c["points"] for c in table["choices"] if c["common"]] == [8]
    poker.round_revote(actor=flow.actor("po1"), event=ref.event, round_id=round_.pk)
    again = PokerRound.objects.get(event=ref.event, closed=False)
    poker.vote_cast(actor=flow.actor("po1"), event=ref.event, round_id=again.pk, value="8")
    poker.vote_cast(actor=flow.actor("sm1"), event=ref.event, round_id=again.pk, value="?")
    poker.round_reveal(actor=flow.actor("po1"), event=ref.event, round_id=again.pk)
    spread = poker_selectors.poker_table(ref.event, viewer_id=flow.dev1.pk)["spread"]
    assert spread["consensus"] is False and spread["unsure"] == 1


def test_a_vote_changes_before_the_reveal_and_is_refused_after(flow, ref):
    dev = flow.actor("dev1")
    round_ = poker.round_open(actor=dev, event=ref.event, story_id=ref.story.pk)
    poker.vote_cast(actor=dev, event=ref.event, round_id=round_.pk, value="3")
    poker.vote_cast(actor=dev, event=ref.event, round_id=round_.pk, value="8")
    assert list(PokerVote.objects.values_list("value", flat=True)) == ["8"]
    poker.round_reveal(actor=dev, event=ref.event, round_id=round_.pk)
    with pytest.raises(RuleViolation) as refused:
        poker.vote_cast(actor=dev, event=ref.event, round_id=round_.pk, value="2")
    assert refused.value.detail == {
        "value": ["the votes are revealed; start a re-vote to vote again"]
    }
    assert list(PokerVote.objects.values_list("value", flat=True)) == ["8"]
    with pytest.raises(RuleViolation) as refused:
        poker.round_reveal(actor=dev, event=ref.event, round_id=round_.pk)
    assert refused.value.detail == {"round": ["the votes are already revealed"]}


def test_one_round_is_open_at_a_time(flow, ref):
    sm = flow.actor("sm1")
    first = poker.round_open(actor=sm, event=ref.event, story_id=ref.story.pk)
    second = poker.round_open(actor=sm, event=ref.event, story_id=ref.estimated.pk)
    assert list(PokerRound.objects.filter(closed=False)) == [second]
    first.refresh_from_db()
    assert first.closed and first.agreed_points is None
    with pytest.raises(RuleViolation) as refused:
        poker.vote_cast(actor=sm, event=ref.event, round_id=first.pk, value="1")
    assert refused.value.detail == {"value": ["this round is over; open a new one on the story"]}
    assert not PokerVote.objects.exists()


def test_the_agreed_value_lands_on_the_story_with_a_new_version(flow, ref):
    sm = flow.actor("sm1")
    round_ = poker.round_open(actor=sm, event=ref.event, story_id=ref.story.pk)
    with pytest.raises(RuleViolation) as refused:
        poker.round_agree(
            actor=sm, event=ref.event, round_id=round_.pk, points=5, expected_version=None
        )
    assert refused.value.detail == {"points": ["reveal the votes before agreeing a value"]}
    with pytest.raises(RuleViolation) as refused:
        poker.round_reveal(actor=sm, event=ref.event, round_id=round_.pk)
    assert refused.value.detail == {"round": ["nobody has voted yet"]}
    poker.vote_cast(actor=sm, event=ref.event, round_id=round_.pk, value="5")
    poker.round_reveal(actor=sm, event=ref.event, round_id=round_.pk)
    version = Story.objects.get(pk=ref.story.pk).version
    with pytest.raises(RuleViolation) as refused:
        poker.round_agree(
            actor=sm, event=ref.event, round_id=round_.pk, points=4, expected_version=version
        )
    assert refused.value.detail == {
        "points": ["story points are one of 0, 1, 2, 3, 5, 8, 13, 20, 40, 100 or empty"]
    }
    poker.round_agree(
        actor=sm, event=ref.event, round_id=round_.pk, points=5, expected_version=version
    )
    story = Story.objects.get(pk=ref.story.pk)
    assert (story.points, story.version) == (5, version + 1)
    round_.refresh_from_db()
    assert (round_.agreed_points, round_.agreed_by, round_.closed) == (5, flow.sm1, True)
    with pytest.raises(RuleViolation) as refused:
        poker.round_revote(actor=sm, event=ref.event, round_id=round_.pk)
    assert refused.value.detail == {"round": ["this round is over; open a new one on the story"]}
    with pytest.raises(RuleViolation) as refused:
        poker.round_reveal(actor=sm, event=ref.event, round_id=round_.pk)
    assert refused.value.detail == {"round": ["this round is over; open a new one on the story"]}


def test_an_agreement_on_a_stale_story_is_refused_and_writes_nothing(flow, ref):
    sm = flow.actor("sm1")
    round_ = poker.round_open(actor=sm, event=ref.event, story_id=ref.story.pk)
    poker.vote_cast(actor=sm, event=ref.event, round_id=round_.pk, value="5")
    poker.round_reveal(actor=sm, event=ref.event, round_id=round_.pk)
    read = Story.objects.get(pk=ref.story.pk).version
    poker.refinement_criterion_add(
        actor=flow.actor("po1"), event=ref.event, story_id=ref.story.pk, text="Meanwhile"
    )
    with pytest.raises(VersionConflict):
        poker.round_agree(
            actor=sm, event=ref.event, round_id=round_.pk, points=5, expected_version=read
        )
    assert Story.objects.get(pk=ref.story.pk).points is None
    assert PokerRound.objects.get(pk=round_.pk).closed is False


def test_only_the_event_teams_members_play_poker(flow, ref):
    round_ = poker.round_open(actor=flow.actor("dev1"), event=ref.event, story_id=ref.story.pk)
    for outsider in ("csm", "cpo", "architect", "dev2", "po2"):
        with pytest.raises(PermissionRefused) as refused:
            poker.vote_cast(
                actor=flow.actor(outsider), event=ref.event, round_id=round_.pk, value="3"
            )
        assert str(refused.value) == (
            "only the Scrum Team's PO, SM and developers play planning poker"
        )
        with pytest.raises(PermissionRefused):
            poker.round_open(actor=flow.actor(outsider), event=ref.event, story_id=ref.story.pk)
    assert not PokerVote.objects.exists()
    assert PokerRound.objects.count() == 1


def test_another_flow_teams_refinement_and_other_teams_stories_are_not_found(flow, foreign, ref):
    with pytest.raises(NotFound, match="^no such Product Backlog Refinement in your Flow Team$"):
        poker.round_open(actor=foreign.actor("dev1"), event=ref.event, story_id=ref.story.pk)
    team2_story = Story.objects.create(
        flow_team=flow.flow_team, scrum_team=flow.scrum_teams[1], title="Theirs", rank=1
    )
    with pytest.raises(NotFound, match="^no such story of this Scrum Team$"):
        poker.round_open(actor=flow.actor("dev1"), event=ref.event, story_id=team2_story.pk)
    with pytest.raises(NotFound, match="^no such story of this Scrum Team$"):
        poker.refinement_criterion_add(
            actor=flow.actor("dev1"), event=ref.event, story_id=team2_story.pk, text="x"
        )
    assert not PokerRound.objects.exists()


def test_bad_values_name_their_field(flow, ref):
    dev = flow.actor("dev1")
    round_ = poker.round_open(actor=dev, event=ref.event, story_id=ref.story.pk)
    for value in ("4", "", "101", "??", "five", " 5"):
        with pytest.raises(RuleViolation) as refused:
            poker.vote_cast(actor=dev, event=ref.event, round_id=round_.pk, value=value)
        assert refused.value.detail == {
            "value": ["vote one of 0, 1, 2, 3, 5, 8, 13, 20, 40, 100, ?"]
        }
    with pytest.raises(RuleViolation) as refused:
        poker.refinement_story_add(actor=dev, event=ref.event, epic_id=ref.epic.pk, title="  ")
    assert refused.value.detail == {"title": ["give the story a title"]}
    with pytest.raises(RuleViolation) as refused:
        poker.refinement_story_add(actor=dev, event=ref.event, epic_id=10**8, title="x")
    assert refused.value.detail == {"epic": ["choose an epic of this Flow Team"]}
    with pytest.raises(RuleViolation) as refused:
        poker.refinement_criterion_add(actor=dev, event=ref.event, story_id=ref.story.pk, text="")
    assert refused.value.detail == {"text": ["write the criterion"]}
    assert not PokerVote.objects.exists()


def test_a_story_is_split_only_from_an_epic_of_this_flow_team(flow, foreign, ref):
    theirs = backlog_services.epic_create(actor=foreign.actor("cpo"), title="Their epic")
    for epic_id in (theirs.pk, 10**8):
        with pytest.raises(RuleViolation) as refused:
            poker.refinement_story_add(
                actor=flow.actor("dev1"), event=ref.event, epic_id=epic_id, title="Split"
            )
        assert refused.value.detail == {"epic": ["choose an epic of this Flow Team"]}
    assert not Story.objects.filter(title="Split").exists()


def test_a_story_added_under_an_epic_belongs_to_the_team_and_bumps_the_screen(flow, ref):
    key = poker.refinement_live_key(ref.event.pk)
    before = live_versions([key])[key]
    story = poker.refinement_story_add(
        actor=flow.actor("dev1"), event=ref.event, epic_id=ref.epic.pk, title="Pay by wallet"
    )
    assert (story.scrum_team, story.epic, story.state) == (flow.scrum_teams[0], ref.epic, "backlog")
    assert live_versions([key])[key] == before + 1
    # CPO writes the team's stories too; the CSM and the Architect read.
    poker.refinement_story_add(actor=flow.actor("cpo"), event=ref.event, epic_id=None, title="x")
    for reader in ("csm", "architect", "dev2"):
        with pytest.raises(PermissionRefused):
            poker.refinement_story_add(
                actor=flow.actor(reader), event=ref.event, epic_id=ref.epic.pk, title="no"
            )
    backlog = poker_selectors.refinement_backlog(ref.event)
    epic = next(e for e in backlog["epics"] if e.pk == ref.epic.pk)
    assert [s.title for s in epic.waiting] == ["Pay by card", "Pay by invoice", "Pay by wallet"]
    assert [s.title for s in backlog["loose"]] == ["x"]


def test_criteria_written_checked_and_removed_show_the_definition_of_ready(flow, ref):
    dev = flow.actor("dev1")
    gaps = {s.pk: s.gaps for s in poker_selectors.refinement_backlog(ref.event)["epics"][0].waiting}
    assert gaps[ref.story.pk] == ["needs an estimate", "needs an acceptance criterion"]
    assert gaps[ref.estimated.pk] == []
    criterion = poker.refinement_criterion_add(
        actor=dev, event=ref.event, story_id=ref.story.pk, text="Invoice PDF attached"
    )
    poker.refinement_criterion_check(
        actor=dev, event=ref.event, criterion_id=criterion.pk, checked=True
    )
    assert AcceptanceCriterion.objects.get(pk=criterion.pk).checked_by == flow.dev1
    story = poker_selectors.refinement_backlog(ref.event)["epics"][0].waiting[1]
    assert story.gaps == ["needs an estimate"]
    with pytest.raises(PermissionRefused):
        poker.refinement_criterion_delete(
            actor=flow.actor("csm"), event=ref.event, criterion_id=criterion.pk
        )
    poker.refinement_criterion_delete(actor=dev, event=ref.event, criterion_id=criterion.pk)
    assert not AcceptanceCriterion.objects.filter(pk=criterion.pk).exists()


def test_readiness_counts_ready_points_against_the_next_capacity(flow, ref):
    sprint2 = FlowSprint.objects.get(flow_team=flow.flow_team, number=2)
    TeamSprint.objects.update_or_create(
        flow_sprint=sprint2, scrum_team=flow.scrum_teams[0], defaults={"capacity_points": 6}
    )
    # Estimated but without a criterion: not ready.
    backlog_services.story_create(
        actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="No criterion", points=5
    )
    readiness = poker_selectors.readiness_overview(ref.event)
    assert readiness["sprint"] == sprint2
    rows = {r["team"].name: r for r in readiness["rows"]}
    # Only "Pay by card" meets the Definition of Ready (3 points, one criterion).
    assert (rows["Team 1"]["stories"], rows["Team 1"]["points"]) == (1, 3)
    assert (rows["Team 1"]["capacity"], rows["Team 1"]["percent"]) == (6, 50)
    assert rows["Team 1"]["enough"] is False and rows["Team 1"]["mine"] is True
    assert (rows["Team 2"]["points"], rows["Team 2"]["capacity"]) == (0, None)


def test_a_criterion_of_another_team_is_not_found_from_this_teams_refinement(flow, ref):
    """Even for someone who works both teams' stories: a refinement edits its own Scrum
    Team's criteria only, and another team's is not found, nothing written."""
    team_2 = flow.scrum_teams[1]
    RoleAssignment.objects.create(
        membership=Membership.objects.get(flow_team=flow.flow_team, user=flow.dev1),
        flow_team=flow.flow_team,
        scrum_team=team_2,
        role="developer",
    )
    theirs = backlog_services.story_create(
        actor=flow.actor("po2"), scrum_team=team_2, title="Theirs", points=3
    )
    criterion = AcceptanceCriterion.objects.create(story=theirs, position=1, text="Agreed")
    dev = flow.actor("dev1")
    for call in (
        lambda: poker.refinement_criterion_check(
            actor=dev, event=ref.event, criterion_id=criterion.pk, checked=True
        ),
        lambda: poker.refinement_criterion_delete(
            actor=dev, event=ref.event, criterion_id=criterion.pk
        ),
    ):
        with pytest.raises(NotFound, match="^no such acceptance criterion of this Scrum Team$"):
            call()
    assert AcceptanceCriterion.objects.filter(pk=criterion.pk, checked=False).exists()


def test_a_round_is_played_at_its_own_refinement_only(flow, ref):
    """The same team's next refinement does not reach this one's round: not found, and
    nothing voted, revealed or agreed."""
    from events.models import Event

    later = (
        Event.objects.filter(kind=Event.Kind.BACKLOG_REFINEMENT, scrum_team=flow.scrum_teams[0])
        .exclude(pk=ref.event.pk)
        .first()
    )
    assert later is not None and later.flow_sprint_id == ref.event.flow_sprint_id
    dev = flow.actor("dev1")
    round_ = poker.round_open(actor=dev, event=ref.event, story_id=ref.story.pk)
    for call in (
        lambda: poker.vote_cast(actor=dev, event=later, round_id=round_.pk, value="5"),
        lambda: poker.round_reveal(actor=dev, event=later, round_id=round_.pk),
        lambda: poker.round_revote(actor=dev, event=later, round_id=round_.pk),
        lambda: poker.round_agree(
            actor=dev, event=later, round_id=round_.pk, points=5, expected_version=None
        ),
    ):
        with pytest.raises(NotFound, match="^no such round at this refinement$"):
            call()
    assert not PokerVote.objects.exists()
    assert PokerRound.objects.get(pk=round_.pk).revealed_at is None


def test_texts_at_their_limit_are_kept_and_one_more_is_refused_saying_so(flow, ref):
    dev = flow.actor("dev1")
    add_story = functools.partial(
        poker.refinement_story_add, actor=dev, event=ref.event, epic_id=ref.epic.pk
    )
    add_criterion = functools.partial(
        poker.refinement_criterion_add, actor=dev, event=ref.event, story_id=ref.story.pk
    )
    assert len(add_story(title="t" * 200).title) == 200
    assert len(add_criterion(text="c" * 500).text) == 500
    for call, field, refusal in (
        (lambda: add_story(title="t" * 201), "title", "at most 200 characters (this has 201)"),
        (lambda: add_story(title=" "), "title", "give the story a title"),
        (lambda: add_criterion(text="c" * 501), "text", "at most 500 characters (this has 501)"),
        (lambda: add_criterion(text=""), "text", "write the criterion"),
    ):
        with pytest.raises(RuleViolation) as refused:
            call()
        assert refused.value.detail == {field: [refusal]}
    assert Story.objects.filter(scrum_team=flow.scrum_teams[0]).count() == 3
    assert AcceptanceCriterion.objects.filter(story=ref.story).count() == 1


def test_opening_a_round_closes_this_refinements_open_round_only(flow, ref):
    """Who opened it is kept; the round it closes is stamped then, a round closed before
    keeps its stamp, and another team's refinement keeps its open round."""
    with time_machine.travel(NOW, tick=False):
        other = refinement_of(flow, team_index=1)
        theirs = poker.round_open(
            actor=flow.actor("dev2"), event=other.event, story_id=other.story.pk
        )
        sm = flow.actor("sm1")
        first = poker.round_open(actor=sm, event=ref.event, story_id=ref.story.pk)
    hour = datetime.timedelta(hours=1)
    with time_machine.travel(NOW + hour, tick=False):
        second = poker.round_open(actor=sm, event=ref.event, story_id=ref.estimated.pk)
    key = poker.refinement_live_key(ref.event.pk)
    before = live_versions([key])[key]
    with time_machine.travel(NOW + 2 * hour, tick=False):
        third = poker.round_open(actor=flow.actor("dev1"), event=ref.event, story_id=ref.story.pk)
    assert live_versions([key])[key] == before + 1  # every screen of this refinement
    rounds = PokerRound.objects.in_bulk([theirs.pk, first.pk, second.pk, third.pk])
    assert [
        (rounds[r.pk].closed, rounds[r.pk].updated_at - NOW, rounds[r.pk].opened_by)
        for r in (theirs, first, second, third)
    ] == [
        (False, datetime.timedelta(0), flow.dev2),
        (True, hour, flow.sm1),
        (True, 2 * hour, flow.sm1),
        (False, 2 * hour, flow.dev1),
    ]


def test_a_re_vote_follows_a_reveal_of_an_open_round_and_refusals_say_why(flow, ref):
    sm = flow.actor("sm1")
    first = poker.round_open(actor=sm, event=ref.event, story_id=ref.story.pk)
    poker.vote_cast(actor=sm, event=ref.event, round_id=first.pk, value="5")
    with pytest.raises(RuleViolation) as refused:
        poker.round_revote(actor=sm, event=ref.event, round_id=first.pk)
    assert refused.value.detail == {
        "round": ["votes may change until the reveal; no re-vote needed"]
    }
    second = poker.round_open(actor=sm, event=ref.event, story_id=ref.estimated.pk)
    with pytest.raises(RuleViolation) as refused:
        poker.round_revote(actor=sm, event=ref.event, round_id=first.pk)
    assert refused.value.detail == {"round": ["this round is over; open a new one on the story"]}
    assert list(PokerRound.objects.filter(closed=False)) == [second]
    assert PokerRound.objects.count() == 2


def test_adding_checking_and_removing_a_criterion_bump_this_refinements_screen(flow, ref):
    dev = flow.actor("dev1")
    key = poker.refinement_live_key(ref.event.pk)
    before = live_versions([key])[key]
    criterion = poker.refinement_criterion_add(
        actor=dev, event=ref.event, story_id=ref.story.pk, text="Invoice PDF attached"
    )
    assert live_versions([key])[key] == before + 1
    poker.refinement_criterion_check(
        actor=dev, event=ref.event, criterion_id=criterion.pk, checked=True
    )
    assert live_versions([key])[key] == before + 2
    poker.refinement_criterion_delete(actor=dev, event=ref.event, criterion_id=criterion.pk)
    assert live_versions([key])[key] == before + 3


def test_an_agreement_is_refused_before_the_reveal_and_after_the_round_saying_so(flow, ref):
    sm = flow.actor("sm1")
    round_ = poker.round_open(actor=sm, event=ref.event, story_id=ref.story.pk)

    def agree():
        poker.round_agree(
            actor=sm, event=ref.event, round_id=round_.pk, points=5, expected_version=None
        )

    with pytest.raises(RuleViolation) as refused:
        agree()
    assert refused.value.detail == {"points": ["reveal the votes before agreeing a value"]}
    poker.vote_cast(actor=sm, event=ref.event, round_id=round_.pk, value="5")
    poker.round_reveal(actor=sm, event=ref.event, round_id=round_.pk)
    key = poker.refinement_live_key(ref.event.pk)
    before = live_versions([key])[key]
    agree()
    assert live_versions([key])[key] == before + 1
    with pytest.raises(RuleViolation) as refused:
        agree()
    assert refused.value.detail == {"points": ["this round is over; open a new one on the story"]}


def test_every_poker_and_refinement_write_bumps_this_refinements_screen_once(flow, ref):
    key = poker.refinement_live_key(ref.event.pk)
    other = poker.refinement_live_key(refinement_of(flow, team_index=1).event.pk)
    sm, event = flow.actor("sm1"), ref.event
    seen = []

    def bumps(write):
        before = live_versions([key, other])
        result = write()
        after = live_versions([key, other])
        seen.append((after[key] - before[key], after[other] - before[other]))
        return result

    round_ = bumps(lambda: poker.round_open(actor=sm, event=event, story_id=ref.story.pk))
    bumps(lambda: poker.vote_cast(actor=sm, event=event, round_id=round_.pk, value="5"))
    bumps(lambda: poker.round_reveal(actor=sm, event=event, round_id=round_.pk))
    again = bumps(lambda: poker.round_revote(actor=sm, event=event, round_id=round_.pk))
    bumps(lambda: poker.vote_cast(actor=sm, event=event, round_id=again.pk, value="3"))
    bumps(lambda: poker.round_reveal(actor=sm, event=event, round_id=again.pk))
    version = Story.objects.get(pk=ref.story.pk).version
    bumps(
        lambda: poker.round_agree(
            actor=sm, event=event, round_id=again.pk, points=3, expected_version=version
        )
    )
    criterion = bumps(
        lambda: poker.refinement_criterion_add(
            actor=sm, event=event, story_id=ref.story.pk, text="Paid"
        )
    )
    bumps(
        lambda: poker.refinement_criterion_check(
            actor=sm, event=event, criterion_id=criterion.pk, checked=True
        )
    )
    bumps(
        lambda: poker.refinement_criterion_delete(actor=sm, event=event, criterion_id=criterion.pk)
    )
    bumps(lambda: poker.refinement_story_add(actor=sm, event=event, epic_id=None, title="New"))
    assert seen == [(1, 0)] * 11
