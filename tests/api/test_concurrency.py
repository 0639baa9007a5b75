"""No lost update (quality.md, reliability): every versioned write through the API, raced.

N clients read the same version and write at once with the same If-Match: exactly one gets
200, every other one 412 naming the winner's version, and the winner's change (and only it)
is in the object and its history. Real connections and row locks: PostgreSQL only.
"""

import datetime
import json
import threading
import urllib.error
import urllib.request

import pytest

from backlog import services
from backlog.models import Dependency, Epic, Milestone, RoadmapChange, StateChange, Story
from flow import services as flow_services
from flow.models import Risk
from teams.services import api_token_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 10


def request(url, method, token, body=None, etag=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    if etag:
        req.add_header("If-Match", etag)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers.get("ETag"), json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, None, json.loads(raw or b"{}")
        except ValueError:  # a 500's HTML page: keep the status so the test names it
            return error.code, None, {"raw": raw[:200].decode(errors="replace")}


def race(count, work):
    """Run ``work(i)`` in ``count`` threads released together; return {i: result}.

    A thread that raises fails the test (it is not a warning, and no result goes missing)."""
    barrier = threading.Barrier(count)
    results, crashes, lock = {}, [], threading.Lock()

    def run(i):
        try:
            barrier.wait(timeout=30)
            result = work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            with lock:
                crashes.append((i, exc))
        else:
            with lock:
                results[i] = result

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if crashes:
        raise AssertionError(f"{len(crashes)} writer(s) crashed: {crashes!r}") from crashes[0][1]
    assert len(results) == count
    return results


def one_winner(results, *, read_version=1):
    """Exactly one 200; every other writer 412 with the winner's version. Returns its index."""
    codes = sorted(status for status, _, _ in results.values())
    assert set(codes) <= {200, 412}, codes
    winners = [i for i, (status, _, _) in results.items() if status == 200]
    assert len(winners) == 1, f"all read version {read_version}: exactly one write matches, {codes}"
    status, etag, body = results[winners[0]]
    assert etag == f'"{read_version + 1}"' and body["version"] == read_version + 1
    losers = [body for status, _, body in results.values() if status == 412]
    assert all(body["current_version"] == read_version + 1 for body in losers)
    return winners[0]


@pytest.fixture
def world(live_server):
    from tests.conftest import build_flow_team

    flow = build_flow_team()
    tokens = {who: api_token_create(user=flow.users[who], name="load")[1] for who in flow.users}
    po1 = flow.actor("po1")
    team = flow.scrum_teams[0]
    stories = [
        services.story_create(
            actor=po1, scrum_team=team, title=f"Story {n}", points=3, criteria=["ok"]
        )
        for n in range(WRITERS + 1)
    ]
    epics = [
        services.epic_create(actor=flow.actor("cpo"), title=f"Epic {n}", acceptance_conditions="ac")
        for n in range(WRITERS + 1)
    ]
    other = services.story_create(
        actor=flow.actor("po2"), scrum_team=flow.scrum_teams[1], title="B"
    )
    dependency = services.dependency_create(actor=po1, source=stories[0], target=other)
    risk = flow_services.risk_create(actor=po1, title="Vendor late", scrum_team=team)
    milestone = services.milestone_create(
        actor=flow.actor("cpo"),
        name="M1",
        objective="o",
        start=datetime.date(2026, 1, 5),
        end=datetime.date(2026, 3, 9),
    )
    return {
        "milestone": milestone,
        "flow": flow,
        "tokens": tokens,
        "api": f"{live_server.url}/api/v1",
        "stories": stories,
        "epics": epics,
        "dependency": dependency,
        "risk": risk,
    }


def test_story_edits_and_moves_race_one_winner_in_the_history(world):
    """Half the writers edit and move in one PATCH, half only edit: one change lands."""
    story = world["stories"][0]
    url, token = f"{world['api']}/stories/{story.pk}/", world["tokens"]["dev1"]

    def write(i):
        body = {"title": f"Title by writer {i}"}
        if i % 2:
            body["state"] = "ready"
        return request(url, "PATCH", token, body, '"1"')

    winner = one_winner(race(WRITERS, write))
    story.refresh_from_db()
    assert (story.version, story.title) == (2, f"Title by writer {winner}")
    moves = list(StateChange.objects.filter(story=story).exclude(from_state=""))
    if winner % 2:
        assert story.state == "ready"
        assert [(m.from_state, m.to_state) for m in moves] == [("backlog", "ready")]
    else:
        assert (story.state, moves) == ("backlog", [])


def test_epic_patches_race_one_winner_in_the_history(world):
    epic = world["epics"][0]
    url, token = f"{world['api']}/epics/{epic.pk}/", world["tokens"]["cpo"]

    def write(i):
        body = {"title": f"Epic by writer {i}", "state": "ready"} if i % 2 else {"job_size": 13}
        return request(url, "PATCH", token, body, '"1"')

    winner = one_winner(race(WRITERS, write))
    epic.refresh_from_db()
    assert epic.version == 2
    moves = list(StateChange.objects.filter(epic=epic).exclude(from_state=""))
    if winner % 2:
        assert (epic.title, epic.state, len(moves)) == (f"Epic by writer {winner}", "ready", 1)
    else:
        assert (epic.job_size, epic.state, moves) == (13, "funnel", [])


def test_dependency_patches_race_one_winner(world):
    dependency = world["dependency"]
    url = f"{world['api']}/dependencies/{dependency.pk}/"

    def write(i):
        body = {"description": f"by writer {i}", "state": "resolved" if i % 2 else "broken"}
        return request(url, "PATCH", world["tokens"]["po1"], body, '"1"')

    winner = one_winner(race(WRITERS, write))
    fresh = Dependency.objects.get(pk=dependency.pk)
    assert (fresh.version, fresh.description) == (2, f"by writer {winner}")
    assert fresh.state == ("resolved" if winner % 2 else "broken")


def test_risk_patches_race_one_winner(world):
    risk = world["risk"]
    url = f"{world['api']}/risks/{risk.pk}/"

    def write(i):
        body = {"mitigation": f"plan {i}", "roam": "mitigated"}
        return request(url, "PATCH", world["tokens"]["sm1"], body, '"1"')

    winner = one_winner(race(WRITERS, write))
    fresh = Risk.objects.get(pk=risk.pk)
    assert (fresh.version, fresh.roam, fresh.mitigation) == (2, "mitigated", f"plan {winner}")


def test_story_rank_moves_race_one_winner(world):
    """Each writer moves the last story after a different one; one move lands."""
    *others, moved = world["stories"]
    url = f"{world['api']}/stories/{moved.pk}/rank/"

    def write(i):
        return request(url, "POST", world["tokens"]["po1"], {"after": others[i].pk}, '"1"')

    winner = one_winner(race(WRITERS, write))
    order = list(Story.objects.filter(scrum_team=moved.scrum_team).order_by("rank"))
    assert order.index(moved) == winner + 1  # right after the winner's neighbour
    assert Story.objects.get(pk=moved.pk).version == 2
    assert all(s.version == 1 for s in order if s != moved)


def test_epic_rank_moves_race_one_winner(world):
    *others, moved = world["epics"]
    url = f"{world['api']}/epics/{moved.pk}/rank/"

    def write(i):
        return request(url, "POST", world["tokens"]["cpo"], {"after": others[i].pk}, '"1"')

    winner = one_winner(race(WRITERS, write))
    order = list(Epic.objects.filter(flow_team=moved.flow_team).order_by("rank"))
    assert order.index(moved) == winner + 1
    assert Epic.objects.get(pk=moved.pk).version == 2


def test_milestone_patches_race_one_winner_in_the_change_log(world):
    milestone = world["milestone"]
    url = f"{world['api']}/milestones/{milestone.pk}/"

    def write(i):
        return request(url, "PATCH", world["tokens"]["cpo"], {"objective": f"by {i}"}, '"1"')

    winner = one_winner(race(WRITERS, write))
    fresh = Milestone.objects.get(pk=milestone.pk)
    assert (fresh.version, fresh.objective) == (2, f"by {winner}")
    edits = RoadmapChange.objects.filter(milestone=milestone, kind="edited")
    assert [e.after for e in edits] == [{"objective": f"by {winner}"}]


def test_rank_by_wsjf_applied_at_once_lands_once(world):
    """Writers send back the same proposal together: one applies it, the others hear
    that the epics changed since (409) and nothing is applied twice."""
    url, token = f"{world['api']}/epics/rank-by-wsjf/", world["tokens"]["cpo"]
    status, _, shown = request(url, "GET", token)
    assert status == 200
    results = race(WRITERS, lambda i: request(url, "POST", token, shown))
    codes = sorted(status for status, _, _ in results.values())
    assert codes == [200] + [409] * (WRITERS - 1), codes
    assert {e.version for e in Epic.objects.all()} == {2}


def test_retrying_writers_all_land_in_the_history(world):
    """Writers that re-read after a 412 and retry: every accepted change is in the history."""
    story = world["stories"][0]
    url, token = f"{world['api']}/stories/{story.pk}/", world["tokens"]["dev1"]

    def write(i):
        for _ in range(40):
            _, etag, body = request(url, "GET", token)
            target = "in_progress" if body["state"] != "in_progress" else "ready"
            status, _, result = request(url, "PATCH", token, {"state": target}, etag)
            assert status in (200, 412), result
            if status == 200:
                return target
        raise AssertionError(f"writer {i} never got its change in")

    accepted = race(WRITERS, write)
    moves = StateChange.objects.filter(story=story).exclude(from_state="")
    assert moves.count() == len(accepted) == WRITERS
    assert Story.objects.get(pk=story.pk).version == WRITERS + 1


def test_claims_of_one_story_race_one_commitment(world):
    """Claims are not versioned, but the same story claimed at once is one commitment and
    clear refusals, never a 500 from the unique constraint."""
    from flow.models import FlowSprint, SprintCommitment, TeamSprint

    flow, story = world["flow"], world["stories"][0]
    sprint = FlowSprint.objects.create(
        flow_team=flow.flow_team,
        number=1,
        start=flow.flow_team.today(),
        end=flow.flow_team.today() + datetime.timedelta(days=13),
    )
    team_sprint = TeamSprint.objects.create(flow_sprint=sprint, scrum_team=story.scrum_team)
    url = f"{world['api']}/team-sprints/{team_sprint.pk}/claim/"

    def write(i):
        return request(url, "POST", world["tokens"]["dev1"], {"story": story.pk})

    results = race(WRITERS, write)
    codes = sorted(status for status, _, _ in results.values())
    assert codes == [201] + [400] * (WRITERS - 1), codes
    refusals = [body for status, _, body in results.values() if status == 400]
    assert all("story" in body["errors"] for body in refusals)
    assert SprintCommitment.objects.filter(team_sprint=team_sprint, story=story).count() == 1
