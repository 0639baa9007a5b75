"""sem/live.py: versions bumped with the data, read in one query; tokens; render once."""

import datetime

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import timezone
from django.utils.safestring import mark_safe

from sem.live import (
    LiveTokenExpired,
    LiveTokenInvalid,
    live_bump,
    live_fragment,
    live_parts,
    live_poll,
    live_poll_read,
    live_token,
    live_versions,
)
from sem.models import LiveVersion

pytestmark = pytest.mark.django_db


def test_a_missing_key_is_at_zero_and_starts_at_one():
    assert live_versions(["event:1"]) == {"event:1": 0}
    live_bump("event:1")
    assert live_versions(["event:1"]) == {"event:1": 1}


def test_bump_two_keys_in_one_statement(django_assert_num_queries):
    live_bump("event:1")
    with django_assert_num_queries(1):
        live_bump("event:1", "roadmap:7", "event:1")  # a key named twice counts once
    assert live_versions(["event:1", "roadmap:7", "register:3"]) == {
        "event:1": 2,
        "roadmap:7": 1,
        "register:3": 0,
    }


def test_versions_of_many_keys_in_one_query(django_assert_num_queries):
    live_bump(*[f"event:{n}" for n in range(15)])
    with django_assert_num_queries(1):
        versions = live_versions([f"event:{n}" for n in range(20)])
    assert sum(versions.values()) == 15


def test_a_rolled_back_bump_leaves_the_version():
    live_bump("event:1")
    with pytest.raises(RuntimeError), transaction.atomic():
        live_bump("event:1", "event:2")
        assert live_versions(["event:1"]) == {"event:1": 2}
        raise RuntimeError("the service's write failed")
    assert live_versions(["event:1", "event:2"]) == {"event:1": 1, "event:2": 0}


def test_bumping_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        live_bump()


def test_the_database_refuses_a_negative_version():
    with pytest.raises(IntegrityError), transaction.atomic():
        LiveVersion.objects.create(key="event:1", version=-1)


def _token(screen="event", scope=5, expires_in=3600, keys=("event:5",)):
    return live_token(
        screen=screen,
        user_id=1,
        flow_team_id=2,
        scope=scope,
        keys=list(keys),
        expires_at=timezone.now() + datetime.timedelta(seconds=expires_in),
    )


def _read(token, v="3", screen="event"):
    request = RequestFactory().get("/live/", {"t": token, "v": v})
    return live_poll_read(request, screen=screen)


def test_token_round_trip_carries_viewer_and_versions():
    poll = _read(_token(keys=("event:5", "register:2")), v="3.4")
    assert (poll.user_id, poll.flow_team_id, poll.scope) == (1, 2, 5)
    assert poll.seen == {"event:5": 3, "register:2": 4}
    assert poll.changed({"event:5": 3, "register:2": 5}) == {"register:2"}
    assert poll.changed({"event:5": 3, "register:2": 4}) == set()


@pytest.mark.parametrize("v", ["", "x", "1.2", "-"])
def test_versions_that_do_not_fit_count_as_seen_nothing(v):
    poll = _read(_token(), v=v)
    assert poll.changed({"event:5": 0}) == {"event:5"}


def test_a_token_of_another_screen_or_forged_is_invalid():
    with pytest.raises(LiveTokenInvalid):
        _read(_token(screen="roadmap"))
    with pytest.raises(LiveTokenInvalid):
        _read(_token()[:-2] + "xx")
    with pytest.raises(LiveTokenInvalid):
        _read("")


def test_a_poll_without_its_token_is_invalid():
    with pytest.raises(LiveTokenInvalid):
        live_poll_read(RequestFactory().get("/live/", {"v": "3"}), screen="event")


def _poll(token, scope=5, regions=()):
    request = RequestFactory().get("/live/", {"t": token, "v": "0"})
    return live_poll(
        request,
        screen="event",
        scope=scope,
        on_change=lambda poll, versions: (list(regions), False, {"url": "/live/"}),
    )


def test_a_poll_answers_the_next_poll_then_each_changed_region_in_turn():
    live_bump("event:5")
    answer = _poll(_token(), regions=[mark_safe("<p>a</p>"), mark_safe("<p>b</p>")])
    assert answer.status_code == 200
    assert answer.content.decode().endswith('data-live="on"></div>\n<p>a</p><p>b</p>')


def test_a_poll_for_another_object_is_not_found_and_a_forged_one_refused():
    answer = _poll(_token(), scope=6)
    assert (answer.status_code, answer.content.decode()) == (404, "not found")
    answer = _poll(_token()[:-2] + "xx")
    assert (answer.status_code, answer.content.decode()) == (
        403,
        "live token not valid for this screen",
    )


def test_a_token_expires_with_the_meeting():
    with pytest.raises(LiveTokenExpired):
        _read(_token(expires_in=-1))


def test_a_token_holds_through_its_last_second():
    end = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.UTC)
    with time_machine.travel(end - datetime.timedelta(hours=1), tick=False):
        token = _token(expires_in=3600)
    with time_machine.travel(end, tick=False):
        assert _read(token).scope == 5
    after = end + datetime.timedelta(microseconds=1)
    with time_machine.travel(after, tick=False), pytest.raises(LiveTokenExpired):
        _read(token)


def test_a_poll_without_versions_or_with_too_few_or_too_many_has_seen_nothing():
    token = _token(keys=("event:5", "register:2"))
    no_versions = live_poll_read(RequestFactory().get("/live/", {"t": token}), screen="event")
    assert no_versions.seen == {}
    assert _read(token, v="3").seen == {}
    assert _read(token, v="3.4.5").seen == {}


def test_a_fragment_renders_once_per_version_and_variant():
    renders = []

    def render():
        renders.append(1)
        return f"<p>render {len(renders)}</p>"

    first = live_fragment("event:5", 3, "state", render)
    again = live_fragment("event:5", 3, "state", render)
    assert first == again == "<p>render 1</p>" and len(renders) == 1
    live_fragment("event:5", 3, "outputs", render)
    live_fragment("event:5", 4, "state", render)
    assert len(renders) == 3


def test_a_region_goes_out_of_band_into_its_container():
    from sem.live import live_oob

    assert live_oob('a"b', mark_safe("<p>x</p>")) == (
        '<div id="a&quot;b" hx-swap-oob="innerHTML"><p>x</p></div>'
    )
    assert live_oob("a", "<p>") == '<div id="a" hx-swap-oob="innerHTML">&lt;p&gt;</div>'


def test_a_rendered_region_is_kept_six_hours_not_forever_nor_the_caches_default(monkeypatch):
    # Every version is a new cache key: old ones must expire on their own, and a meeting's
    # screens should not be rendered again every five minutes (the cache's default).
    class Spy:
        timeouts = []

        def get(self, key):
            return None

        def set(self, key, value, timeout="the cache's default"):
            self.timeouts.append(timeout)

    monkeypatch.setattr("sem.live.cache", Spy())
    live_fragment("event:5", 3, "state", lambda: "<p>state</p>")
    live_parts("roadmap:1", 3, "all", lambda: [("lane-1", "<li>1</li>")])
    assert Spy.timeouts == [6 * 3600, 6 * 3600]


# --- Regions made of parts ----------------------------------------------------------


def test_parts_say_which_changed_and_anything_else_sends_the_whole_region():
    from sem.live import live_digest, live_parts_changed, live_parts_seen

    before = [("a", "<li id='a'>1</li>", live_digest("1")), ("b", "<li>2</li>", live_digest("2"))]
    seen = live_parts_seen(before)
    assert seen == f"a:{live_digest('1')}.b:{live_digest('2')}"
    after = [before[0], ("b", "<li>3</li>", live_digest("3"))]
    assert live_parts_changed(after, seen) == ["b"]
    assert live_parts_changed(before, seen) == []
    # Reordered, added, removed, or a "seen" that does not parse: None (send it whole).
    assert live_parts_changed(list(reversed(before)), seen) is None
    assert live_parts_changed([*before, ("c", "", "")], seen) is None
    assert live_parts_changed(before[:1], seen) is None
    for garbage in ["", "x", "a.b", "a:1.a:2", ":::"]:
        assert live_parts_changed(before, garbage) is None
    # An id ends at the first colon: a digest that is not one is only that part changed.
    assert live_parts_changed(before, f"a:{live_digest('1')}.b:x:y") == ["b"]
    # A region with no parts, shown empty: nothing to send.
    assert live_parts_changed([], "") == []


def test_a_part_replaces_its_namesake_out_of_band():
    from sem.live import live_oob_element

    html = '\n<section class="lane" id="lane-3">x</section>'
    assert (
        live_oob_element(html) == '<section hx-swap-oob="true" class="lane" id="lane-3">x</section>'
    )


def test_parts_render_once_per_version(db):
    from sem.live import live_parts

    calls = []

    def render():
        calls.append(1)
        return [("a", "<p id='a'>A</p>")]

    first = live_parts("k:1", 3, "v", render)
    assert live_parts("k:1", 3, "v", render) == first and len(calls) == 1
    live_parts("k:1", 4, "v", render)
    assert len(calls) == 2
