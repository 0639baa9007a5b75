from datetime import date

from flow.models import FlowSprint
from teams.models import FlowTeam


def flow_sprint_current(*, flow_team: FlowTeam, today: date | None = None) -> FlowSprint | None:
    """The Flow Sprint whose dates hold today (in the Flow Team's timezone)."""
    today = today or flow_team.today()
    return (
        FlowSprint.objects.filter(flow_team=flow_team, start__lte=today, end__gte=today)
        .exclude(state=FlowSprint.State.CLOSED)
        .first()
    )
