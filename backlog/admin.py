"""The Flow Backlog in the admin: every save calls ``backlog.services`` (see teams/admin.py).

What no service writes is read-only here: a Product Goal's statement, a
milestone once planned, states and ranks (the board and the API move them,
with their history), the text of an existing acceptance criterion.
"""

from django.contrib import admin

from backlog import services
from backlog.models import (
    AcceptanceCriterion,
    Blocker,
    Dependency,
    DependencyStep,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    StateChange,
    Story,
    Task,
)
from sem.errors import RuleViolation, VersionConflict
from teams import permissions
from teams.admin import (
    FlowTeamListFilter,
    FlowTeamScopedAdmin,
    ReadOnlyAdmin,
    ServiceInline,
    VersionedAdminForm,
)


def roadmap(actor, obj):
    return permissions.can_manage_roadmap(actor)


@admin.register(ProductGoal)
class ProductGoalAdmin(FlowTeamScopedAdmin):
    list_display = ["statement", "status", "target_date", "flow_team"]
    list_filter = ["status", FlowTeamListFilter]
    list_select_related = ["flow_team"]
    write_rule = staticmethod(roadmap)

    def get_readonly_fields(self, request, obj=None):
        # Once set, a goal is only closed (achieved or abandoned).
        return [] if obj is None else ["statement", "target_date"]

    def get_exclude(self, request, obj=None):
        return [*super().get_exclude(request, obj), *(["status"] if obj is None else [])]

    def service_add(self, request, actor, data):
        return services.product_goal_create(
            actor=actor, statement=data["statement"], target_date=data.get("target_date")
        )

    def service_change(self, request, actor, obj, data, expected_version):
        if "status" not in data:
            return obj
        return services.product_goal_close(actor=actor, goal=obj, status=data["status"])


@admin.register(Milestone)
class MilestoneAdmin(FlowTeamScopedAdmin):
    list_display = ["name", "start", "end", "order", "flow_team"]
    list_filter = [FlowTeamListFilter]
    list_select_related = ["flow_team"]
    readonly_fields = ["order"]
    # Planned here; a planned milestone is not rewritten (no service changes one).
    write_rule = staticmethod(lambda actor, obj: obj is None and roadmap(actor, obj))

    def service_add(self, request, actor, data):
        return services.milestone_create(
            actor=actor,
            name=data["name"],
            objective=data["objective"],
            start=data["start"],
            end=data["end"],
        )


@admin.register(Epic)
class EpicAdmin(FlowTeamScopedAdmin):
    form = VersionedAdminForm
    list_display = ["title", "state", "rank", "wsjf", "feasibility", "milestone", "flow_team"]
    list_filter = ["state", "feasibility", FlowTeamListFilter]
    list_select_related = ["milestone", "flow_team"]
    search_fields = ["title"]
    # The CPO shapes the roadmap; the Architect assesses feasibility only.
    write_rule = staticmethod(
        lambda actor, obj: (
            permissions.can_manage_roadmap(actor)
            or (obj is not None and permissions.can_assess_feasibility(actor))
        )
    )

    def get_readonly_fields(self, request, obj=None):
        # State and rank move through their services (history, one-row moves).
        readonly = ["state", "rank", "version"]
        actor = self.actor(request, obj)
        if actor is None or not permissions.can_manage_roadmap(actor):
            readonly += sorted(services.EPIC_ROADMAP_FIELDS)
        if obj is None or actor is None or not permissions.can_assess_feasibility(actor):
            readonly += sorted(services.EPIC_ARCHITECT_FIELDS)
        return readonly

    def service_add(self, request, actor, data):
        fields = {f: data[f] for f in services.EPIC_ROADMAP_FIELDS if f in data and f != "title"}
        return services.epic_create(actor=actor, title=data["title"], **fields)

    def service_change(self, request, actor, obj, data, expected_version):
        return services.epic_update(
            actor=actor, epic=obj, data=data, expected_version=expected_version
        )


class AcceptanceCriterionInline(ServiceInline):
    model = AcceptanceCriterion
    fields = ["position", "text", "checked"]
    add_rule = delete_rule = staticmethod(
        lambda actor, story: permissions.can_edit_story(actor, story.scrum_team_id)
    )
    change_rule = staticmethod(
        lambda actor, story: (
            permissions.can_edit_story(actor, story.scrum_team_id)
            or permissions.can_work_story(actor, story.scrum_team_id)
        )
    )

    def get_readonly_fields(self, request, obj=None):
        # The CPO and the team write criteria; only the team checks them.
        actor = self._parent_admin().actor(request, obj)
        readonly = ["position"]
        if obj is None or actor is None or not permissions.can_edit_story(actor, obj.scrum_team_id):
            readonly.append("text")
        if obj is None or actor is None or not permissions.can_work_story(actor, obj.scrum_team_id):
            readonly.append("checked")
        return readonly

    def save_rows(self, request, actor, story, formset):
        for form in formset.deleted_forms:
            if form.instance.pk is not None:
                services.criterion_delete(actor=actor, criterion=form.instance)
        for form in formset.forms:
            if form in formset.deleted_forms or not form.has_changed():
                continue
            criterion = form.instance
            if criterion.pk is None:
                added = services.criterion_add(actor=actor, story=story, text=criterion.text)
                if form.cleaned_data.get("checked"):
                    services.criterion_check(actor=actor, criterion=added, checked=True)
                continue
            if "text" in form.changed_data:
                raise RuleViolation(
                    "an acceptance criterion is not rewritten; delete it and add the new one",
                    field="criteria",
                )
            if "checked" in form.changed_data:
                services.criterion_check(
                    actor=actor,
                    criterion=AcceptanceCriterion.objects.get(pk=criterion.pk),
                    checked=form.cleaned_data["checked"],
                )


class TaskInline(ServiceInline):
    model = Task
    fields = ["title", "assignee", "done"]
    raw_id_fields = ["assignee"]
    add_rule = change_rule = staticmethod(
        lambda actor, story: permissions.can_work_story(actor, story.scrum_team_id)
    )

    def save_rows(self, request, actor, story, formset):
        for form in formset.forms:
            if form in formset.deleted_forms or not form.has_changed():
                continue
            task = form.instance
            if task.pk is None:
                added = services.task_create(
                    actor=actor, story=story, title=task.title, assignee=task.assignee
                )
                if task.done:
                    services.task_update(actor=actor, task=added, data={"done": True})
            else:
                data = {f: form.cleaned_data[f] for f in form.changed_data}
                services.task_update(actor=actor, task=Task.objects.get(pk=task.pk), data=data)


@admin.register(Story)
class StoryAdmin(FlowTeamScopedAdmin):
    form = VersionedAdminForm
    list_display = ["title", "scrum_team", "state", "kind", "points", "blocked", "assignee"]
    list_filter = ["state", "kind", "blocked", FlowTeamListFilter]
    list_select_related = ["scrum_team", "assignee"]
    search_fields = ["title"]
    raw_id_fields = ["epic", "assignee"]
    inlines = [AcceptanceCriterionInline, TaskInline]
    write_rule = staticmethod(
        lambda actor, obj: (
            obj is not None
            and (
                permissions.can_edit_story(actor, obj.scrum_team_id)
                or permissions.can_work_story(actor, obj.scrum_team_id)
            )
        )
    )

    def get_readonly_fields(self, request, obj=None):
        # The workflow (Definition of Ready/Done, history) and ranks run through the board
        # and the API; each role writes only its own fields.
        readonly = ["scrum_team", "state", "rank", "blocked", "blocked_reason", "version"]
        actor = self.actor(request, obj)
        if obj is None or actor is None or not permissions.can_edit_story(actor, obj.scrum_team_id):
            readonly += sorted(services.STORY_PLANNING_FIELDS)
        if obj is None or actor is None or not permissions.can_work_story(actor, obj.scrum_team_id):
            readonly += sorted(services.STORY_WORK_FIELDS)
        return readonly

    def service_change(self, request, actor, obj, data, expected_version):
        if data:
            return services.story_update(
                actor=actor, story=obj, data=data, expected_version=expected_version
            )
        # Only the criteria or tasks changed: they must not land on a newer story either.
        current = Story.objects.select_for_update().get(pk=obj.pk)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(current.version)
        return current


@admin.register(Dependency)
class DependencyAdmin(FlowTeamScopedAdmin):
    form = VersionedAdminForm
    list_display = ["__str__", "state", "needed_by", "flow_team"]
    list_filter = ["state", FlowTeamListFilter]
    list_select_related = [
        "from_story",
        "from_epic",
        "to_story",
        "to_epic",
        "needed_by",
        "flow_team",
    ]
    raw_id_fields = ["from_story", "from_epic", "to_story", "to_epic"]
    write_rule = staticmethod(
        lambda actor, obj: permissions.can_write_register(
            actor, obj.from_story.scrum_team_id if obj is not None and obj.from_story else None
        )
    )

    # The contract moves only through its steps (the API; the planning board later).
    CONTRACT = ["contract", "committed_sprint", "proposed_sprint"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["state", *self.CONTRACT, "version"]
        return ["from_story", "from_epic", "to_story", "to_epic", *self.CONTRACT, "version"]

    def service_add(self, request, actor, data):
        return services.dependency_create(
            actor=actor,
            source=data.get("from_story") or data.get("from_epic"),
            target=data.get("to_story") or data.get("to_epic"),
            needed_by=data.get("needed_by"),
            description=data.get("description", ""),
        )

    def service_change(self, request, actor, obj, data, expected_version):
        return services.dependency_update(
            actor=actor, dependency=obj, data=data, expected_version=expected_version
        )


@admin.register(StateChange)
class StateChangeAdmin(ReadOnlyAdmin):
    """Append-only history: nobody adds, edits or deletes rows here."""

    list_display = ["at", "story", "epic", "from_state", "to_state", "by"]
    list_filter = ["to_state", FlowTeamListFilter]
    list_select_related = ["story", "epic", "by"]
    date_hierarchy = "at"


@admin.register(DependencyStep)
class DependencyStepAdmin(ReadOnlyAdmin):
    """Append-only record of each dependency's contract: nobody adds, edits or deletes rows."""

    flow_team_path = "dependency__flow_team"
    list_display = ["at", "kind", "dependency", "flow_sprint", "by"]
    list_filter = ["kind", FlowTeamListFilter]
    list_select_related = [
        "dependency__from_story",
        "dependency__from_epic",
        "dependency__to_story",
        "dependency__to_epic",
        "flow_sprint",
        "by",
    ]
    date_hierarchy = "at"


@admin.register(RoadmapChange)
class RoadmapChangeAdmin(ReadOnlyAdmin):
    """Append-only record of epic and milestone changes: nobody adds, edits or deletes rows."""

    list_display = ["at", "kind", "epic", "milestone", "by"]
    list_filter = ["kind", FlowTeamListFilter]
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

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["story"]

    def service_add(self, request, actor, data):
        task = services.task_create(
            actor=actor, story=data["story"], title=data["title"], assignee=data.get("assignee")
        )
        if data.get("done"):
            task = services.task_update(actor=actor, task=task, data={"done": True})
        return task

    def service_change(self, request, actor, obj, data, expected_version):
        return services.task_update(actor=actor, task=Task.objects.get(pk=obj.pk), data=data)
