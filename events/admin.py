from django.contrib import admin

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
from events.services import event_live_key
from sem.live import live_bump
from teams import permissions
from teams.admin import FlowTeamScopedAdmin, ReadOnlyAdmin


def facilitator(actor, obj):
    return permissions.can_facilitate(actor)


@admin.register(Event)
class EventAdmin(FlowTeamScopedAdmin):
    list_display = ["__str__", "flow_sprint", "starts_at", "duration_minutes", "state"]
    list_filter = ["kind", "state", "level", "flow_team"]
    list_select_related = ["flow_sprint", "scrum_team"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["facilitator"]
    write_rule = staticmethod(facilitator)
    # Running an event and its outputs go through the event screen's services (started
    # and ended together with their times, outputs with their version).
    readonly_fields = [
        "state",
        "started_at",
        "ended_at",
        "recorded_outputs",
        "outputs_version",
        "outputs_recorded_at",
        "outputs_recorded_by",
    ]

    def save_model(self, request, obj, form, change):
        # A CSM's move or cancel sticks: the cadence job leaves the event alone after it.
        if change and {"starts_at", "duration_minutes", "state"} & set(form.changed_data):
            obj.rescheduled_by_hand = True
        super().save_model(request, obj, form, change)
        # Open screens of the event show the change (the admin's save is one transaction).
        live_bump(event_live_key(obj.pk))


@admin.register(ScrumOfScrumsReport)
class ScrumOfScrumsReportAdmin(FlowTeamScopedAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["scrum_team", "event", "submitted_by", "updated_at"]
    list_select_related = ["scrum_team", "event", "submitted_by"]
    write_rule = staticmethod(
        lambda actor, obj: (
            obj is not None and permissions.can_write_sos_report(actor, obj.scrum_team_id)
        )
    )


@admin.register(ActionItem)
class ActionItemAdmin(FlowTeamScopedAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["text", "owner", "due_date", "done", "event"]
    list_filter = ["done"]
    list_select_related = ["owner", "event"]
    raw_id_fields = ["event", "owner", "improvement_story"]
    write_rule = staticmethod(facilitator)


@admin.register(DailyScrumNote)
class DailyScrumNoteAdmin(ReadOnlyAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["person", "event", "updated_at"]
    list_select_related = ["person", "event"]


@admin.register(Retrospective)
class RetrospectiveAdmin(FlowTeamScopedAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["event", "format", "phase", "votes_per_person"]
    list_select_related = ["event"]
    write_rule = staticmethod(
        lambda actor, obj: obj is not None and permissions.can_facilitate(actor)
    )


@admin.register(RetroCard)
class RetroCardAdmin(ReadOnlyAdmin):
    flow_team_path = "retrospective__event__flow_team"
    list_display = ["text", "column", "retrospective"]
    list_select_related = ["retrospective__event"]


@admin.register(ReviewFeedback)
class ReviewFeedbackAdmin(ReadOnlyAdmin):
    flow_team_path = "event__flow_team"
    list_display = ["text", "author", "event", "backlog_story"]
    list_select_related = ["author", "event", "backlog_story"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    list_display = ["user", "scope", "flow_team", "created_at"]
    list_select_related = ["user", "flow_team"]
