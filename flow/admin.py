"""Sprints, commitments and the risk register in the admin (see teams/admin.py).

Flow Sprints and Team Sprints are read-only here: the cadence job makes them, a
closed sprint's figures are frozen, and no service of ``flow.services`` edits a
sprint's goal or capacity yet. Risks are written through ``flow.services``.
"""

from django.contrib import admin

from flow import services
from flow.models import FlowSprint, MetricSnapshot, Risk, SprintCommitment, TeamSprint
from teams import permissions
from teams.admin import FlowTeamListFilter, FlowTeamScopedAdmin, ReadOnlyAdmin, VersionedAdminForm


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
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return self.admin_site._registry[FlowSprint].has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FlowSprint)
class FlowSprintAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "flow_team", "start", "end", "state", "goal"]
    list_filter = ["state", FlowTeamListFilter]
    list_select_related = ["flow_team"]
    inlines = [TeamSprintInline]


@admin.register(TeamSprint)
class TeamSprintAdmin(ReadOnlyAdmin):
    flow_team_path = "flow_sprint__flow_team"
    list_display = ["__str__", "goal", "capacity_days", "capacity_points"]
    list_select_related = ["flow_sprint", "scrum_team"]


@admin.register(SprintCommitment)
class SprintCommitmentAdmin(ReadOnlyAdmin):
    flow_team_path = "team_sprint__flow_sprint__flow_team"
    list_display = ["story", "team_sprint", "points_at_planning", "planned", "outcome"]
    list_filter = ["outcome", "planned"]
    list_select_related = ["story", "team_sprint__flow_sprint", "team_sprint__scrum_team"]


@admin.register(Risk)
class RiskAdmin(FlowTeamScopedAdmin):
    form = VersionedAdminForm
    list_display = ["title", "impact", "roam", "owner", "scrum_team", "flow_team"]
    list_filter = ["roam", "impact", FlowTeamListFilter]
    list_select_related = ["owner", "scrum_team", "flow_team"]
    search_fields = ["title"]
    readonly_fields = ["version", "updated_by"]
    raw_id_fields = ["dependency"]
    write_rule = staticmethod(lambda actor, obj: register_writer(actor, obj))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "scrum_team" and field is not None:
            # A PO or SM files risks in their own team's register only.
            actor = self.actor(request)
            if actor is not None and not permissions.can_write_register(actor):
                field.queryset = field.queryset.filter(
                    pk__in=[t for t in actor.team_roles if permissions.can_write_register(actor, t)]
                )
                field.required, field.empty_label = True, None
        return field

    def service_add(self, request, actor, data):
        fields = {f: data[f] for f in services.RISK_FIELDS if f in data and f != "title"}
        return services.risk_create(actor=actor, title=data["title"], **fields)

    def service_change(self, request, actor, obj, data, expected_version):
        return services.risk_update(
            actor=actor, risk=obj, data=data, expected_version=expected_version
        )


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "flow_team", "scrum_team", "computed_at"]
    list_filter = [FlowTeamListFilter]
    list_select_related = ["flow_team", "scrum_team"]
