"""Events and their records in the admin (see teams/admin.py).

The CSM moves or cancels an event here through ``events.services`` (the cadence
job then leaves it as the CSM left it); a team's Scrum of Scrums answers are
written through ``sos_report_update``. Retros, action items, notes, cards and
feedback have no service that edits them: here they are read-only.
"""

from django.contrib import admin

from events import services
from events.models import (
    ActionItem,
    CalendarFeed,
    DailyScrumNote,
    Event,
    RetroCard,
    Retrospective,
    ReviewFeedback,
    ScrumOfScrumsReport,
)
from sem.errors import RuleViolation
from teams import permissions
from teams.admin import (
    FlowTeamListFilter,
    FlowTeamScopedAdmin,
    ReadOnlyAdmin,
    VersionedAdminForm,
)

SCHEDULE_FIELDS = ["starts_at", "duration_minutes", "state"]


@admin.register(Event)
class EventAdmin(FlowTeamScopedAdmin):
    list_display = ["__str__", "flow_sprint", "starts_at", "duration_minutes", "state"]
    list_filter = ["kind", "state", "level", FlowTeamListFilter]
    list_select_related = ["flow_sprint", "scrum_team"]
    date_hierarchy = "starts_at"
    write_rule = staticmethod(
        lambda actor, obj: obj is not None and permissions.can_facilitate(actor)
    )

    def get_readonly_fields(self, request, obj=None):
        # Only the schedule is the CSM's to change here; the rest is the calendar's plan.
        fields = [f.name for f in Event._meta.fields if f.name not in ("id", "flow_team")]
        return [f for f in fields if f not in SCHEDULE_FIELDS]

    def service_change(self, request, actor, obj, data, expected_version):
        if "state" in data:
            if data["state"] != Event.State.CANCELLED or set(data) - {"state"}:
                raise RuleViolation(
                    "here an event is moved or cancelled; its other states follow the calendar",
                    field="state",
                )
            return services.event_cancel(actor=actor, event=Event.objects.get(pk=obj.pk))
        if not data:
            return obj
        return services.event_move(
            actor=actor,
            event=Event.objects.get(pk=obj.pk),
            starts_at=data.get("starts_at", obj.starts_at),
            duration_minutes=data.get("duration_minutes"),
        )


@admin.register(ScrumOfScrumsReport)
class ScrumOfScrumsReportAdmin(FlowTeamScopedAdmin):
    form = VersionedAdminForm
    flow_team_path = "event__flow_team"
    list_display = ["scrum_team", "event", "submitted_by", "updated_at"]
    list_select_related = ["scrum_team", "event__scrum_team", "submitted_by"]
    readonly_fields = ["event", "scrum_team", "submitted_by", "version"]
    write_rule = staticmethod(
        lambda actor, obj: (
            obj is not None and permissions.can_write_sos_report(actor, obj.scrum_team_id)
        )
    )

    def service_change(self, request, actor, obj, data, expected_version):
        return services.sos_report_update(
            actor=actor, report=obj, data=data, expected_version=expected_version
        )


@admin.register(ActionItem)
class ActionItemAdmin(ReadOnlyAdmin):
    flow_team_path = "event__flow_team"
    list_display = [
        "text", "scrum_team", "priority", "owner", "due_date", "metric", "done", "event",
    ]  # fmt: skip
    list_filter = ["done"]
    list_select_related = ["owner", "scrum_team", "event__scrum_team"]


@admin.register(DailyScrumNote)
class DailyScrumNoteAdmin(ReadOnlyAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["person", "event", "updated_at"]
    list_select_related = ["person", "event__scrum_team"]


@admin.register(Retrospective)
class RetrospectiveAdmin(ReadOnlyAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["event", "format", "phase", "votes_per_person"]
    list_select_related = ["event__scrum_team"]


@admin.register(RetroCard)
class RetroCardAdmin(ReadOnlyAdmin):
    flow_team_path = "retrospective__event__flow_team"
    list_display = ["text", "column", "retrospective"]
    list_select_related = ["retrospective__event__scrum_team"]


@admin.register(ReviewFeedback)
class ReviewFeedbackAdmin(ReadOnlyAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["text", "author", "event", "backlog_story"]
    list_select_related = ["author", "event__scrum_team", "backlog_story"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    list_display = ["user", "scope", "flow_team", "created_at"]
    list_select_related = ["user", "flow_team"]
