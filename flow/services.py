"""Writes of the flow layer: claiming stories into Team Sprints, the risk register."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backlog.models import Story
from flow.models import FlowSprint, Risk, SprintCommitment, TeamSprint
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from teams.models import Membership
from teams.permissions import Actor, can_work_story, can_write_register


@transaction.atomic
def story_claim(*, actor: Actor, team_sprint: TeamSprint, story: Story) -> SprintCommitment:
    """Commit a story into its team's sprint. Before the sprint starts it counts as planned;
    pulled in later it is tracked but not counted as committed (honest predictability)."""
    if story.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the story is not in this Flow Team", field="story")
    if not can_work_story(actor, story.scrum_team_id):
        raise PermissionRefused("only the owning team claims its stories")
    if team_sprint.scrum_team_id != story.scrum_team_id:
        raise RuleViolation("claim a story into its own team's sprint", field="team_sprint")
    sprint = team_sprint.flow_sprint
    if sprint.state == FlowSprint.State.CLOSED:
        raise RuleViolation("this Flow Sprint is closed", field="team_sprint")
    if story.state == Story.State.DONE:
        raise RuleViolation("the story is already done", field="story")
    if SprintCommitment.objects.filter(team_sprint=team_sprint, story=story).exists():
        raise RuleViolation("the story is already in this Team Sprint", field="story")
    if story.points is None:
        raise RuleViolation("estimate the story before claiming it", field="story")
    planned = sprint.state == FlowSprint.State.PLANNED or sprint.start >= timezone.localdate()
    return SprintCommitment.objects.create(
        team_sprint=team_sprint,
        story=story,
        points_at_planning=story.points,
        planned=planned,
        committed_at=timezone.now(),
        committed_by=actor.user,
    )


RISK_FIELDS = {
    "title",
    "description",
    "owner",
    "impact",
    "roam",
    "mitigation",
    "dependency",
    "scrum_team",
}


def _check_risk(actor: Actor, data: dict) -> None:
    if "title" in data and not str(data["title"]).strip():
        raise RuleViolation("give the risk a title", field="title")
    if data.get("impact") is not None and data["impact"] not in Risk.Impact.values:
        raise RuleViolation("impact is low, medium, high or critical", field="impact")
    if data.get("roam") is not None and data["roam"] not in Risk.Roam.values:
        raise RuleViolation(
            "ROAM state is open, resolved, owned, accepted or mitigated", field="roam"
        )
    owner = data.get("owner")
    if (
        owner is not None
        and not Membership.objects.filter(flow_team_id=actor.flow_team_id, user=owner).exists()
    ):
        raise RuleViolation("the owner is not a member of the Flow Team", field="owner")
    for field in ("dependency", "scrum_team"):
        obj = data.get(field)
        if obj is not None and obj.flow_team_id != actor.flow_team_id:
            raise RuleViolation(
                f"the {field.replace('_', ' ')} is not in this Flow Team", field=field
            )
    if data.get("roam") == Risk.Roam.MITIGATED and not (data.get("mitigation") or "").strip():
        raise RuleViolation("a mitigated risk has a mitigation plan", field="mitigation")


@transaction.atomic
def risk_create(*, actor: Actor, title: str, **data) -> Risk:
    unknown = set(data) - RISK_FIELDS
    if unknown:
        raise RuleViolation("unknown or read-only field", field=sorted(unknown)[0])
    team = data.get("scrum_team")
    if not can_write_register(actor, team.pk if team else None):
        raise PermissionRefused("only the CPO, CSM, Architect, or a team's PO and SM record risks")
    _check_risk(actor, {"title": title, **data})
    return Risk.objects.create(flow_team_id=actor.flow_team_id, title=title.strip(), **data)


@transaction.atomic
def risk_update(
    *, actor: Actor, risk: Risk, data: dict, expected_version: int | None = None
) -> Risk:
    risk = Risk.objects.select_for_update().get(pk=risk.pk)
    if expected_version is not None and risk.version != expected_version:
        raise VersionConflict(risk.version)
    if not can_write_register(actor, risk.scrum_team_id):
        raise PermissionRefused("only the CPO, CSM, Architect, or the team's PO and SM edit it")
    refused = sorted(set(data) - RISK_FIELDS)
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    merged = {"mitigation": risk.mitigation, **data}
    _check_risk(actor, merged)
    for field, value in data.items():
        setattr(risk, field, value)
    risk.updated_at = timezone.now()
    Risk.objects.filter(pk=risk.pk).update(
        version=F("version") + 1, updated_at=risk.updated_at, **data
    )
    risk.version += 1
    return risk
