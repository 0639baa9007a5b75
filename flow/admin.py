from django.contrib import admin

from flow.models import FlowSprint, MetricSnapshot, Risk, SprintCommitment, TeamSprint
from teams import permissions
from teams.admin import FlowTeamScopedAdmin, ReadOnlyAdmin


def facilitator(actor, obj):
    return permissions.can_facilitate(actor)


def register_writer(actor, risk) -> bool:
    """CPO, CSM, Architect; a PO or SM for their own team's risks (or a new one)."""
    if risk is not None and risk.scrum_team_id is not None:
        return permissions.can_write_register(actor, risk.scrum_team_id)
    teams = [None, *actor.team_roles] if risk is None else [None]
    return any(permissions.can_write_register(actor, t) for t in teams)


class TeamSprintInline(admin.TabularInline):
    model = TeamSprint
    extra = 0
    fields = ["scrum_team", "goal", "capacity_days", "capacity_points"]
    readonly_fields = ["scrum_team"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FlowSprint)
class FlowSprintAdmin(FlowTeamScopedAdmin):
    list_display = ["__str__", "flow_team", "start", "end", "state", "goal"]
    list_filter = ["state", "flow_team"]
    list_select_related = ["flow_team"]
    readonly_fields = ["closed_at"]
    inlines = [TeamSprintInline]
    write_rule = staticmethod(facilitator)


@admin.register(TeamSprint)
class TeamSprintAdmin(FlowTeamScopedAdmin):
    flow_team_path = "flow_sprint__flow_team"
    list_display = ["__str__", "goal", "capacity_days", "capacity_points"]
    list_select_related = ["flow_sprint", "scrum_team"]
    write_rule = staticmethod(
        lambda actor, obj: (
            obj is not None
            and (actor.is_csm or permissions.can_write_register(actor, obj.scrum_team_id))
        )
    )


@admin.register(SprintCommitment)
class SprintCommitmentAdmin(ReadOnlyAdmin):
    flow_team_path = "team_sprint__flow_sprint__flow_team"
    list_display = ["story", "team_sprint", "points_at_planning", "planned", "outcome"]
    list_filter = ["outcome", "planned"]
    list_select_related = ["story", "team_sprint__flow_sprint", "team_sprint__scrum_team"]


@admin.register(Risk)
class RiskAdmin(FlowTeamScopedAdmin):
    list_display = ["title", "impact", "roam", "owner", "scrum_team", "flow_team"]
    list_filter = ["roam", "impact", "flow_team"]
    list_select_related = ["owner", "scrum_team", "flow_team"]
    search_fields = ["title"]
    readonly_fields = ["version"]
    raw_id_fields = ["dependency"]
    write_rule = staticmethod(lambda actor, obj: register_writer(actor, obj))


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "flow_team", "scrum_team", "computed_at"]
    list_filter = ["flow_team"]
    list_select_related = ["flow_team", "scrum_team"]
