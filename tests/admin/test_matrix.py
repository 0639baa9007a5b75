"""Every admin page of every registered model, as each staff role, with a second Flow Team
present: the list, add, change, history and delete pages. The models come from the admin's
own registry, so a new admin cannot escape. One test per role walks every model (building
two Flow Teams per model would take minutes); a failure names the model and the page."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin.conftest import LIBRARY_APPS, STAFF_ROLES, build_samples, foreign_marks

pytestmark = pytest.mark.django_db

MISSING_ID = 987654321

# What each role may add and change here (domain.md "Who may do what", through the services).
ADD = {
    "cpo": {"productgoal", "milestone", "epic", "dependency", "risk"},
    "csm": {"dependency", "risk"},
    "architect": {"dependency", "risk"},
}
CHANGE = {
    "cpo": {"productgoal", "epic", "story", "dependency", "risk"},
    "csm": {"flowteam", "dependency", "risk", "event", "scrumofscrumsreport"},
    "architect": {"epic", "dependency", "risk"},
}


def registered():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


def project_models():
    return [m for m in registered() if m._meta.app_label not in LIBRARY_APPS]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


class Findings(list):
    def check(self, ok, where):
        if not ok:
            self.append(where)


def foreign_in(html, world) -> list[str]:
    """Foreign names, texts and change links found in a page."""
    found = [mark for mark in foreign_marks(world) if mark in html]
    for name, obj in world.theirs.items():
        model = type(obj)
        if model in admin.site._registry and obj.pk != world.mine[name].pk:
            link = url(model, "change", obj.pk)
            if f'href="{link}"' in html:
                found.append(link)
    return found


def test_every_project_model_has_samples(world):
    names = {m._meta.model_name for m in project_models()}
    assert names <= set(world.mine), names - set(world.mine)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_pages_of_every_model(client, world, role):
    client.force_login(world.flow.users[role])
    bad = Findings()
    for model in registered():
        label = model._meta.label
        name = model._meta.model_name
        changelist = client.get(url(model, "changelist"))
        add = client.get(url(model, "add"))
        if model._meta.app_label in LIBRARY_APPS:
            bad.check(changelist.status_code == 403, f"{label} changelist {changelist.status_code}")
            bad.check(add.status_code == 403, f"{label} add {add.status_code}")
            continue
        bad.check(changelist.status_code == 200, f"{label} changelist {changelist.status_code}")
        html = changelist.content.decode()
        bad.check(
            not foreign_in(html, world), f"{label} changelist shows {foreign_in(html, world)}"
        )
        own = world.mine[name]
        bad.check(f'href="{url(model, "change", own.pk)}' in html, f"{label} changelist lacks own")

        may_add = name in ADD[role]
        bad.check(add.status_code == (200 if may_add else 403), f"{label} add {add.status_code}")
        if may_add:
            html = add.content.decode()
            bad.check(not foreign_in(html, world), f"{label} add shows {foreign_in(html, world)}")

        change = client.get(url(model, "change", own.pk))
        bad.check(change.status_code == 200, f"{label} change {change.status_code}")
        html = change.content.decode()
        bad.check(not foreign_in(html, world), f"{label} change shows {foreign_in(html, world)}")
        editable = 'name="_save"' in html
        bad.check(editable == (name in CHANGE[role]), f"{label} change editable={editable}")

        history = client.get(url(model, "history", own.pk))
        bad.check(history.status_code == 200, f"{label} history {history.status_code}")
        html = history.content.decode()
        bad.check(not foreign_in(html, world), f"{label} history shows {foreign_in(html, world)}")
        # Nothing is deleted here: no service records a deletion.
        delete = client.get(url(model, "delete", own.pk))
        bad.check(delete.status_code == 403, f"{label} delete {delete.status_code}")
    assert not bad, bad


def answer(client, response):
    """What a person sees: the status, where it sends them, and the message (ids blanked)."""
    messages = []
    if response.status_code == 302 and "/admin/" in response["Location"]:
        page = client.get(response["Location"]).content.decode()
        messages = [
            re.sub(r"“[^”]*”", "“…”", m) for m in re.findall(r"<li class=\"\w+\">(.*?)</li>", page)
        ]
    return response.status_code, response.get("Location"), messages


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_foreign_objects_answer_as_missing_ones(client, world, role):
    client.force_login(world.flow.users[role])
    bad = Findings()
    for model in project_models():
        theirs = world.theirs[model._meta.model_name]
        for view in ("change", "history", "delete"):
            where = f"{model._meta.label} {view}"
            foreign = client.get(url(model, view, theirs.pk))
            seen = answer(client, foreign)
            expected = answer(client, client.get(url(model, view, MISSING_ID)))
            bad.check(seen == expected, f"{where}: {seen} != {expected}")
            if foreign.status_code == 302:
                html = client.get(foreign["Location"]).content.decode()
                bad.check(not foreign_in(html, world), f"{where} then shows foreign")
            # A forged POST answers the same, and writes nothing.
            data = {"post": "yes", "title": "Hijack"}
            a = answer(client, client.post(url(model, view, theirs.pk), data))
            b = answer(client, client.post(url(model, view, MISSING_ID), data))
            bad.check(a == b, f"{where} POST {a} != {b}")
            bad.check(type(theirs).objects.filter(pk=theirs.pk).exists(), f"{where} deleted it")
    assert not bad, bad


def test_non_staff_member_is_sent_to_sign_in(client, world):
    client.force_login(world.flow.po1)
    for model in registered():
        for response in (
            client.get(url(model, "changelist")),
            client.get(
                url(model, "change", world.mine.get(model._meta.model_name, world.flow.cpo).pk)
            ),
        ):
            assert response.status_code == 302 and "/login/" in response["Location"], model


def test_changelist_queries_do_not_grow_with_rows(client, world):
    client.force_login(world.flow.cpo)
    before = {}
    for model in project_models():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(model, "changelist")).status_code == 200
        before[model] = len(queries)
    for n in range(3):
        build_samples(world.flow, f"More{n}")
    grew = {}
    for model in project_models():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(model, "changelist")).status_code == 200
        if len(queries) > before[model]:
            grew[model._meta.label] = (before[model], len(queries))
    assert not grew, grew


def test_every_project_admin_writes_through_the_services():
    """A new admin cannot slip a plain ``obj.save()`` in: every project admin and inline
    uses the service-calling save paths of teams/admin.py, and none edits in the list."""
    from teams.admin import FlowTeamScopedAdmin, ServiceInline, UserAdmin

    for model in project_models():
        model_admin = admin.site._registry[model]
        label = model._meta.label
        assert isinstance(model_admin, (FlowTeamScopedAdmin, UserAdmin)), label
        assert not model_admin.list_editable, label
        base = UserAdmin if isinstance(model_admin, UserAdmin) else FlowTeamScopedAdmin
        for method in ("save_model", "save_formset", "delete_model", "delete_queryset"):
            assert getattr(type(model_admin), method) is getattr(base, method), (label, method)
        for inline in model_admin.inlines:
            if issubclass(inline, ServiceInline):
                assert inline.save_rows is not ServiceInline.save_rows or (
                    inline.add_rule is inline.change_rule is inline.delete_rule
                ), inline
            else:
                instance = inline(model, admin.site)
                assert not instance.has_add_permission(None, None), inline
                assert not instance.has_change_permission(None), inline
                assert not instance.has_delete_permission(None), inline
