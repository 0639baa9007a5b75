"""Admin pages, scoped by the same role rules as the API and the HTML views.

``FlowTeamScopedAdmin`` is the base for every app's admin: rows of other Flow
Teams are not in the queryset (so their pages are 404), foreign-key choices are
limited to the person's Flow Team, and whether a person may add, change or
delete is answered by ``teams.permissions`` predicates, not by Django's model
permissions. Superusers (the installation's operators) see everything.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Model

from teams import permissions
from teams.models import FlowTeam, Membership, RoleAssignment, ScrumTeam, User
from teams.selectors import actor_for, flow_teams_of


def no_one(actor, obj) -> bool:
    return False


class FlowTeamScopedAdmin(admin.ModelAdmin):
    # Lookup from the model to its FlowTeam ("" when the model is FlowTeam itself).
    flow_team_path = "flow_team"
    # (actor, obj or None) -> may write; obj None asks about adding.
    write_rule = staticmethod(no_one)
    delete_rule = None  # defaults to write_rule

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        lookup = f"{self.flow_team_path}__in" if self.flow_team_path else "pk__in"
        return qs.filter(**{lookup: flow_teams_of(user=request.user)})

    def _flow_team_of(self, obj: Model | None):
        if obj is None:
            return None
        if not self.flow_team_path:
            return obj
        for part in self.flow_team_path.split("__"):
            obj = getattr(obj, part)
        return obj

    def actor(self, request, obj=None):
        cache = request.__dict__.setdefault("_admin_actors", {})
        flow_team = self._flow_team_of(obj)
        key = flow_team.pk if flow_team is not None else None
        if key not in cache:
            cache[key] = actor_for(user=request.user, flow_team=flow_team)
        return cache[key]

    def has_module_permission(self, request):
        return request.user.is_superuser or (
            request.user.is_staff and self.actor(request) is not None
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        if request.user.is_superuser:
            return True
        actor = self.actor(request)
        return actor is not None and self.write_rule(actor, None)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        actor = self.actor(request, obj)
        return actor is not None and self.write_rule(actor, obj)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        actor = self.actor(request, obj)
        rule = self.delete_rule or self.write_rule
        return actor is not None and rule(actor, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Offer only choices from the person's own Flow Team(s)."""
        if not request.user.is_superuser:
            teams = flow_teams_of(user=request.user)
            related = db_field.related_model
            qs = kwargs.get("queryset") or related._default_manager.all()
            if related is FlowTeam:
                kwargs["queryset"] = qs.filter(pk__in=teams)
            elif related is User:
                kwargs["queryset"] = qs.filter(memberships__flow_team__in=teams).distinct()
            elif any(f.name == "flow_team" for f in related._meta.fields):
                kwargs["queryset"] = qs.filter(flow_team__in=teams)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(FlowTeamScopedAdmin):
    """Append-only or computed records: nobody edits them here, superusers included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Only the installation's operators manage accounts."""

    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal = ["groups"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(FlowTeam)
class FlowTeamAdmin(FlowTeamScopedAdmin):
    flow_team_path = ""
    list_display = ["name", "slug", "sprint_length_weeks", "cadence_anchor", "timezone"]
    search_fields = ["name", "slug"]
    # The CSM keeps the cadence; creating Flow Teams is for operators.
    write_rule = staticmethod(
        lambda actor, obj: obj is not None and permissions.can_facilitate(actor)
    )
    delete_rule = staticmethod(no_one)

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["name", "slug"]


@admin.register(ScrumTeam)
class ScrumTeamAdmin(FlowTeamScopedAdmin):
    list_display = ["name", "number", "flow_team"]
    list_filter = ["flow_team"]
    list_select_related = ["flow_team"]
    search_fields = ["name"]
    readonly_fields = ["number"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # New teams take the next free number (1..15) under the Flow Team's lock.
        from teams.services import scrum_team_create

        created = scrum_team_create(flow_team=obj.flow_team, name=obj.name)
        obj.pk, obj.number = created.pk, created.number


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ["role", "scrum_team"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            field = formset.form.base_fields.get("scrum_team")
            if field is not None:
                field.queryset = ScrumTeam.objects.filter(flow_team=obj.flow_team)
        return formset


@admin.register(Membership)
class MembershipAdmin(FlowTeamScopedAdmin):
    list_display = ["user", "flow_team", "seat", "joined_at"]
    list_filter = ["flow_team"]
    list_select_related = ["user", "flow_team"]
    search_fields = ["user__email", "user__full_name"]
    readonly_fields = ["seat"]
    autocomplete_fields = ["user"]
    inlines = [RoleAssignmentInline]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        from teams.services import member_add

        created = member_add(flow_team=obj.flow_team, user=obj.user)
        obj.pk, obj.seat = created.pk, created.seat

    def save_formset(self, request, form, formset, change):
        # Role rows carry their Flow Team so the database can hold "one CPO".
        for instance in formset.save(commit=False):
            instance.flow_team_id = form.instance.flow_team_id
            instance.save()
        for deleted in formset.deleted_objects:
            deleted.delete()


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(FlowTeamScopedAdmin):
    list_display = ["membership", "role", "scrum_team", "flow_team"]
    list_filter = ["role", "flow_team"]
    list_select_related = ["membership__user", "scrum_team", "flow_team"]
    search_fields = ["membership__user__email"]
    raw_id_fields = ["membership"]
