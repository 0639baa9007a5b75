"""What the Flow Backlog tells a Flow Team's webhooks when a story, epic or dependency changes.

The payload is the changed object as it is after the change, in the API's
field names; it is built only when some endpoint listens.
"""

from backlog.models import Dependency, Epic, Story
from teams.webhooks import webhook_emit, webhook_emit_many, webhook_subscriptions


def _story(story: Story) -> dict:
    return {
        "id": story.pk,
        "version": story.version,
        "scrum_team": story.scrum_team_id,
        "epic": story.epic_id,
        "title": story.title,
        "kind": story.kind,
        "points": story.points,
        "state": story.state,
        "assignee": story.assignee_id,
        "blocked": story.blocked,
        "blocked_reason": story.blocked_reason,
        "rank": story.rank,
    }


def _epic(epic: Epic) -> dict:
    return {
        "id": epic.pk,
        "version": epic.version,
        "title": epic.title,
        "state": epic.state,
        "milestone": epic.milestone_id,
        "rank": epic.rank,
        "feasibility": epic.feasibility,
    }


def _dependency(dependency: Dependency) -> dict:
    return {
        "id": dependency.pk,
        "version": dependency.version,
        "from_story": dependency.from_story_id,
        "from_epic": dependency.from_epic_id,
        "to_story": dependency.to_story_id,
        "to_epic": dependency.to_epic_id,
        "state": dependency.state,
        "needed_by": dependency.needed_by_id,
        "contract": dependency.contract,
        "committed_sprint": dependency.committed_sprint_id,
        "proposed_sprint": dependency.proposed_sprint_id,
    }


PAYLOADS = {
    Story: ("story", _story),
    Epic: ("epic", _epic),
    Dependency: ("dependency", _dependency),
}


def changed(obj, change: str, *, reread: bool = False) -> None:
    """``change`` is created, updated, state_changed, ranked, blocked or unblocked; for a
    dependency's contract also committed, countered, accepted or renegotiated.

    ``reread``: the object was changed by a query (a version bump), not in memory.
    """
    family, payload = PAYLOADS[type(obj)]

    def build():
        return payload(type(obj).objects.get(pk=obj.pk) if reread else obj)

    webhook_emit(flow_team_id=obj.flow_team_id, event=f"{family}.{change}", payload=build)


def changed_many(objs: list, change: str) -> None:
    """``changed`` for several objects of one kind and Flow Team (a rank written for many
    epics at once): one delivery per object and endpoint, in one INSERT."""
    if not objs:
        return
    family, payload = PAYLOADS[type(objs[0])]
    webhook_emit_many(
        flow_team_id=objs[0].flow_team_id,
        events=[(f"{family}.{change}", lambda obj=obj: payload(obj)) for obj in objs],
    )


def listening(obj) -> bool:
    """Whether an active webhook of the object's Flow Team subscribed to its family
    (cached: ``teams.webhooks.webhook_subscriptions``)."""
    family, _ = PAYLOADS[type(obj)]
    return any(family in types for _, types in webhook_subscriptions(flow_team_id=obj.flow_team_id))
