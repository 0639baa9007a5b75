from django.contrib import admin

from backlog import services
from backlog.models import (
    AcceptanceCriterion,
    Blocker,
    Dependency,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    StateChange,
    Story,
    Task,
)
from teams import permissions
from teams.admin import FlowTeamScopedAdmin, ReadOnlyAdmin


def roadmap(actor, obj):
    return permissions.can_manage_roadmap(actor)


@admin.register(ProductGoal)
class ProductGoalAdmin(FlowTeamScopedAdmin):
    list_display = ["statement", "status", "target_date", "flow_team"]
    list_filter = ["status", "flow_team"]
    list_select_related = ["flow_team"]
    write_rule = staticmethod(roadmap)


@admin.register(Milestone)
class MilestoneAdmin(FlowTeamScopedAdmin):
    list_display = ["name", "start", "end", "order", "flow_team"]
    list_filter = ["flow_team"]
    list_select_related = ["flow_team"]
    write_rule = staticmethod(roadmap)


@admin.register(Epic)
class EpicAdmin(FlowTeamScopedAdmin):
    list_display = ["title", "state", "rank", "wsjf", "feasibility", "milestone", "flow_team"]
    list_filter = ["state", "feasibility", "flow_team"]
    list_select_related = ["milestone", "flow_team"]
    search_fields = ["title"]
    # The CPO shapes the roadmap; the Architect assesses feasibility only.
    write_rule = staticmethod(
        lambda actor, obj: (
            permissions.can_manage_roadmap(actor)
            or (obj is not None and permissions.can_assess_feasibility(actor))
        )
    )
    delete_rule = staticmethod(roadmap)

    def get_readonly_fields(self, request, obj=None):
        # State and rank move through their services (history, one-row moves).
        readonly = ["state", "rank", "version"]
        actor = self.actor(request, obj)
        if request.user.is_superuser or actor is None:
            return readonly
        if not permissions.can_manage_roadmap(actor):
            readonly += sorted(services.EPIC_ROADMAP_FIELDS | {"flow_team"})
        if not permissions.can_assess_feasibility(actor):
            readonly += sorted(services.EPIC_ARCHITECT_FIELDS)
        return readonly

    def has_add_permission(self, request):
        # New epics need a rank and a first history row: the roadmap and the API make them.
        return False


class AcceptanceCriterionInline(admin.TabularInline):
    model = AcceptanceCriterion
    extra = 0
    fields = ["position", "text", "checked"]


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ["title", "assignee", "done"]
    raw_id_fields = ["assignee"]


@admin.register(Story)
class StoryAdmin(FlowTeamScopedAdmin):
    list_display = ["title", "scrum_team", "state", "kind", "points", "blocked", "assignee"]
    list_filter = ["state", "kind", "blocked", "scrum_team__flow_team"]
    list_select_related = ["scrum_team", "assignee"]
    search_fields = ["title"]
    raw_id_fields = ["epic", "assignee"]
    # The workflow (Definition of Ready/Done, history) runs through the board and the API.
    readonly_fields = ["state", "rank", "blocked", "blocked_reason", "version"]
    inlines = [AcceptanceCriterionInline, TaskInline]
    write_rule = staticmethod(
        lambda actor, obj: obj is not None and permissions.can_edit_story(actor, obj.scrum_team_id)
    )

    def has_add_permission(self, request):
        # New stories need a rank and a first history row: the backlog and the API make them.
        return False

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "scrum_team"]


@admin.register(Dependency)
class DependencyAdmin(FlowTeamScopedAdmin):
    list_display = ["__str__", "state", "needed_by", "flow_team"]
    list_filter = ["state", "flow_team"]
    list_select_related = [
        "from_story",
        "from_epic",
        "to_story",
        "to_epic",
        "needed_by",
        "flow_team",
    ]
    raw_id_fields = ["from_story", "from_epic", "to_story", "to_epic"]
    readonly_fields = ["version"]
    write_rule = staticmethod(
        lambda actor, obj: permissions.can_write_register(
            actor, obj.from_story.scrum_team_id if obj is not None and obj.from_story else None
        )
    )


@admin.register(StateChange)
class StateChangeAdmin(ReadOnlyAdmin):
    """Append-only history: nobody adds, edits or deletes rows here."""

    list_display = ["at", "story", "epic", "from_state", "to_state", "by"]
    list_filter = ["to_state", "flow_team"]
    list_select_related = ["story", "epic", "by"]
    date_hierarchy = "at"


@admin.register(RoadmapChange)
class RoadmapChangeAdmin(ReadOnlyAdmin):
    """Append-only record of epic and milestone changes: nobody adds, edits or deletes rows."""

    list_display = ["at", "kind", "epic", "milestone", "by"]
    list_filter = ["kind", "flow_team"]
    list_select_related = ["epic", "milestone", "by"]
    date_hierarchy = "at"


@admin.register(Blocker)
class BlockerAdmin(ReadOnlyAdmin):
    flow_team_path = "story__flow_team"
    list_display = ["story", "reason", "raised_at", "cleared_at"]
    list_select_related = ["story"]


@admin.register(Task)
class TaskAdmin(FlowTeamScopedAdmin):
    flow_team_path = "story__flow_team"
    list_display = ["title", "story", "assignee", "done"]
    list_select_related = ["story", "assignee"]
    raw_id_fields = ["story", "assignee"]
    write_rule = staticmethod(
        lambda actor, obj: (
            bool(actor.team_roles)
            if obj is None
            else permissions.can_work_story(actor, obj.story.scrum_team_id)
        )
    )
