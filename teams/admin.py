"""Admin pages: one more door to the same services, scoped by the same role rules.

``FlowTeamScopedAdmin`` is the base for every app's admin:

- Rows of other Flow Teams are not in the queryset, so their change and history
  pages answer exactly as a missing id does; list filters offer only the person's
  Flow Team(s); foreign-key choices, raw-id labels and autocomplete lists come
  from the person's Flow Team only.
- Whether a person may add or change is answered by ``teams.permissions``
  predicates, not by Django's model permissions. Superusers (the installation's
  operators) see everything, but write domain objects only through the role
  they hold in that Flow Team: the services need an actor.
- Nothing is saved with ``obj.save()``: an admin says which service adds
  (``service_add``) and which changes (``service_change``); without them the page is
  read-only. A service's refusal comes back as an error on the form, and the
  whole save (inlines and the log entry included) is rolled back.
- Versioned objects carry the version the form was loaded with, so an admin
  edit cannot overwrite a newer change (the API's If-Match).
- Nothing is deleted here: no service records a deletion, so the delete pages
  and the bulk action are refused (inlines that delete through a service say so).
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Model

from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from teams import permissions, services
from teams.models import FlowTeam, Membership, RoleAssignment, ScrumTeam, User
from teams.selectors import actor_for, flow_teams_of

REFUSALS = (RuleViolation, PermissionRefused, VersionConflict)


def no_one(actor, obj) -> bool:
    return False


def refusal_errors(exc: Exception, model) -> list[tuple[str | None, str]]:
    """A service's refusal as (field or None, message) pairs for a form."""
    if isinstance(exc, VersionConflict):
        name = model._meta.verbose_name
        return [
            (
                None,
                f"This {name} changed since you opened it (it is now version "
                f"{exc.current_version}); nothing was saved. Reload the page to see the change.",
            )
        ]
    if isinstance(exc, PermissionRefused):
        return [(None, f"Not saved: {exc}.")]
    return [
        (field, message) for field, messages_ in exc.message_dict.items() for message in messages_
    ]


class RefusalFormMixin:
    """Shows a service's refusal as errors when the admin renders the posted form again."""

    service_refusal = None

    def clean(self):
        cleaned = super().clean()
        if self.service_refusal is not None:
            for field, message in refusal_errors(self.service_refusal, self._meta.model):
                if field in self.fields:
                    self.add_error(field, message)
                else:
                    label = "" if field in (None, "non_field_errors") else f"{field}: "
                    self.add_error(None, f"{label}{message}")
        return cleaned


class ServiceAdminForm(RefusalFormMixin, forms.ModelForm):
    pass


class ServiceRefusalMixin:
    """Saves run inside the admin's transaction; a service's refusal rolls it all back
    (inlines and the log entry included) and the posted form is shown again with it."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, "_admin_refusal", None)
        if refusal is not None:
            bases = (form,) if issubclass(form, RefusalFormMixin) else (RefusalFormMixin, form)
            form = type(form.__name__, bases, {"service_refusal": refusal})
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as exc:
            if request.method != "POST" or getattr(request, "_admin_refusal", None):
                raise
            request._admin_refusal = exc
            return super().changeform_view(request, object_id, form_url, extra_context)


class VersionedAdminForm(ServiceAdminForm):
    """Carries the version the page was loaded with; the service refuses a stale one."""

    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # A change always names the version it was made on (a post without one is forged).
            self.fields["expected_version"].required = True
            self.initial.setdefault("expected_version", self.instance.version)


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id input that names the chosen row only when it is one the person may see.

    Django's widget looks the id up in the whole table, so a posted foreign id
    would be shown back with its name on an invalid form.
    """

    def __init__(self, rel, admin_site, queryset, attrs=None, using=None):
        self.queryset = queryset
        super().__init__(rel, admin_site, attrs=attrs, using=using)

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            visible = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            return "", ""
        return super().label_and_url_for_value(value) if visible else ("", "")


def users_of(teams):
    return User.objects.filter(memberships__flow_team__in=teams).distinct()


def request_actor(request, flow_team=None):
    """The person as seen in a Flow Team (their first if none is named), once per request:
    the admin asks for every model of the index and every row's permission."""
    cache = request.__dict__.setdefault("_admin_actors", {})
    key = flow_team.pk if flow_team is not None else None
    if key not in cache:
        user = request.user
        actor = actor_for(user=user, flow_team=flow_team) if user.pk is not None else None
        cache[key] = actor
        if actor is not None:
            cache.setdefault(actor.flow_team_id, actor)
    return cache[key]


class FlowTeamChoicesMixin:
    """Foreign-key choices (selects, raw ids, autocomplete) from the person's Flow Team(s)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            teams = flow_teams_of(user=request.user)
            related = db_field.related_model
            qs = kwargs.get("queryset")
            if qs is None:
                qs = related._default_manager.all()
            if related is FlowTeam:
                qs = qs.filter(pk__in=teams)
            elif related is User:
                qs = qs.filter(pk__in=users_of(teams))
            elif any(f.name == "flow_team" for f in related._meta.fields):
                qs = qs.filter(flow_team__in=teams)
            else:
                qs = qs.none()  # a relation without a known path to its Flow Team shows nothing
            kwargs["queryset"] = qs
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and type(field.widget) is ForeignKeyRawIdWidget:
            field.widget = ScopedRawIdWidget(
                db_field.remote_field, self.admin_site, field.queryset, using=kwargs.get("using")
            )
        return field


class FlowTeamListFilter(admin.SimpleListFilter):
    """Filter by Flow Team, offering only the person's own: a foreign id filters to nothing,
    exactly like an id that does not exist."""

    title = "Flow Team"
    parameter_name = "flow_team"

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        teams = (
            FlowTeam.objects.all()
            if request.user.is_superuser
            else flow_teams_of(user=request.user)
        )
        return [(str(pk), name) for pk, name in teams.values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not (value.isascii() and value.isdigit()):
            return queryset.none()  # like any id that is no Flow Team of theirs, not a 500
        path = self.model_admin.flow_team_path or "pk"
        return queryset.filter(**{path: value})


class FlowTeamScopedAdmin(ServiceRefusalMixin, FlowTeamChoicesMixin, admin.ModelAdmin):
    form = ServiceAdminForm
    # Lookup from the model to its FlowTeam ("" when the model is FlowTeam itself).
    flow_team_path = "flow_team"
    # (actor, obj or None) -> may write; obj None asks about adding.
    write_rule = staticmethod(no_one)
    # What the installation's operators (superusers) do here without an actor: structure
    # (Flow Teams, Scrum Teams, members) is theirs. Anything else needs a role.
    operator_writes: frozenset = frozenset()

    # --- what the person sees ----------------------------------------------------

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
        return request_actor(request, self._flow_team_of(obj))

    def has_module_permission(self, request):
        return request.user.is_superuser or (
            request.user.is_staff and self.actor(request) is not None
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def operator_may(self, request, operation: str) -> bool:
        return request.user.is_superuser and operation in self.operator_writes

    def _may_write(self, request, obj, operation) -> bool:
        if self.operator_may(request, operation):
            return True
        actor = self.actor(request, obj)
        return actor is not None and self.write_rule(actor, obj)

    def has_add_permission(self, request):
        adds = type(self).service_add is not FlowTeamScopedAdmin.service_add
        return adds and self._may_write(request, None, "add")

    def has_change_permission(self, request, obj=None):
        changes = type(self).service_change is not FlowTeamScopedAdmin.service_change
        return changes and self._may_write(request, obj, "change")

    def has_delete_permission(self, request, obj=None):
        # No service records a deletion: refused for everyone (bulk action included).
        return False

    # --- writes through the services ---------------------------------------------

    def service_add(self, request, actor, data: dict):
        """Add through a service; returns the new object."""
        raise PermissionRefused("this is not added in the admin")

    def service_change(self, request, actor, obj, data: dict, expected_version: int | None):
        """Change through a service; ``data`` holds the changed fields only."""
        raise PermissionRefused("this is not changed in the admin")

    def changed_data(self, form) -> dict:
        return {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name != "expected_version" and name in form.cleaned_data
        }

    def save_model(self, request, obj, form, change):
        actor = None
        if not self.operator_may(request, "change" if change else "add"):
            actor = self.actor(request, obj if change else None)
            if actor is None:
                raise PermissionRefused("you are not a member of this Flow Team")
        if change:
            saved = self.service_change(
                request,
                actor,
                obj,
                self.changed_data(form),
                form.cleaned_data.get("expected_version"),
            )
        else:
            saved = self.service_add(request, actor, dict(form.cleaned_data))
        # The admin goes on with ``obj`` (log entry, redirect, inlines): give it the saved row.
        for field in type(saved)._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        """Inlines write through their own ``save_through_services``; otherwise refused."""
        # What the admin's change message reads (Django's formset.save() would set it).
        deleted = [f for f in formset.deleted_forms if f.instance.pk is not None]
        kept = [f for f in formset.forms if f not in formset.deleted_forms and f.has_changed()]
        formset.deleted_objects = [f.instance for f in deleted]
        formset.new_objects = [f.instance for f in kept if f.instance.pk is None]
        formset.changed_objects = [(f.instance, f.changed_data) for f in kept if f.instance.pk]
        save = getattr(formset, "save_through_services", None)
        if save is not None:
            save(request=request, parent=form.instance, formset=formset)
        elif formset.has_changed():
            raise PermissionRefused("these rows are not changed in the admin")

    def delete_model(self, request, obj):
        raise PermissionRefused("nothing is deleted in the admin")

    def delete_queryset(self, request, queryset):
        raise PermissionRefused("nothing is deleted in the admin")

    def get_exclude(self, request, obj=None):
        # A domain object's Flow Team is the actor's, set by the service: never a form field.
        exclude = list(super().get_exclude(request, obj) or [])
        if not self.operator_writes and self.flow_team_path == "flow_team":
            exclude.append("flow_team")
        return exclude


def log_entries_of(request):
    """The admin index's "Recent actions": only entries about objects the person sees now
    (someone who left a Flow Team keeps no list of its objects' names). One query."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField, Q
    from django.db.models.functions import Cast

    entries = LogEntry.objects.select_related("content_type", "user")
    if request.user.is_superuser:
        return entries
    visible = Q(pk__in=[])
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, (FlowTeamScopedAdmin, UserAdmin)):
            ids = model_admin.get_queryset(request).values(t=Cast("pk", CharField()))
            visible |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)
    return entries.filter(visible)


class ReadOnlyAdmin(FlowTeamScopedAdmin):
    """Records nobody edits here, superusers included: append-only history, computed
    figures, and what is written only on the pages or through the API."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceInline(FlowTeamChoicesMixin, admin.TabularInline):
    """An inline that the parent's rules open, and that writes through services.

    ``add_rule``, ``change_rule`` and ``delete_rule`` take (actor, parent);
    ``save_rows`` gets the formset after validation and calls the services.
    """

    extra = 0
    add_rule = staticmethod(no_one)
    change_rule = staticmethod(no_one)
    delete_rule = staticmethod(no_one)

    def _parent_admin(self):
        return self.admin_site._registry[self.parent_model]

    def _allowed(self, request, obj, rule) -> bool:
        parent = self._parent_admin()
        if parent.operator_may(request, "change"):
            return True
        actor = parent.actor(request, obj)
        return obj is not None and actor is not None and rule(actor, obj)

    def has_view_permission(self, request, obj=None):
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj):
        return self._allowed(request, obj, self.add_rule)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj, self.change_rule)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj, self.delete_rule)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        inline, parent_admin = self, self._parent_admin()

        def save_through_services(fs, *, request, parent, formset):
            actor = None
            if not parent_admin.operator_may(request, "change"):
                actor = parent_admin.actor(request, parent)
            inline.save_rows(request, actor, parent, formset)

        return type(formset.__name__, (formset,), {"save_through_services": save_through_services})

    def save_rows(self, request, actor, parent, formset):
        raise PermissionRefused("these rows are not changed in the admin")


# --- People and structure -------------------------------------------------------------


@admin.register(User)
class UserAdmin(ServiceRefusalMixin, BaseUserAdmin):
    """Operators manage accounts. Staff see (read-only) the people of their Flow Team(s),
    so raw-id and autocomplete lookups of people work, and list nobody else."""

    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = []

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk__in=users_of(flow_teams_of(user=request.user)))

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return [(None, {"fields": ["email", "full_name"]})]

    def get_list_filter(self, request):
        return self.list_filter if request.user.is_superuser else []

    def has_module_permission(self, request):
        return request.user.is_superuser or (
            request.user.is_staff and request_actor(request) is not None
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are deactivated, never deleted: their history names them

    def save_model(self, request, obj, form, change):
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in services.USER_FIELDS}
            saved = services.user_update(user=User.objects.get(pk=obj.pk), data=data)
        else:
            saved = services.user_create(
                email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
            )
        for field in User._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False


@admin.register(FlowTeam)
class FlowTeamAdmin(FlowTeamScopedAdmin):
    flow_team_path = ""
    list_display = ["name", "slug", "sprint_length_weeks", "cadence_anchor", "timezone"]
    search_fields = ["name", "slug"]
    # Operators create Flow Teams; the CSM keeps the cadence settings.
    operator_writes = frozenset({"add"})
    write_rule = staticmethod(
        lambda actor, obj: obj is not None and permissions.can_facilitate(actor)
    )

    def get_readonly_fields(self, request, obj=None):
        # The scheduled Flow Sprints and every link hang off the anchor and the slug.
        return [] if obj is None else ["slug", "cadence_anchor"]

    def get_exclude(self, request, obj=None):
        return ["description"] if obj is None else []

    def service_add(self, request, actor, data):
        return services.flow_team_create(
            name=data["name"],
            slug=data["slug"],
            cadence_anchor=data["cadence_anchor"],
            sprint_length_weeks=data["sprint_length_weeks"],
            timezone=data["timezone"],
            working_weekdays=weekdays_of(data["working_days_mask"]),
        )

    def service_change(self, request, actor, obj, data, expected_version):
        if "working_days_mask" in data:
            data["working_weekdays"] = weekdays_of(data.pop("working_days_mask"))
        return services.flow_team_update(actor=actor, flow_team=obj, data=data)


def weekdays_of(mask: int) -> list[int]:
    return [d for d in range(7) if (mask or 0) & (1 << d)]


@admin.register(ScrumTeam)
class ScrumTeamAdmin(FlowTeamScopedAdmin):
    list_display = ["name", "number", "flow_team"]
    list_filter = [FlowTeamListFilter]
    list_select_related = ["flow_team"]
    search_fields = ["name"]
    operator_writes = frozenset({"add", "change"})

    def get_readonly_fields(self, request, obj=None):
        return ["number"] if obj is None else ["number", "flow_team"]

    def service_add(self, request, actor, data):
        # New teams take the next free number (1..15) under the Flow Team's lock.
        return services.scrum_team_create(flow_team=data["flow_team"], name=data["name"])

    def service_change(self, request, actor, obj, data, expected_version):
        return services.scrum_team_rename(scrum_team=obj, name=data.get("name", obj.name))


class RoleAssignmentInline(ServiceInline):
    model = RoleAssignment
    fields = ["role", "scrum_team"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            field = formset.form.base_fields.get("scrum_team")
            if field is not None:
                field.queryset = ScrumTeam.objects.filter(flow_team=obj.flow_team)
        return formset

    def save_rows(self, request, actor, parent, formset):
        # A changed row is the old role revoked and the new one assigned.
        deleted = set(formset.deleted_forms)
        for form in formset.forms:
            if form.instance.pk and (form in deleted or form.has_changed()):
                old = RoleAssignment.objects.get(pk=form.instance.pk)
                services.role_revoke(membership=parent, role=old.role, scrum_team=old.scrum_team)
            if form in deleted or not form.has_changed():
                continue
            try:
                services.role_assign(
                    membership=parent,
                    role=form.cleaned_data["role"],
                    scrum_team=form.cleaned_data.get("scrum_team"),
                )
            except RuleViolation as exc:
                raise RuleViolation(
                    "; ".join(m for ms in exc.message_dict.values() for m in ms), field="roles"
                ) from exc


@admin.register(Membership)
class MembershipAdmin(FlowTeamScopedAdmin):
    list_display = ["user", "flow_team", "seat", "joined_at"]
    list_filter = [FlowTeamListFilter]
    list_select_related = ["user", "flow_team"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["user"]
    inlines = [RoleAssignmentInline]
    operator_writes = frozenset({"add", "change"})

    def get_readonly_fields(self, request, obj=None):
        return ["seat"] if obj is None else ["seat", "user", "flow_team"]

    def service_add(self, request, actor, data):
        return services.member_add(flow_team=data["flow_team"], user=data["user"])

    def service_change(self, request, actor, obj, data, expected_version):
        return obj  # the person and the Flow Team are fixed; the roles are the inline's


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    """Roles are given and taken on the membership's page (through the services)."""

    list_display = ["membership", "role", "scrum_team", "flow_team"]
    list_filter = ["role", FlowTeamListFilter]
    list_select_related = ["membership__user", "membership__flow_team", "scrum_team", "flow_team"]
    search_fields = ["membership__user__email"]


admin.site.get_log_entries = log_entries_of
