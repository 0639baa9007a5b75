"""Dots cast at once by one person never pass the limit (issue 16): ten threads, each its
own PostgreSQL connection, click a dot together with three dots left; exactly three are
accepted and the other seven are refused saying so."""

import pytest

from events.models import RetroVote
from events.retro import services as retro
from tests.conftest import build_flow_team
from tests.events.concurrency import at_once
from tests.events.retro_setup import retro_events

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLICKS = 10


def test_ten_concurrent_dots_with_three_left_accept_exactly_three():
    ns = build_flow_team()
    team, _ = retro_events(ns)
    card = retro.card_add(actor=ns.actor("dev1"), event=team, column=0, text="Pair more")
    for phase in ("group", "vote"):
        retro.retro_phase(actor=ns.actor("sm1"), event=team, to=phase)
    actor = ns.actor("dev1")
    outcomes = at_once(
        [lambda: retro.vote_cast(actor=actor, event=team, card_id=card.pk)] * CLICKS,
        field="vote",
        accepted="accepted",
    )
    assert outcomes.count("accepted") == 3
    refusals = [o for o in outcomes if o != "accepted"]
    assert len(refusals) == 7 and all("all your 3 dots" in r for r in refusals)
    assert RetroVote.objects.filter(voter=ns.dev1).count() == 3
