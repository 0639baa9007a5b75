"""Retrospective services (events/retro/services.py): phases, private cards, anonymity, grouping,
the dot limit, action items and the previous retro's open actions."""

import copy
import datetime

import pytest

from events.models import ActionItem, Event, RetroCard, Retrospective, RetroVote
from events.retro import selectors as retro_selectors
from events.retro import services as retro
from sem.errors import NotFound, PermissionRefused, RuleViolation
from sem.live import live_versions
from tests.events import retro_setup
from tests.events.retro_setup import NOW, retro_events, to_phase

pytestmark = pytest.mark.django_db
# The shared fixtures (tests/events/retro_setup.py): the clock at NOW, the two retros.
clock, retros = retro_setup.clock, retro_setup.retros


def test_the_teams_sm_facilitates_a_team_retro_and_the_csm_the_flow_retro(flow, retros):
    team, flow_retro = retros
    retro.retro_configure(
        actor=flow.actor("sm1"), event=team, format="4ls", votes_per_person=5, anonymous=True
    )
    board = Retrospective.objects.get(event=team)
    assert (board.format, board.votes_per_person, board.anonymous) == ("4ls", 5, True)
    # The CSM runs the Flow Team's events but does not sit in a Scrum Team's own retro.
    for key in ("dev1", "po1", "sm2", "csm"):
        with pytest.raises(PermissionRefused):
            retro.retro_phase(actor=flow.actor(key), event=team, to="group")
    with pytest.raises(PermissionRefused):
        retro.retro_phase(actor=flow.actor("sm1"), event=flow_retro, to="group")
    retro.retro_phase(actor=flow.actor("csm"), event=flow_retro, to="group")


def test_the_named_facilitator_or_the_teams_sm_facilitates_a_team_retro(flow, retros):
    """Whoever the event names (a PO taking a turn) runs it, and the team's SM still does
    when the event names someone else or nobody."""
    team, _ = retros
    for facilitator, runs in ((flow.po1, {"po1", "sm1"}), (None, {"sm1"})):
        team.facilitator = facilitator
        team.save(update_fields=["facilitator"])
        assert {
            k for k in ("po1", "sm1", "dev1") if retro.may_facilitate(flow.actor(k), team)
        } == runs
    retro.retro_phase(actor=flow.actor("sm1"), event=team, to="group")
    assert Retrospective.objects.get(event=team).phase == "group"


def test_who_joins_which_retro(flow, retros):
    team, flow_retro = retros
    joins_team = {k for k in flow.users if retro.may_join(flow.actor(k), team)}
    joins_flow = {k for k in flow.users if retro.may_join(flow.actor(k), flow_retro)}
    assert joins_team == {"po1", "sm1", "dev1"}
    assert joins_flow == {"csm", "cpo", "architect", "po1", "po2", "po3", "sm1", "sm2", "sm3"}
    with pytest.raises(PermissionRefused):
        retro.card_add(actor=flow.actor("dev2"), event=team, column=0, text="not my team")
    with pytest.raises(PermissionRefused):
        retro.card_add(actor=flow.actor("dev1"), event=flow_retro, column=0, text="not mine")
    assert not RetroCard.objects.exists()


def test_another_flow_teams_retro_is_not_found(flow, foreign, retros):
    team, _flow_retro = retros
    with pytest.raises(NotFound):
        retro.card_add(actor=foreign.actor("sm1"), event=team, column=0, text="x")


def test_phases_move_one_step_and_never_back_to_collect(flow, retros):
    team, _ = retros
    sm = flow.actor("sm1")

    def one_step(at):
        return {
            "phase": [
                f"the retro is at “{at}”: it moves one step at a time, "
                "and revealed cards are never hidden again"
            ]
        }

    with pytest.raises(RuleViolation) as refused:
        retro.retro_phase(actor=sm, event=team, to="vote")
    assert refused.value.detail == one_step("Collect cards")
    with pytest.raises(RuleViolation) as refused:
        retro.retro_phase(actor=sm, event=team, to="later")
    assert refused.value.detail == {"phase": ["choose a phase of the retro"]}
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    retro.retro_phase(actor=sm, event=team, to="group")
    with pytest.raises(RuleViolation) as refused:
        retro.retro_phase(actor=sm, event=team, to="collect")
    assert refused.value.detail == one_step("Group")
    retro.retro_phase(actor=sm, event=team, to="vote")
    retro.retro_phase(actor=sm, event=team, to="group")
    assert Retrospective.objects.get(event=team).phase == "group"
    assert live_versions([key])[key] == before + 3


def test_cards_name_column_and_text_and_only_the_author_changes_them(flow, retros):
    team, _ = retros
    dev, po = flow.actor("dev1"), flow.actor("po1")
    # Start / Stop / Continue: columns 0 to 2.
    for column in (-1, 3):
        with pytest.raises(RuleViolation) as refused:
            retro.card_add(actor=dev, event=team, column=column, text="x")
        assert refused.value.detail == {"column": ["choose one of the board's columns"]}
    with pytest.raises(RuleViolation) as refused:
        retro.card_add(actor=dev, event=team, column=0, text="   ")
    assert refused.value.detail == {"text": ["write something first"]}
    assert not RetroCard.objects.exists()
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    last = retro.card_add(actor=dev, event=team, column=2, text="Keep pairing")
    assert (last.column, last.text, last.author) == (2, "Keep pairing", flow.dev1)
    assert live_versions([key])[key] == before + 1
    card = retro.card_add(actor=dev, event=team, column=0, text="Pair more")
    with pytest.raises(PermissionRefused):
        retro.card_edit(actor=po, event=team, card_id=card.pk, column=1, text="mine now")
    retro.card_edit(actor=dev, event=team, card_id=card.pk, column=1, text="Pair more often")
    card.refresh_from_db()
    assert (card.column, card.text, card.author) == (1, "Pair more often", flow.dev1)
    to_phase(flow, team, "group")
    with pytest.raises(RuleViolation):
        retro.card_add(actor=dev, event=team, column=0, text="too late")


def test_a_card_is_changed_on_its_own_board_by_its_author_only_saying_why(flow, retros):
    # sm1 joins both boards: their card on Team 1's retro is not on the Flow retro's
    # board, even though the same person wrote it (not "not yours": it is not there).
    team, flow_retro = retros
    card = retro.card_add(actor=flow.actor("sm1"), event=team, column=0, text="Pair more")
    for change in (
        lambda: retro.card_edit(
            actor=flow.actor("sm1"), event=flow_retro, card_id=card.pk, column=0, text="x"
        ),
        lambda: retro.card_delete(actor=flow.actor("sm1"), event=flow_retro, card_id=card.pk),
    ):
        with pytest.raises(NotFound) as missing:
            change()
        assert str(missing.value) == "no such card on this board"
    with pytest.raises(PermissionRefused) as refused:
        retro.card_delete(actor=flow.actor("dev1"), event=team, card_id=card.pk)
    assert str(refused.value) == "only the card's author changes it"
    assert RetroCard.objects.get(pk=card.pk).text == "Pair more"


def test_refusals_name_their_field_and_say_why(flow, foreign, retros):
    team, _ = retros
    dev = flow.actor("dev1")
    stranger = foreign.actor("sm1")
    refusals = [
        (NotFound, lambda: retro.card_add(actor=stranger, event=team, column=0, text="x"),
         "no such retrospective in your Flow Team"),
        (PermissionRefused, lambda: retro.retro_phase(actor=dev, event=team, to="group"),
         "the retro's facilitator does this"),
        (PermissionRefused,
         lambda: retro.card_add(actor=flow.actor("dev2"), event=team, column=0, text="x"),
         "only the retro's participants write and vote here"),
    ]  # fmt: skip
    for error, call, message in refusals:
        with pytest.raises(error) as refused:
            call()
        assert str(refused.value) == message
    assert len(retro.card_add(actor=dev, event=team, column=0, text="c" * 500).text) == 500
    for text, message in (
        ("  ", "write something first"),
        ("c" * 501, "at most 500 characters (this has 501)"),
    ):
        with pytest.raises(RuleViolation) as refused:
            retro.card_add(actor=dev, event=team, column=0, text=text)
        assert refused.value.detail == {"text": [message]}
    to_phase(flow, team, "group")
    with pytest.raises(RuleViolation) as refused:
        retro.card_add(actor=dev, event=team, column=0, text="late")
    assert refused.value.detail == {
        "text": ["the retro is at “Group”; this is done at collect cards"]
    }
    assert RetroCard.objects.count() == 1


def test_an_anonymous_retro_keeps_no_author_but_the_author_still_edits(flow, retros):
    team, _ = retros
    retro.retro_configure(
        actor=flow.actor("sm1"), event=team, format="ssc", votes_per_person=3, anonymous=True
    )
    card = retro.card_add(actor=flow.actor("dev1"), event=team, column=0, text="Secret")
    card.refresh_from_db()
    assert card.author is None
    assert len(card.author_key) == 64 and card.author_key != retro.author_key(
        card.retrospective_id, flow.sm1.pk
    )
    retro.card_edit(actor=flow.actor("dev1"), event=team, card_id=card.pk, column=2, text="S2")
    with pytest.raises(PermissionRefused):
        retro.card_delete(actor=flow.actor("sm1"), event=team, card_id=card.pk)
    # Once cards exist, anonymity stays as it is.
    with pytest.raises(RuleViolation) as refused:
        retro.retro_configure(
            actor=flow.actor("sm1"), event=team, format="ssc", votes_per_person=3, anonymous=False
        )
    assert refused.value.detail == {
        "format": ["cards are already written: format and anonymity stay as they are"]
    }


def test_grouping_moves_a_card_and_its_group(flow, retros):
    team, _ = retros
    dev = flow.actor("dev1")
    a, b, c = (retro.card_add(actor=dev, event=team, column=0, text=t) for t in "abc")
    to_phase(flow, team, "group")
    retro.card_group(actor=dev, event=team, card_id=b.pk, onto_id=a.pk)
    retro.card_group(actor=dev, event=team, card_id=a.pk, onto_id=c.pk)
    groups = dict(RetroCard.objects.values_list("text", "group__text"))
    assert groups == {"a": "c", "b": "c", "c": None}
    alone = retro.card_group(actor=dev, event=team, card_id=b.pk, onto_id=None)
    # The card returned (what the board re-renders) stands alone as the stored one does.
    assert alone.group_id is None and RetroCard.objects.get(pk=b.pk).group_id is None
    with pytest.raises(RuleViolation) as refused:
        retro.card_group(actor=dev, event=team, card_id=c.pk, onto_id=a.pk)
    assert refused.value.detail == {"onto": ["a card cannot be grouped with itself"]}


def test_the_dot_past_the_limit_is_refused_and_says_so(flow, retros):
    team, _ = retros
    dev = flow.actor("dev1")
    card = retro.card_add(actor=dev, event=team, column=0, text="a")
    to_phase(flow, team, "vote")
    for _ in range(3):
        retro.vote_cast(actor=dev, event=team, card_id=card.pk)
    with pytest.raises(RuleViolation) as refused:
        retro.vote_cast(actor=dev, event=team, card_id=card.pk)
    assert refused.value.detail == {
        "vote": ["you have used all your 3 dots; take one back to move it"]
    }
    assert RetroVote.objects.filter(voter=flow.dev1).count() == 3
    retro.vote_take_back(actor=dev, event=team, card_id=card.pk)
    retro.vote_cast(actor=flow.actor("po1"), event=team, card_id=card.pk)
    assert RetroVote.objects.count() == 3


def test_a_dot_on_a_grouped_card_counts_for_its_group(flow, retros):
    team, _ = retros
    dev = flow.actor("dev1")
    a = retro.card_add(actor=dev, event=team, column=0, text="a")
    b = retro.card_add(actor=dev, event=team, column=1, text="b")
    to_phase(flow, team, "group")
    retro.card_group(actor=dev, event=team, card_id=b.pk, onto_id=a.pk)
    to_phase_from = retro.PHASES.index("group")
    retro.retro_phase(actor=flow.actor("sm1"), event=team, to=retro.PHASES[to_phase_from + 1])
    retro.vote_cast(actor=dev, event=team, card_id=b.pk)
    assert RetroVote.objects.get().card_id == a.pk


def test_action_items_need_text_an_owner_of_the_flow_team_and_a_due_date_not_past(
    flow, foreign, retros
):
    team, _ = retros
    dev, today = flow.actor("dev1"), NOW.date()
    due = today + datetime.timedelta(days=7)
    with pytest.raises(RuleViolation) as refused:
        retro.action_add(actor=dev, event=team, text="x", owner_id=flow.sm1.pk, due_date=due)
    assert refused.value.detail == {
        "text": ["the retro is at “Collect cards”; this is done at discuss and act"]
    }
    to_phase(flow, team, "discuss")
    members = "choose an owner from the Flow Team's members"
    refusals = [
        ("  ", flow.sm1.pk, due, {"text": ["write something first"]}),
        ("a" * 301, flow.sm1.pk, due, {"text": ["at most 300 characters (this has 301)"]}),
        ("Fix CI", None, due, {"owner": ["choose who owns it"]}),
        ("Fix CI", 999999, due, {"owner": [members]}),
        # A person of another Flow Team is no owner here.
        ("Fix CI", foreign.users["sm1"].pk, due, {"owner": [members]}),
        ("Fix CI", flow.sm1.pk, None, {"due_date": ["give a due date"]}),
        ("Fix CI", flow.sm1.pk, today - datetime.timedelta(days=1),
         {"due_date": ["the due date is in the past"]}),
    ]  # fmt: skip
    for text, owner, when, detail in refusals:
        with pytest.raises(RuleViolation) as refused:
            retro.action_add(actor=dev, event=team, text=text, owner_id=owner, due_date=when)
        assert refused.value.detail == detail
    assert not ActionItem.objects.exists()
    # At the edges: 300 characters, due today; the board follows.
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    retro.action_add(actor=dev, event=team, text="a" * 300, owner_id=flow.sm1.pk, due_date=today)
    assert live_versions([key])[key] == before + 1
    action = ActionItem.objects.get()
    assert (action.event, action.text, action.owner, action.due_date) == (
        team,
        "a" * 300,
        flow.sm1,
        today,
    )


def test_the_previous_retros_open_actions_are_reviewed_first_and_closed_there(flow, clock, retros):
    team, _ = retros
    to_phase(flow, team, "discuss")
    due = NOW.date() + datetime.timedelta(days=7)
    dev = flow.actor("dev1")
    old = retro.action_add(actor=dev, event=team, text="Old", owner_id=flow.sm1.pk, due_date=due)
    done = retro.action_add(actor=dev, event=team, text="Dn", owner_id=flow.sm1.pk, due_date=due)
    retro.action_done(actor=dev, event=team, action_id=done.pk)
    clock.shift(datetime.timedelta(days=14))
    next_team, next_flow = retro_events(flow, number=2)
    carried = retro_selectors.previous_actions(next_team)
    assert [(a.text, a.age_days) for a in carried] == [("Old", 14)]
    assert retro_selectors.previous_actions(next_flow) == []
    other_team = next_team.__class__.objects.get(
        flow_sprint=next_team.flow_sprint, kind="team_retro", scrum_team=flow.scrum_teams[1]
    )
    assert retro_selectors.previous_actions(other_team) == []
    with pytest.raises(NotFound) as missing:
        retro.action_done(actor=flow.actor("sm2"), event=other_team, action_id=old.pk)
    assert str(missing.value) == "no such action item in this retro or its predecessors"
    retro.action_done(actor=dev, event=next_team, action_id=old.pk)
    old.refresh_from_db()
    assert old.done and old.done_at is not None and old.done_by == flow.dev1
    assert old.scrum_team == flow.scrum_teams[0]
    assert retro_selectors.previous_actions(next_team) == []
    with pytest.raises(RuleViolation):
        retro.action_done(actor=dev, event=next_team, action_id=old.pk)


def test_grouping_is_done_at_group_on_this_boards_cards_and_refusals_say_why(flow, retros):
    team, flow_retro = retros
    dev = flow.actor("dev1")
    a, b = (retro.card_add(actor=dev, event=team, column=0, text=t) for t in "ab")
    theirs = retro.card_add(actor=flow.actor("sm1"), event=flow_retro, column=0, text="x")
    with pytest.raises(RuleViolation) as refused:
        retro.card_group(actor=dev, event=team, card_id=b.pk, onto_id=a.pk)
    assert refused.value.detail == {
        "onto": ["the retro is at “Collect cards”; this is done at group"]
    }
    to_phase(flow, team, "group")
    with pytest.raises(NotFound) as missing:
        retro.card_group(actor=dev, event=team, card_id=theirs.pk, onto_id=a.pk)
    assert str(missing.value) == "no such card on this board"
    retro.card_group(actor=dev, event=team, card_id=b.pk, onto_id=a.pk)
    for onto, message in (
        (theirs.pk, "choose a card of this board to group with"),
        (a.pk, "a card cannot be grouped with itself"),
        (b.pk, "a card cannot be grouped with itself"),  # b's group is a's own
    ):
        with pytest.raises(RuleViolation) as refused:
            retro.card_group(actor=dev, event=team, card_id=a.pk, onto_id=onto)
        assert refused.value.detail == {"onto": [message]}
    groups = dict(RetroCard.objects.values_list("text", "group__text"))
    assert groups == {"a": None, "b": "a", "x": None}


def test_grouping_bumps_this_retros_board(flow, retros):
    team, _ = retros
    dev = flow.actor("dev1")
    a, b = (retro.card_add(actor=dev, event=team, column=0, text=t) for t in "ab")
    to_phase(flow, team, "group")
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    retro.card_group(actor=dev, event=team, card_id=b.pk, onto_id=a.pk)
    assert live_versions([key])[key] == before + 1


def test_a_dot_is_taken_back_at_vote_from_ones_own_dots_on_that_card_only(flow, retros):
    team, flow_retro = retros
    dev, po, sm = flow.actor("dev1"), flow.actor("po1"), flow.actor("sm1")
    a, b = (retro.card_add(actor=dev, event=team, column=0, text=t) for t in "ab")
    to_phase(flow, team, "group")
    with pytest.raises(RuleViolation) as refused:
        retro.vote_take_back(actor=dev, event=team, card_id=a.pk)
    assert refused.value.detail == {"vote": ["the retro is at “Group”; this is done at vote"]}
    retro.retro_phase(actor=sm, event=team, to="vote")
    to_phase(flow, flow_retro, "vote")
    retro.vote_cast(actor=dev, event=team, card_id=a.pk)
    retro.vote_cast(actor=po, event=team, card_id=b.pk)
    retro.vote_cast(actor=sm, event=team, card_id=a.pk)
    for who, event, card in (
        (dev, team, b),  # dev's dot is on a; po's on b is not dev's
        (sm, flow_retro, a),  # sm's dot on a is on Team 1's board, not the flow retro's
    ):
        with pytest.raises(RuleViolation) as refused:
            retro.vote_take_back(actor=who, event=event, card_id=card.pk)
        assert refused.value.detail == {"vote": ["you have no dot on this card"]}
    assert RetroVote.objects.count() == 3
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    retro.vote_take_back(actor=dev, event=team, card_id=a.pk)
    assert live_versions([key])[key] == before + 1
    votes = set(RetroVote.objects.values_list("voter_id", "card_id"))
    assert votes == {(flow.po1.pk, b.pk), (flow.sm1.pk, a.pk)}


def test_a_card_is_edited_into_any_of_the_boards_columns_at_collect_only(flow, retros):
    team, _ = retros
    dev = flow.actor("dev1")
    card = retro.card_add(actor=dev, event=team, column=1, text="Pair more")
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    for column in (0, 2):
        retro.card_edit(actor=dev, event=team, card_id=card.pk, column=column, text=f"in {column}")
        assert RetroCard.objects.get(pk=card.pk).column == column
    assert live_versions([key])[key] == before + 2
    for column in (-1, 3):
        with pytest.raises(RuleViolation) as refused:
            retro.card_edit(actor=dev, event=team, card_id=card.pk, column=column, text="x")
        assert refused.value.detail == {"column": ["choose one of the board's columns"]}
    with pytest.raises(RuleViolation) as refused:
        retro.card_edit(actor=dev, event=team, card_id=card.pk, column=0, text="c" * 501)
    assert refused.value.detail == {"text": ["at most 500 characters (this has 501)"]}
    to_phase(flow, team, "group")
    with pytest.raises(RuleViolation) as refused:
        retro.card_edit(actor=dev, event=team, card_id=card.pk, column=0, text="late")
    assert refused.value.detail == {
        "text": ["the retro is at “Group”; this is done at collect cards"]
    }
    assert (RetroCard.objects.get(pk=card.pk).column, RetroCard.objects.get(pk=card.pk).text) == (
        2,
        "in 2",
    )


def test_a_card_is_deleted_by_its_author_at_collect_only_and_its_board_follows(flow, retros):
    team, _ = retros
    dev = flow.actor("dev1")
    gone, kept = (retro.card_add(actor=dev, event=team, column=0, text=t) for t in "ab")
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    retro.card_delete(actor=dev, event=team, card_id=gone.pk)
    assert live_versions([key])[key] == before + 1
    to_phase(flow, team, "group")
    with pytest.raises(RuleViolation) as refused:
        retro.card_delete(actor=dev, event=team, card_id=kept.pk)
    assert refused.value.detail == {
        "text": ["the retro is at “Group”; this is done at collect cards"]
    }
    assert list(RetroCard.objects.values_list("text", flat=True)) == ["b"]


def _settings(event):
    board = Retrospective.objects.get(event=event)
    return board.format, board.votes_per_person, board.anonymous


def test_only_the_facilitator_configures_the_retro_and_its_board_follows(flow, retros):
    team, _ = retros
    retro.retro_ensure(event=team)
    daily = copy.copy(team)
    daily.kind = Event.Kind.DAILY_SCRUM
    with pytest.raises(NotFound, match="^this event is not a retrospective$"):
        retro.retro_ensure(event=daily)
    # Participants of the retro who do not run it: joining is not enough.
    for key in ("dev1", "po1"):
        with pytest.raises(PermissionRefused) as refused:
            retro.retro_configure(
                actor=flow.actor(key), event=team, format="msg", votes_per_person=7, anonymous=True
            )
        assert str(refused.value) == "the retro's facilitator does this"
    assert _settings(team) == ("ssc", 3, False)
    key = retro_selectors.retro_live_key(team.pk)
    before = live_versions([key])[key]
    retro.retro_configure(
        actor=flow.actor("sm1"), event=team, format="msg", votes_per_person=7, anonymous=True
    )
    assert _settings(team) == ("msg", 7, True)
    assert live_versions([key])[key] == before + 1


def test_retro_settings_take_1_to_20_dots_and_a_format_offered_refusing_word_for_word(flow, retros):
    team, _ = retros
    sm = flow.actor("sm1")
    # Both edges are accepted.
    for dots in (1, 20):
        retro.retro_configure(
            actor=sm, event=team, format="4ls", votes_per_person=dots, anonymous=False
        )
        assert _settings(team) == ("4ls", dots, False)
    refusals = [
        ({"format": "xyz", "votes_per_person": 5},
         {"format": ["choose one of the formats offered"]}),
        ({"format": "ssc", "votes_per_person": 0},
         {"votes_per_person": ["between 1 and 20 dots per person"]}),
        ({"format": "ssc", "votes_per_person": 21},
         {"votes_per_person": ["between 1 and 20 dots per person"]}),
    ]  # fmt: skip
    for settings, detail in refusals:
        with pytest.raises(RuleViolation) as refused:
            retro.retro_configure(actor=sm, event=team, anonymous=True, **settings)
        assert refused.value.detail == detail
    assert _settings(team) == ("4ls", 20, False)


def test_once_cards_are_written_only_the_dots_change_and_only_while_collecting(flow, retros):
    team, _ = retros
    sm = flow.actor("sm1")
    retro.card_add(actor=flow.actor("dev1"), event=team, column=0, text="Pair more")
    cards_written = {"format": ["cards are already written: format and anonymity stay as they are"]}
    for format, anonymous in (("msg", False), ("ssc", True)):
        with pytest.raises(RuleViolation) as refused:
            retro.retro_configure(
                actor=sm, event=team, format=format, votes_per_person=3, anonymous=anonymous
            )
        assert refused.value.detail == cards_written
    retro.retro_configure(actor=sm, event=team, format="ssc", votes_per_person=9, anonymous=False)
    assert _settings(team) == ("ssc", 9, False)
    to_phase(flow, team, "group")
    with pytest.raises(RuleViolation) as refused:
        retro.retro_configure(
            actor=sm, event=team, format="ssc", votes_per_person=4, anonymous=False
        )
    assert refused.value.detail == {
        "format": ["the retro is at “Group”; this is done at collect cards"]
    }
    assert _settings(team) == ("ssc", 9, False)


def test_dots_are_cast_at_vote_on_this_boards_cards_and_counted_per_person_and_board(flow, retros):
    team, flow_retro = retros
    dev, po, sm = flow.actor("dev1"), flow.actor("po1"), flow.actor("sm1")
    retro.retro_configure(actor=sm, event=team, format="ssc", votes_per_person=1, anonymous=False)
    card = retro.card_add(actor=dev, event=team, column=0, text="ours")
    elsewhere = retro.card_add(actor=sm, event=flow_retro, column=0, text="the flow retro's")
    to_phase(flow, team, "group")
    with pytest.raises(RuleViolation) as refused:
        retro.vote_cast(actor=dev, event=team, card_id=card.pk)
    assert refused.value.detail == {"vote": ["the retro is at “Group”; this is done at vote"]}
    retro.retro_phase(actor=sm, event=team, to="vote")
    to_phase(flow, flow_retro, "vote")
    # A card of another board is not on this one, even for someone who sits in both.
    with pytest.raises(NotFound) as refused:
        retro.vote_cast(actor=sm, event=team, card_id=elsewhere.pk)
    assert str(refused.value) == "no such card on this board"
    assert not RetroVote.objects.exists()
    # One dot each: the SM's dot on the flow retro and the developer's here use none of
    # the PO's or the SM's one dot on this board.
    retro.vote_cast(actor=sm, event=flow_retro, card_id=elsewhere.pk)
    retro.vote_cast(actor=dev, event=team, card_id=card.pk)
    retro.vote_cast(actor=po, event=team, card_id=card.pk)
    retro.vote_cast(actor=sm, event=team, card_id=card.pk)
    with pytest.raises(RuleViolation) as refused:
        retro.vote_cast(actor=dev, event=team, card_id=card.pk)
    assert refused.value.detail == {
        "vote": ["you have used all your 1 dots; take one back to move it"]
    }
    votes = sorted(RetroVote.objects.values_list("card_id", "voter_id"))
    assert votes == sorted(
        [
            (elsewhere.pk, flow.sm1.pk),
            (card.pk, flow.dev1.pk),
            (card.pk, flow.po1.pk),
            (card.pk, flow.sm1.pk),
        ]
    )
