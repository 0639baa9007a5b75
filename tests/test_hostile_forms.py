"""Hostile input on every HTML form: fields missing, of the wrong kind, holding control
characters, or a body over the limit. Each gets a 4xx, or the page again with an error
naming the field; no row changes, and nothing is ever a 5xx.

The forms are found by reading the pages, so a new form fails this suite until it is
listed in FORMS with its hostile cases."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.test_hostile_input import snapshot
from tests.api.test_permission_matrix import populate

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/calendar/",
    "/calendar/?scope=flow",
    "/metrics/",
    "/flow-team/",
    "/account/tokens/",
    "/backlog/",
    "/roadmap/",
    "/events/scrum-of-scrums/",
    "/improvements/",
]
# Pages whose forms the CSM is not shown, read as the role that is: (role, page).
ROLE_PAGES = [
    ("cpo", "/backlog/"),
    ("cpo", "/roadmap/"),
    ("cpo", "/roadmap/?epic={epic}"),
    ("cpo", "/roadmap/?milestone={milestone}"),
    ("cpo", "/roadmap/?new=epic"),
    ("cpo", "/roadmap/?new=milestone"),
    ("cpo", "/roadmap/?goal=edit"),
    ("cpo", "/roadmap/?wsjf=propose"),
    ("architect", "/roadmap/?epic={epic}"),
    # The Flow Sprint Planning 1 board: a PO's own team's cards, a story, a dependency, claims.
    ("po1", "/events/{planning}/planning-1/?story={story}"),
    ("csm", "/events/{planning}/planning-1/?dependency={dependency}"),
    ("csm", "/events/{planning}/planning-1/?claim={team}"),
    ("csm", "/events/{event}/sos/"),
    # The Daily Scrum: a developer's note, moves and blockers; the SM's timer.
    ("dev1", "/events/{daily}/daily/"),
    ("sm1", "/events/{daily}/daily/"),
    # The Product Backlog Refinement: a round open, a revealed one, and the two compose forms.
    ("dev1", "/events/{refinement}/refinement/"),
    ("dev1", "/events/{revealed}/refinement/"),
    ("dev1", "/events/{refinement}/refinement/?compose=story&epic={epic}"),
    ("dev1", "/events/{refinement}/refinement/?compose=criterion&story={story}"),
    # The Flow Sprint Review: the CSM's forms, and the CPO's "turn into a backlog item".
    ("csm", "/events/{review}/review/"),
    ("cpo", "/events/{review}/review/"),
    # Team Sprint Planning: team 1's PO sees every form (a story planned, with a task).
    ("po1", "/events/{team_planning}/team-planning/"),
    # Team 1's retro boards as its SM (the facilitator): collecting (settings, a card and
    # its edit form), voting (grouping and dots), discussing (actions; the earlier open one).
    ("sm1", "/events/{retro_collect}/retro/"),
    ("sm1", "/events/{retro_collect}/retro/cards/{retro_card}/edit/"),
    ("sm1", "/events/{retro_group}/retro/"),
    ("sm1", "/events/{retro_vote}/retro/"),
    ("sm1", "/events/{retro_discuss}/retro/"),
]
# One epic's or milestone's form stands for all of theirs.
IDS_IN_ACTIONS = [
    (re.compile(r"^/roadmap/epics/\d+/"), "/roadmap/epics/{epic}/"),
    (re.compile(r"^/roadmap/milestones/\d+/"), "/roadmap/milestones/{milestone}/"),
    (
        re.compile(r"^/events/\d+/planning-1/stories/\d+/"),
        "/events/{planning}/planning-1/stories/{story}/",
    ),
    (
        re.compile(r"^/events/\d+/planning-1/dependencies/\d+/"),
        "/events/{planning}/planning-1/dependencies/{dependency}/",
    ),
    (re.compile(r"^/events/\d+/planning-1/$"), "/events/{planning}/planning-1/"),
    # Each team's answers on a Scrum of Scrums, and closing one of its action items.
    (re.compile(r"^/events/\d+/sos/teams/\d+/"), "/events/{event}/sos/teams/{team}/"),
    (
        re.compile(r"^/events/\d+/sos/actions/\d+/close/"),
        "/events/{event}/sos/actions/{action}/close/",
    ),
    (re.compile(r"^/events/\d+/sos/actions/$"), "/events/{event}/sos/actions/"),
    # A retro board's forms: one card's, one action's and one retro's stand for all.
    (
        re.compile(r"^/events/\d+/retro/cards/\d+/vote/"),
        "/events/{retro_vote}/retro/cards/{retro_vote_card}/vote/",
    ),
    (
        re.compile(r"^/events/\d+/retro/cards/\d+/group/"),
        "/events/{retro_group}/retro/cards/{retro_group_card}/group/",
    ),
    (
        re.compile(r"^/events/\d+/retro/cards/\d+/delete/"),
        "/events/{retro_collect}/retro/cards/{retro_card}/delete/",
    ),
    (
        re.compile(r"^/events/\d+/retro/actions/\d+/done/"),
        "/events/{retro_collect}/retro/actions/{retro_action}/done/",
    ),
    (re.compile(r"^/events/\d+/retro/actions/$"), "/events/{retro_discuss}/retro/actions/"),
    (
        re.compile(r"^/events/\d+/retro/(?=(cards|settings|phase)/$)"),
        "/events/{retro_collect}/retro/",
    ),
    # Ordering and closing one improvement item stands for every item's.
    (re.compile(r"^/improvements/\d+/move/"), "/improvements/{action}/move/"),
    (re.compile(r"^/improvements/\d+/done/"), "/improvements/{action}/done/"),
    # The Daily Scrum's forms: one story's move and clear stand for every story's.
    (
        re.compile(r"^/events/\d+/daily/stories/\d+/move/"),
        "/events/{daily}/daily/stories/{daily_story}/move/",
    ),
    (
        re.compile(r"^/events/\d+/daily/stories/\d+/clear/"),
        "/events/{daily}/daily/stories/{daily_blocked}/clear/",
    ),
    (re.compile(r"^/events/\d+/daily/"), "/events/{daily}/daily/"),
    # A refinement's rounds and criteria: one stands for all (both refinements' alike).
    (
        re.compile(r"^/events/\d+/refinement/poker/\d+/"),
        "/events/{refinement}/refinement/poker/{round}/",
    ),
    (
        re.compile(r"^/events/\d+/refinement/criteria/\d+/"),
        "/events/{refinement}/refinement/criteria/{criterion}/",
    ),
    (
        re.compile(r"^/events/\d+/refinement/(?=(poker|stories|criteria)/$)"),
        "/events/{refinement}/refinement/",
    ),
    (
        re.compile(r"^/events/\d+/review/feedback/\d+/story/"),
        "/events/{review}/review/feedback/{feedback}/story/",
    ),
    (re.compile(r"^/events/\d+/review/"), "/events/{review}/review/"),
    (
        re.compile(r"^/events/\d+/team-planning/tasks/\d+/"),
        "/events/{team_planning}/team-planning/tasks/{task}/",
    ),
    (re.compile(r"^/events/\d+/team-planning/"), "/events/{team_planning}/team-planning/"),
]


class FormFinder(HTMLParser):
    """(method, action, field names) of each <form> on a page."""

    def __init__(self):
        super().__init__()
        self.forms, self._open = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = (attrs.get("method", "get").lower(), attrs.get("action") or "", set())
        elif tag in ("input", "select", "textarea", "button") and self._open and "name" in attrs:
            self._open[2].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form" and self._open:
            method, action, fields = self._open
            self.forms.append((method, action, frozenset(fields - {"csrfmiddlewaretoken"})))
            self._open = None


def _action(action: str) -> str:
    for pattern, placeholder in IDS_IN_ACTIONS:
        action = pattern.sub(placeholder, action)
    return action


def _forms_on(client, url):
    finder = FormFinder()
    finder.feed(client.get(url).content.decode())
    return {(m, _action(a) or url.split("?")[0], f) for m, a, f in finder.forms}


# Every form the pages show: (method, action, fields) -> hostile cases, each
# (data, the field the answer must name, or None when refusing is enough).
FORMS = {
    ("post", "/logout/", frozenset()): [],
    ("post", "/calendar/", frozenset({"feed"})): [
        ({"feed": "weekly"}, "scope"),
        ({"feed": ""}, "scope"),
    ],
    ("post", "/calendar/", frozenset({"event", "starts_at", "move", "cancel"})): [
        ({}, "event"),
        ({"move": "1"}, "event"),
        ({"event": "{event}", "move": "1"}, "starts_at"),
        ({"event": "x", "starts_at": "2030-01-08T10:00", "move": "1"}, "event"),
        ({"event": "9" * 30, "cancel": "1"}, "event"),
        ({"event": "-1", "cancel": "1"}, "event"),
        ({"event": "{event}", "starts_at": "tomorrow", "move": "1"}, "starts_at"),
        ({"event": "{event}", "starts_at": "0001-01-01T00:10", "move": "1"}, "starts_at"),
        ({"event": "{event}", "starts_at": "9999-12-31T23:59", "move": "1"}, "starts_at"),
    ],
    ("post", "/metrics/refresh/", frozenset({"query"})): [],
    # The forecast questions (items, by) join this form once figures exist.
    ("get", "/metrics/", frozenset({"team", "start", "end"})): [
        ({"team": "x"}, "Team"),
        ({"start": "2026-02-31"}, "From"),
        ({"items": "many"}, "When will this many be done?"),
        ({"items": "9" * 30}, "When will this many be done?"),
        ({"by": "someday"}, "How many by this date?"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "To"),
    ],
    ("get", "/backlog/", frozenset({"state", "team"})): [
        ({"team": "x"}, "Team"),
        ({"team": "9" * 30}, "Team"),
        ({"state": "nope"}, "State"),
        ({"state": ["ready", "x" * 300]}, "State"),
        ({"page": "x"}, "Page"),
        ({"page": "9" * 30}, "Page"),
        ({"page": "0"}, "Page"),
    ],
    ("post", "/backlog/split/", frozenset({"epic", "title", "team", "criteria", "points"})): [
        ({}, "epic"),
        ({"epic": "x", "title": "t", "team": "{team}"}, "epic"),
        ({"epic": "{foreign_epic}", "title": "t", "team": "{team}"}, None),
        ({"epic": "{epic}", "title": "t", "team": "{foreign_team}"}, None),
        ({"epic": "{epic}", "team": "{team}"}, "Title"),
        ({"epic": "{epic}", "title": "   ", "team": "{team}"}, "Title"),
        ({"epic": "{epic}", "title": "x" * 201, "team": "{team}"}, "Title"),
        ({"epic": "{epic}", "title": "t"}, "Team"),
        ({"epic": "{epic}", "title": "t", "team": "x"}, "Team"),
        ({"epic": "{epic}", "title": "t", "team": "{team}", "points": "4"}, "Points"),
        ({"epic": "{epic}", "title": "t", "team": "{team}", "points": "9" * 30}, "Points"),
        (
            {"epic": "{epic}", "title": "t", "team": "{team}", "criteria": "c" * 501},
            "Acceptance criteria",
        ),
    ],
    ("get", "/roadmap/", frozenset({"since"})): [
        ({"since": "2026-02-31"}, "Changes since"),
        ({"since": "0001-01-01"}, "Changes since"),
        ({"since": "x" * 300}, "Changes since"),
        ({"refinement": "x"}, None),
        ({"refinement": "9" * 30}, None),
        ({"epic": "{foreign_epic}"}, None),
        ({"milestone": "-1"}, None),
    ],
    # The form a drag and drop fills in (static/js/roadmap.js posts it to the epic's URL).
    ("post", "/roadmap/", frozenset({"action", "version", "after", "before", "lane"})): [
        ({}, None),
        ({"action": "move", "version": "1", "after": "{epic}"}, None),
        ({"action": "nothing"}, None),
    ],
    ("post", "/roadmap/epics/{epic}/", frozenset({"action", "version", "direction"})): [
        ({}, None),
        ({"action": "move"}, None),
        ({"action": "move", "version": "1", "direction": "sideways"}, None),
        ({"action": "move", "version": "x", "direction": "up"}, None),
        ({"action": "move", "version": "9" * 30, "direction": "up"}, None),
        ({"action": "move", "version": "1", "direction": "up", "after": "{epic}"}, None),
        ({"action": "move", "version": "1", "after": "{foreign_epic}"}, None),
        ({"action": "move", "version": "1", "after": "{epic}"}, None),
    ],
    ("post", "/roadmap/epics/{epic}/", frozenset({"action", "version", "lane"})): [
        ({"action": "move", "version": "1", "lane": "M1"}, None),
        ({"action": "move", "version": "1", "lane": "9" * 30}, None),
        ({"action": "move", "version": "1", "lane": "{foreign_milestone}"}, None),
        ({"action": "move", "version": "99", "lane": "none"}, None),
    ],
    (
        "post",
        "/roadmap/epics/{epic}/",
        frozenset(
            {
                "action",
                "version",
                "business_value",
                "time_criticality",
                "risk_reduction",
                "job_size",
            }
        ),
    ): [
        ({"action": "wsjf", "version": "1"}, None),
        (
            {
                "action": "wsjf",
                "version": "1",
                "business_value": "4",
                "time_criticality": "1",
                "risk_reduction": "1",
                "job_size": "1",
            },
            None,
        ),
        (
            {
                "action": "wsjf",
                "version": "1",
                "business_value": "9" * 30,
                "time_criticality": "1",
                "risk_reduction": "1",
                "job_size": "0",
            },
            None,
        ),
    ],
    (
        "post",
        "/roadmap/epics/{epic}/",
        frozenset(
            {
                "action",
                "version",
                "title",
                "description",
                "acceptance_conditions",
                "milestone",
                "state",
            }
        ),
    ): [
        ({"action": "edit", "version": "1", "title": " ", "state": "funnel"}, None),
        ({"action": "edit", "version": "1", "title": "t", "state": "shipped"}, None),
        ({"action": "edit", "version": "1", "title": "t", "state": "done"}, None),
        ({"action": "edit", "version": "1", "title": "x" * 201, "state": "funnel"}, None),
        (
            {
                "action": "edit",
                "version": "1",
                "title": "t",
                "state": "funnel",
                "milestone": "{foreign_milestone}",
            },
            None,
        ),
    ],
    (
        "post",
        "/roadmap/epics/{epic}/",
        frozenset({"action", "version", "feasibility", "feasibility_note"}),
    ): [
        ({"action": "feasibility", "version": "1"}, None),
        ({"action": "feasibility", "version": "1", "feasibility": "maybe"}, None),
        ({"action": "feasibility", "version": "1", "feasibility": "infeasible"}, None),
        (
            {
                "action": "feasibility",
                "version": "1",
                "feasibility": "feasible",
                "feasibility_note": "n" * 5001,
            },
            None,
        ),
    ],
    ("post", "/roadmap/milestones/{milestone}/", frozenset({"action", "version", "direction"})): [
        ({"action": "move", "version": "1", "direction": "up"}, None),
        ({"action": "move", "version": "1", "direction": "earlier"}, None),
        ({"action": "move", "direction": "later"}, None),
    ],
    ("post", "/roadmap/milestones/{milestone}/", frozenset({"action", "version"})): [
        ({"action": "close"}, None),
        ({"action": "close", "version": "99"}, None),
        ({"action": "open", "version": "1"}, None),
    ],
    (
        "post",
        "/roadmap/milestones/{milestone}/",
        frozenset({"action", "version", "name", "objective", "start", "end"}),
    ): [
        (
            {
                "action": "edit",
                "version": "1",
                "name": "M",
                "objective": "o",
                "start": "2026-03-01",
                "end": "2026-02-01",
            },
            None,
        ),
        (
            {
                "action": "edit",
                "version": "1",
                "name": " ",
                "objective": "o",
                "start": "2026-03-01",
                "end": "2026-05-01",
            },
            None,
        ),
        (
            {
                "action": "edit",
                "version": "1",
                "name": "M",
                "objective": "o",
                "start": "99999-01-01",
                "end": "2026-05-01",
            },
            None,
        ),
    ],
    (
        "post",
        "/roadmap/",
        frozenset({"action", "title", "description", "acceptance_conditions", "milestone"}),
    ): [
        ({"action": "epic-create"}, None),
        ({"action": "epic-create", "title": "   "}, None),
        ({"action": "epic-create", "title": "t", "milestone": "{foreign_milestone}"}, None),
        ({"action": "epic-create", "title": "t", "milestone": "x"}, None),
    ],
    ("post", "/roadmap/", frozenset({"action", "name", "objective", "start", "end"})): [
        ({"action": "milestone-create"}, None),
        (
            {
                "action": "milestone-create",
                "name": "M",
                "objective": "o",
                "start": "2026-03-01",
                "end": "2026-03-01",
            },
            None,
        ),
        (
            {
                "action": "milestone-create",
                "name": "M",
                "objective": " ",
                "start": "2026-03-01",
                "end": "2026-05-01",
            },
            None,
        ),
    ],
    ("post", "/roadmap/", frozenset({"action", "statement", "target_date", "status"})): [
        ({"action": "goal"}, None),
        ({"action": "goal", "statement": " "}, None),
        ({"action": "goal", "statement": "s", "status": "won"}, None),
        ({"action": "goal", "statement": "s", "target_date": "1999-01-01"}, None),
    ],
    ("post", "/roadmap/", frozenset({"action", "proposal"})): [
        ({"action": "rank-by-wsjf"}, None),
        ({"action": "rank-by-wsjf", "proposal": "1:1,1:1"}, None),
        ({"action": "rank-by-wsjf", "proposal": "{epic}:99"}, None),
        ({"action": "rank-by-wsjf", "proposal": "x"}, None),
        ({"action": "rank-by-wsjf", "proposal": "9" * 30 + ":1"}, None),
    ],
    # Flow Sprint Planning 1 (events/planning_views.py): a PO plans their team's story by
    # its arrows, a drop or the panel's sprint buttons; claims, dependencies, the contract.
    ("post", "/events/{planning}/planning-1/stories/{story}/", frozenset({"direction"})): [
        ({}, None),
        ({"direction": "sideways"}, None),
        ({"direction": "earlier"}, None),
    ],
    ("post", "/events/{planning}/planning-1/stories/{story}/", frozenset({"sprint"})): [
        ({"sprint": "soon"}, None),
        ({"sprint": "9" * 30}, None),
        ({"sprint": "{foreign_sprint}"}, None),
    ],
    (
        "post",
        "/events/{planning}/planning-1/",
        frozenset({"action", "story", "target", "needed_by", "description"}),
    ): [
        ({"action": "raise", "story": "{story}"}, None),
        ({"action": "raise", "story": "{story}", "target": "s:{story}", "needed_by": "x"}, None),
        ({"action": "raise", "story": "{story}", "target": "e:{foreign_epic}"}, None),
        ({"action": "raise", "story": "x", "target": "e:{epic}"}, None),
    ],
    (
        "post",
        "/events/{planning}/planning-1/dependencies/{dependency}/",
        frozenset({"action", "version", "sprint", "note"}),
    ): [
        ({"action": "commit", "version": "1"}, None),
        ({"action": "commit", "version": "x", "sprint": "{foreign_sprint}"}, None),
        ({"action": "renegotiate", "version": "1", "sprint": "9" * 30}, None),
        ({"action": "accept", "version": "1"}, None),
        ({"action": "sign", "version": "1"}, None),
    ],
    (
        "post",
        "/events/{planning}/planning-1/",
        frozenset({"action", "scrum_team", "epic", "flow_sprint"}),
    ): [
        ({"action": "claim"}, None),
        ({"action": "claim", "scrum_team": "{foreign_team}", "epic": "{epic}"}, None),
        ({"action": "claim", "scrum_team": "{team}", "epic": "{foreign_epic}"}, None),
        ({"action": "claim", "scrum_team": "{team}", "epic": "{epic}", "flow_sprint": "x"}, None),
        ({"action": "unclaim", "claim": "x"}, None),
    ],
    ("get", "/events/scrum-of-scrums/", frozenset({"q"})): [
        ({"q": "x" * 201}, "q"),
        ({"page": "x"}, None),
        ({"page": "9" * 30}, None),
    ],
    (
        "post",
        "/events/{event}/sos/teams/{team}/",
        frozenset(
            {
                "read_version",
                "done_since_last",
                "next_until_next",
                "impediments",
                "in_others_way",
                "dependencies",
            }
        ),
    ): [
        ({}, None),
        ({"read_version": "x"}, None),
        ({"read_version": "9" * 30, "impediments": "x"}, None),
        ({"read_version": "1", "impediments": "x" * 5001}, None),
        ({"read_version": "99", "impediments": "stale"}, None),
    ],
    (
        "post",
        "/events/{event}/sos/actions/",
        frozenset({"text", "owner", "due_date", "scrum_team", "metric"}),
    ): [
        ({"text": "t", "owner": "{owner}", "due_date": "2026-01-21", "metric": "mood"}, "metric"),
        ({}, None),
        ({"text": "  ", "owner": "1", "due_date": "2026-01-21"}, None),
        ({"text": "t", "owner": "x", "due_date": "2026-01-21"}, None),
        ({"text": "t", "owner": "9" * 30, "due_date": "2026-01-21"}, None),
        ({"text": "t", "owner": "{owner}", "due_date": "99999-01-01"}, None),
        (
            {
                "text": "t",
                "owner": "{owner}",
                "due_date": "2026-01-21",
                "scrum_team": "{foreign_team}",
            },
            None,
        ),
        ({"text": "x" * 301, "owner": "{owner}", "due_date": "2026-01-21"}, None),
    ],
    # Team Sprint Planning (events/team_planning_views.py), as team 1's PO.
    ("post", "/events/{team_planning}/team-planning/plan/", frozenset({"story", "into"})): [
        ({}, "story"),
        ({"story": "x", "into": "1"}, "story"),
        ({"story": "9" * 30, "into": "1"}, "story"),
        ({"story": "{story}", "into": "sideways"}, "into"),
        ({"story": "{other}", "into": "1"}, "story"),
        ({"story": "{foreign_story}", "into": "1"}, "story"),
    ],
    ("post", "/events/{team_planning}/team-planning/days/", frozenset({"user", "days"})): [
        ({}, "user"),
        ({"user": "{owner}"}, "days"),
        ({"user": "{owner}", "days": "-1"}, "days"),
        ({"user": "{owner}", "days": "1e9"}, "days"),
        ({"user": "{owner}", "days": "Infinity"}, "days"),
        ({"user": "{owner}", "days": "9" * 40}, "days"),
        ({"user": "{foreign_user}", "days": "2"}, "user"),
        ({"user": "9" * 30, "days": "2"}, "user"),
    ],
    ("post", "/events/{team_planning}/team-planning/capacity/", frozenset({"capacity_points"})): [
        ({"capacity_points": "-3"}, "capacity_points"),
        ({"capacity_points": "lots"}, "capacity_points"),
        ({"capacity_points": "9" * 30}, "capacity_points"),
    ],
    ("post", "/events/{team_planning}/team-planning/goal/", frozenset({"goal_version", "goal"})): [
        ({}, "goal_version"),
        ({"goal_version": "0"}, "goal"),
        ({"goal_version": "0", "goal": "g" * 1001}, "goal"),
        ({"goal_version": "x", "goal": "g"}, "goal_version"),
        ({"goal_version": "9" * 30, "goal": "g"}, "goal_version"),
    ],
    (
        "post",
        "/events/{team_planning}/team-planning/tasks/",
        frozenset({"story", "title", "assignee"}),
    ): [
        ({}, "story"),
        ({"story": "{story}"}, "title"),
        ({"story": "{story}", "title": "t" * 201}, "title"),
        ({"story": "{story}", "title": "t", "assignee": "x"}, "assignee"),
        ({"story": "{story}", "title": "t", "assignee": "{foreign_user}"}, "assignee"),
        ({"story": "{other}", "title": "t"}, "story"),
    ],
    ("post", "/events/{team_planning}/team-planning/tasks/{task}/done/", frozenset({"done"})): [
        ({}, "done"),
        ({"done": "yes"}, "done"),
    ],
    # A button alone: nothing to get wrong (control characters: see the test below).
    ("post", "/events/{event}/sos/actions/{action}/close/", frozenset()): [],
    # A retro board, sent by its facilitator (team 1's SM), each at the phase it shows.
    ("post", "/events/{retro_collect}/retro/cards/", frozenset({"card", "column", "text"})): [
        ({}, None),
        ({"column": "x", "text": "t"}, None),
        ({"column": "9", "text": "t"}, None),
        ({"column": "0", "text": "  "}, None),
        ({"column": "0", "text": "x" * 501}, None),
        ({"card": "x", "column": "0", "text": "t"}, None),
        ({"card": "9" * 30, "column": "0", "text": "t"}, None),
        ({"card": "{retro_vote_card}", "column": "0", "text": "not in this retro"}, None),
    ],
    ("post", "/events/{retro_collect}/retro/cards/{retro_card}/delete/", frozenset()): [],
    (
        "post",
        "/events/{retro_collect}/retro/settings/",
        frozenset({"format", "votes_per_person", "anonymous"}),
    ): [
        ({}, None),
        ({"format": "xyz", "votes_per_person": "3"}, None),
        ({"format": "ssc", "votes_per_person": "0"}, None),
        ({"format": "ssc", "votes_per_person": "21"}, None),
        ({"format": "ssc", "votes_per_person": "x"}, None),
        ({"format": "ssc", "votes_per_person": "9" * 30}, None),
    ],
    ("post", "/events/{retro_collect}/retro/phase/", frozenset({"phase", "shown_phase"})): [
        ({}, None),
        ({"phase": "nope"}, None),
        ({"phase": "vote"}, None),
        ({"phase": "collect"}, None),
    ],
    ("post", "/events/{retro_collect}/retro/actions/{retro_action}/done/", frozenset()): [],
    ("post", "/events/{retro_group}/retro/cards/{retro_group_card}/group/", frozenset({"onto"})): [
        ({"onto": "x"}, None),
        ({"onto": "9" * 30}, None),
        ({"onto": "{retro_group_card}"}, None),
        ({"onto": "{retro_vote_card}"}, None),
    ],
    ("post", "/events/{retro_vote}/retro/cards/{retro_vote_card}/vote/", frozenset({"action"})): [
        ({}, None),
        ({"action": "steal"}, None),
    ],
    (
        "post",
        "/events/{retro_discuss}/retro/actions/",
        frozenset({"text", "owner", "due_date", "metric"}),
    ): [
        ({}, None),
        ({"text": "t", "owner": "x", "due_date": "2099-01-01"}, None),
        ({"text": "t", "owner": "9" * 30, "due_date": "2099-01-01"}, None),
        ({"text": "t", "owner": "{foreign_user}", "due_date": "2099-01-01"}, None),
        ({"text": "t", "owner": "{owner}", "due_date": "2099-13-01"}, None),
        ({"text": "t", "owner": "{owner}", "due_date": "2000-01-01"}, None),
        ({"text": "t", "owner": "{owner}", "due_date": "2099-01-01", "metric": "mood"}, None),
        ({"text": "x" * 301, "owner": "{owner}", "due_date": "2099-01-01"}, None),
    ],
    # The Flow Backlog's order and done buttons: the team says which backlog is shown.
    ("post", "/improvements/{action}/move/", frozenset({"team", "move"})): [
        ({}, None),
        ({"move": "sideways"}, None),
        ({"move": "down", "team": "x"}, None),
        ({"move": "down", "team": "9" * 30}, None),
        ({"move": "down", "team": "{foreign_team}"}, None),
    ],
    ("post", "/improvements/{action}/done/", frozenset({"team"})): [
        ({"team": "x"}, None),
        ({"team": "{foreign_team}"}, None),
    ],
    # The Daily Scrum (events/daily_views.py): a person's own note, a move by button or
    # drop, raising and clearing a blocker, the SM's start and end.
    ("post", "/events/{daily}/daily/note/", frozenset({"yesterday", "today", "impediments"})): [
        ({}, None),
        ({"today": "   "}, None),
        ({"today": "x" * 2001}, None),
        ({"today": "t", "person": "{owner}"}, None),
        ({"today": "t", "person": "x"}, None),
        ({"today": "t", "person": "9" * 30}, None),
    ],
    (
        "post",
        "/events/{daily}/daily/stories/{daily_story}/move/",
        frozenset({"version", "to_state"}),
    ): [
        ({}, None),
        ({"to_state": "in_progress"}, None),
        ({"to_state": "in_progress", "version": "x"}, None),
        ({"to_state": "in_progress", "version": "9" * 30}, None),
        ({"to_state": "shipped", "version": "1"}, None),
        ({"to_state": "done", "version": "1"}, None),
        ({"to_state": "in_progress", "version": "99"}, None),
    ],
    ("post", "/events/{daily}/daily/stories/{daily_blocked}/clear/", frozenset()): [],
    ("post", "/events/{daily}/daily/blockers/", frozenset({"story", "reason"})): [
        ({}, None),
        ({"story": "x", "reason": "r"}, None),
        ({"story": "{daily_story}", "reason": "  "}, None),
        ({"story": "{daily_story}", "reason": "r" * 301}, None),
        ({"story": "{daily_blocked}", "reason": "again"}, None),
        ({"story": "{story}", "reason": "not on the board"}, None),
    ],
    ("post", "/events/{daily}/daily/timer/", frozenset({"action"})): [
        ({}, None),
        ({"action": "pause"}, None),
        ({"action": "end"}, None),
    ],
    # The refinement's writes, sent by a developer of its team (the round is not revealed:
    # an agreement or a re-vote is refused too).
    ("post", "/events/{refinement}/refinement/poker/", frozenset({"story"})): [
        ({}, "story"),
        ({"story": "x"}, "story"),
        ({"story": "9" * 30}, "story"),
        ({"story": "999999"}, None),
    ],
    ("post", "/events/{refinement}/refinement/poker/{round}/vote/", frozenset({"value"})): [
        ({}, "value"),
        ({"value": "4"}, "value"),
        ({"value": "x" * 300}, "value"),
    ],
    ("post", "/events/{refinement}/refinement/poker/{round}/reveal/", frozenset()): [],
    (
        "post",
        "/events/{refinement}/refinement/poker/{round}/agree/",
        frozenset({"points", "version"}),
    ): [
        ({"points": "5", "version": "1"}, None),
        ({"points": "x", "version": "1"}, "points"),
        ({"points": "5", "version": "9" * 30}, "version"),
    ],
    ("post", "/events/{refinement}/refinement/poker/{round}/revote/", frozenset()): [],
    ("post", "/events/{refinement}/refinement/stories/", frozenset({"epic", "title"})): [
        ({"epic": "{epic}"}, "title"),
        ({"epic": "x", "title": "t"}, "epic"),
        ({"epic": "{foreign_epic}", "title": "t"}, "epic"),
        ({"epic": "{epic}", "title": "x" * 201}, "title"),
    ],
    ("post", "/events/{refinement}/refinement/criteria/", frozenset({"story", "text"})): [
        ({"story": "{story}"}, "text"),
        ({"story": "x", "text": "t"}, "story"),
        ({"story": "{story}", "text": "x" * 501}, "text"),
    ],
    (
        "post",
        "/events/{refinement}/refinement/criteria/{criterion}/check/",
        frozenset({"checked"}),
    ): [
        ({}, "checked"),
        ({"checked": "2"}, "checked"),
    ],
    ("post", "/events/{refinement}/refinement/criteria/{criterion}/delete/", frozenset()): [],
    # The Flow Sprint Review.
    ("post", "/events/{review}/review/feedback/", frozenset({"about", "text"})): [
        ({}, "about"),
        ({"about": "epic:{epic}", "text": "   "}, "text"),
        ({"about": "epic:x", "text": "t"}, "about"),
        ({"about": "epic:" + "9" * 30, "text": "t"}, "about"),
        ({"about": "epic:{foreign_epic}", "text": "t"}, "about"),
        ({"about": "story:{story}", "text": "t"}, "about"),
        ({"about": "epic:{epic}", "text": "x" * 2001}, "text"),
    ],
    ("post", "/events/{review}/review/feedback/{feedback}/story/", frozenset({"scrum_team"})): [
        ({}, "scrum_team"),
        ({"scrum_team": "x"}, "scrum_team"),
        ({"scrum_team": "9" * 30}, "scrum_team"),
        ({"scrum_team": "{foreign_team}"}, "scrum_team"),
    ],
    ("post", "/events/{review}/review/order/", frozenset({"team", "step"})): [
        ({}, "team"),
        ({"team": "x", "step": "up"}, "team"),
        ({"team": "{foreign_team}", "step": "up"}, "team"),
        ({"team": "{team}", "step": "sideways"}, "step"),
        ({"order": "1,x"}, "order"),
        ({"order": "{team}"}, "order"),
    ],
    ("post", "/events/{review}/review/outcome/", frozenset({"outcome", "note"})): [
        ({}, "outcome"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "partly", "note": "  "}, "note"),
        ({"outcome": "met", "note": "x" * 2001}, "note"),
    ],
    # Buttons alone: nothing to get wrong (control characters: see the test below).
    ("post", "/events/{review}/review/outputs/", frozenset()): [],
    ("post", "/events/{review}/review/outputs/", frozenset({"end"})): [],
    ("post", "/account/tokens/", frozenset({"name"})): [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
    ],
    ("post", "/account/tokens/", frozenset({"revoke"})): [
        ({"revoke": "x"}, "token"),
        ({"revoke": "9" * 30}, "token"),
        ({"revoke": "{foreign_token}"}, "token"),
    ],
}


@pytest.fixture
def signed_in(flow, foreign):
    from teams.services import api_token_create

    populate(flow)
    api_token_create(user=flow.users["csm"], name="ci")
    foreign_token, _ = api_token_create(user=foreign.users["csm"], name="theirs")
    client = Client()
    client.force_login(flow.users["csm"])
    from events.models import Event
    from tests.events.factories import EventFactory

    sprint = Event.objects.filter(flow_team=flow.flow_team).first().flow_sprint
    # In the calendar's four weeks, so that its move/cancel form shows.
    event = EventFactory(flow_sprint=sprint, starts_at=timezone.now() + dt.timedelta(days=2))
    from backlog.models import Epic
    from backlog.services import epic_create

    cpo = Client()
    cpo.force_login(flow.users["cpo"])
    architect = Client()
    architect.force_login(flow.users["architect"])
    from backlog.models import Milestone
    from backlog.services import milestone_create

    theirs = milestone_create(
        actor=foreign.actor("cpo"),
        name="Theirs",
        objective="o",
        start=dt.date(2026, 1, 5),
        end=dt.date(2026, 3, 9),
    )
    from backlog.models import Dependency, Story
    from tests.flow.factories import FlowSprintFactory

    # A Flow Sprint Planning 1 on that sprint (occurrence set: no factory sequence moves).
    planning = Event.objects.create(
        flow_team=flow.flow_team,
        flow_sprint=sprint,
        kind=Event.Kind.PLANNING_1,
        level=Event.Level.FLOW,
        occurrence=1,
        starts_at=timezone.now(),
        duration_minutes=120,
    )
    from tests.events.daily_setup import daily_board

    daily = daily_board(flow, now=timezone.now())
    refinements = _refinements(flow, sprint)
    review = _review(flow, sprint)
    team_planning = _team_planning(flow, sprint)
    planners = {}
    for role in ("po1", "csm", "dev1", "sm1"):
        planners[f"{role}_client"] = Client()
        planners[f"{role}_client"].force_login(flow.users[role])
    return client, {
        **planners,
        **refinements,
        "planning": planning.pk,
        "daily": daily.event.pk,
        "daily_story": daily.ready.pk,
        "daily_blocked": daily.oldest.pk,
        "story": Story.objects.get(flow_team=flow.flow_team, title="Story").pk,
        "dependency": Dependency.objects.filter(flow_team=flow.flow_team, contract="countered")
        .first()
        .pk,
        "foreign_sprint": FlowSprintFactory(flow_team=foreign.flow_team).pk,
        "milestone": Milestone.objects.filter(flow_team=flow.flow_team).first().pk,
        "foreign_milestone": theirs.pk,
        "architect_client": architect,
        "event": event.pk,
        "foreign_token": foreign_token.pk,
        "epic": Epic.objects.filter(flow_team=flow.flow_team).first().pk,
        "foreign_epic": epic_create(actor=foreign.actor("cpo"), title="Theirs").pk,
        "team": flow.scrum_teams[0].pk,
        "foreign_team": foreign.scrum_teams[0].pk,
        "cpo_client": cpo,
        "csm_client": client,
        "owner": flow.users["sm1"].pk,
        "action": _sos_action(flow, event).pk,
        "review": review.pk,
        "feedback": review.feedback.get().pk,
        **team_planning,
        **_retros(flow, sprint),
        "foreign_user": foreign.users["dev1"].pk,
        "foreign_story": _foreign_story(foreign).pk,
    }


def _foreign_story(foreign):
    from backlog.services import story_create

    return story_create(
        actor=foreign.actor("po1"), scrum_team=foreign.scrum_teams[0], title="Theirs", points=3
    )


def _team_planning(flow, sprint):
    """Team 1's Team Sprint Planning on that sprint, its story planned with its task, so
    that every form of the screen shows."""
    from backlog.models import Story
    from backlog.services import story_create, task_create
    from events.models import Event
    from flow.capacity import services as capacity
    from flow.models import TeamSprint
    from tests.events.factories import TeamEventFactory

    event = TeamEventFactory(
        flow_sprint=sprint,
        scrum_team=flow.scrum_teams[0],
        kind=Event.Kind.TEAM_PLANNING,
        occurrence=1,
        starts_at=timezone.now(),
    )
    team_sprint = TeamSprint.objects.get(flow_sprint=sprint, scrum_team=flow.scrum_teams[0])
    po1 = flow.actor("po1")
    planned = story_create(
        actor=po1, scrum_team=flow.scrum_teams[0], title="Planned", points=2, criteria=["c"]
    )
    capacity.team_story_plan(actor=po1, team_sprint=team_sprint, story=planned, into=True)
    return {
        "team_planning": event.pk,
        "task": task_create(actor=po1, story=planned, title="Its task").pk,
        "other": Story.objects.get(flow_team=flow.flow_team, title="Other").pk,
    }


def _refinements(flow, sprint):
    """Two Product Backlog Refinements of team 1: one with a round open, one revealed (so
    that every poker form shows)."""
    from backlog.models import AcceptanceCriterion, Story
    from events.models import Event
    from events.poker import services as poker

    story = Story.objects.get(flow_team=flow.flow_team, title="Story")
    events = [
        Event.objects.create(
            flow_team=flow.flow_team,
            flow_sprint=sprint,
            scrum_team=flow.scrum_teams[0],
            kind=Event.Kind.BACKLOG_REFINEMENT,
            level=Event.Level.TEAM,
            occurrence=n,
            starts_at=timezone.now(),
            duration_minutes=90,
        )
        for n in (1, 2)
    ]
    dev = flow.actor("dev1")
    revealed = poker.round_open(actor=dev, event=events[1], story_id=story.pk)
    poker.vote_cast(actor=dev, event=events[1], round_id=revealed.pk, value="3")
    poker.round_reveal(actor=dev, event=events[1], round_id=revealed.pk)
    return {
        "refinement": events[0].pk,
        "revealed": events[1].pk,
        "round": poker.round_open(actor=dev, event=events[0], story_id=story.pk).pk,
        "criterion": AcceptanceCriterion.objects.filter(story=story).first().pk,
    }


def _review(flow, sprint):
    """A running Flow Sprint Review with feedback on an epic, so that every form shows."""
    from backlog.models import Epic
    from events.models import Event
    from events.review.services import feedback_add
    from events.services import event_start

    review = Event.objects.create(
        flow_team=flow.flow_team,
        flow_sprint=sprint,
        kind=Event.Kind.REVIEW,
        level=Event.Level.FLOW,
        occurrence=9,
        starts_at=timezone.now(),
        duration_minutes=120,
    )
    event_start(actor=flow.actor("csm"), event=review)
    epic = Epic.objects.filter(flow_team=flow.flow_team).first()
    feedback_add(actor=flow.actor("stakeholder"), event=review, text="Shared", epic_id=epic.pk)
    return review


def _retros(flow, sprint):
    """Team 1's retros on that sprint, one at each phase before closing, each with a card of
    its SM's and one of a developer's; the earliest (discussed) has an action item, which
    the later ones review as an earlier open one."""
    from events.models import Event
    from events.retro import services as retro
    from tests.events.retro_setup import to_phase

    ids = {}
    for n, phase in enumerate(("discuss", "collect", "group", "vote"), start=1):
        event = Event.objects.create(
            flow_team=flow.flow_team,
            flow_sprint=sprint,
            scrum_team=flow.scrum_teams[0],
            kind=Event.Kind.TEAM_RETRO,
            level=Event.Level.TEAM,
            occurrence=10 + n,
            starts_at=timezone.now() - dt.timedelta(days=5 - n),
            duration_minutes=60,
        )
        card = retro.card_add(actor=flow.actor("sm1"), event=event, column=0, text="Shared")
        retro.card_add(actor=flow.actor("dev1"), event=event, column=1, text="Other")
        if phase != "collect":
            to_phase(flow, event, phase)
        ids[f"retro_{phase}"], ids[f"retro_{phase}_card"] = event.pk, card.pk
    ids["retro_card"] = ids["retro_collect_card"]
    ids["retro_action"] = retro.action_add(
        actor=flow.actor("sm1"),
        event=Event.objects.get(pk=ids["retro_discuss"]),
        text="Shared action",
        owner_id=flow.users["sm1"].pk,
        due_date=timezone.localdate() + dt.timedelta(days=7),
    ).pk
    return ids


def _sos_action(flow, event):
    """Open action items on the Scrum of Scrums, so that its close form shows, and the
    Flow Backlog's order buttons (two items) too. The first is the one the forms use."""
    from events.services import action_item_add

    action_item_add(
        actor=flow.actor("csm"),
        event=event,
        text="Second in the Flow Backlog",
        owner=flow.users["sm1"],
        due_date=dt.date(2026, 1, 22),
    )
    return action_item_add(
        actor=flow.actor("csm"),
        event=event,
        text="Shared test data",
        owner=flow.users["sm1"],
        due_date=dt.date(2026, 1, 21),
    )


def _client_for(form, client, ids):
    """The forms of ROLE_PAGES are sent as the role that is shown them."""
    method, action, fields = form
    if "feasibility" in fields:
        return ids["architect_client"]
    if method == "post" and (action.startswith("/roadmap/") or action == "/backlog/split/"):
        return ids["cpo_client"]
    if method == "post" and "/review/feedback/" in action and action.endswith("/story/"):
        return ids["cpo_client"]
    if method == "post" and ("/planning-1/stories/" in action or "/team-planning/" in action):
        return ids["po1_client"]
    if method == "post" and "/retro/" in action:
        return ids["sm1_client"]
    if method == "post" and action.endswith("/daily/timer/"):
        return ids["sm1_client"]
    if method == "post" and ("/daily/" in action or "/refinement/" in action):
        return ids["dev1_client"]
    return client


def _fill(data, ids):
    return {k: v.format(**ids) if isinstance(v, str) else v for k, v in data.items()}


def _send(client, method, action, data):
    if method == "get":
        return client.get(action, data)
    return client.post(action, data)


def test_every_form_on_the_pages_is_listed(signed_in):
    client, ids = signed_in
    found = set()
    for page in PAGES:
        found |= _forms_on(client, page)
    for role, page in ROLE_PAGES:
        found |= _forms_on(ids[f"{role}_client"], page.format(**ids))
    assert found == set(FORMS), "a new form: add it to FORMS with its hostile cases"
    assert _forms_on(Client(), "/login/") == {
        ("post", "/login/", frozenset({"username", "password", "next"}))
    }, "the sign-in form changed: update test_login_refuses_hostile_fields_without_a_5xx"


@pytest.mark.parametrize("form", list(FORMS), ids=lambda f: f"{f[0]} {f[1]} {sorted(f[2])}")
def test_wrong_or_missing_fields_name_the_field_and_write_nothing(signed_in, form):
    client, ids = signed_in
    method, action, _ = form
    client = _client_for(form, client, ids)
    action = action.format(**ids)
    for data, field in FORMS[form]:
        before = snapshot()
        response = _send(client, method, action, _fill(data, ids))
        label = f"{method} {action} {data}"
        assert response.status_code < 500, label
        assert snapshot() == before, f"{label}: a row changed"
        if 400 <= response.status_code < 500:
            continue
        assert response.status_code == 200, f"{label}: {response.status_code}"
        page = response.content.decode()
        assert 'role="alert"' in page or "errorlist" in page, f"{label}: no error shown"
        assert f"{field}:" in page or f'data-field="{field}"' in page, (
            f"{label}: the error does not name {field}"
        )


@pytest.mark.parametrize("form", list(FORMS), ids=lambda f: f"{f[0]} {f[1]} {sorted(f[2])}")
def test_control_characters_in_any_field_are_a_400_naming_it(signed_in, form):
    client, ids = signed_in
    method, action, fields = form
    client = _client_for(form, client, ids)
    action = action.format(**ids)
    for field in sorted(fields) or ["anything"]:
        for text in ["a\x00b", "a\x07b", "\x1b[31m"]:
            before = snapshot()
            response = _send(client, method, action, {field: text})
            assert response.status_code == 400, f"{action} {field}={text!r}"
            assert field in response.content.decode()
            assert snapshot() == before


def test_login_refuses_hostile_fields_without_a_5xx(flow):
    client = Client()
    for data in [{}, {"username": "cpo@example.com"}, {"username": ["a", "b"], "password": "x"}]:
        response = client.post("/login/", data)
        assert response.status_code == 200
        assert "errorlist" in response.content.decode() or 'role="alert"' in (
            response.content.decode()
        )
    response = client.post("/login/", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 400 and "username" in response.content.decode()


def test_a_form_post_over_the_body_limit_is_a_413(signed_in, settings):
    client, _ = signed_in
    settings.API_MAX_BODY_BYTES = 10_000
    before = snapshot()
    response = client.post("/account/tokens/", {"name": "x" * 20_000})
    assert response.status_code == 413
    assert snapshot() == before


def test_odd_headers_and_cookies_on_pages_are_no_5xx(signed_in):
    client, _ = signed_in
    odd = {
        "HTTP_HX_REQUEST": "true",
        "HTTP_HX_CURRENT_URL": "\x00",
        "HTTP_HX_TARGET": "'\"><",
        "HTTP_ACCEPT": "\x00;q=x",
        "HTTP_ACCEPT_LANGUAGE": "zz-\x00",
        "HTTP_IF_NONE_MATCH": "garbage",
        "HTTP_AUTHORIZATION": "Bearer \x00",
        "HTTP_COOKIE": 'sessionid="\x00; csrftoken=;;;=',
    }
    for page in [*PAGES, "/login/", "/calendar/x.ics", "/metrics/throughput.csv"]:
        for name, value in odd.items():
            response = client.get(page, **{name: value})
            assert response.status_code < 500, f"{page} {name}={value!r}"


def test_the_refresh_form_keeps_line_breaks_out_of_the_redirect(signed_in):
    client, _ = signed_in
    response = client.post("/metrics/refresh/", {"query": "team=1\r\nX-Injected: yes"})
    assert response.status_code == 302
    assert response["Location"] == "/metrics/?team=1%0D%0AX-Injected%3A+yes"
    assert "X-Injected" not in response.headers
