"""Team Sprint Planning (services.py writes, selectors.py reads): members' available days,
the capacity that follows from them, the team sprint goal, and planning stories into the
Team Sprint up to its capacity.

The capacity in points is proposed from the team's recent velocity (flow/planning.py's
``team_velocity``: the mean done points of the last three closed sprints) scaled by the
days the members can give against the days a full team would; the team's PO or SM sets
it. A story that would take the planned points past a set capacity is refused, naming
the capacity; with no capacity set the load bar only shows the load.

The writes check the roles (teams/permissions.py), raise sem.errors and bump the Team
Sprint's live key; planning a story goes on through flow.services.story_plan (its
Definition of Ready check), tasks through backlog.services.
"""
