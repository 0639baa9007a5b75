"""The architecture's rules that code review alone would let slip (architecture.md, Layers).

1. Services are the only way to write. Every module of the apps is scanned (AST) for ORM
   writes; outside ``services.py`` each one must be in ``ALLOWED_WRITES`` with its reason,
   and an entry that no longer matches anything fails too, so the list only shrinks.
2. The admin is an interface like the others: a ModelAdmin that lets anyone add, change
   or delete must route that through its own ``save_model`` / ``delete_model`` /
   ``save_formset`` (which call services), not Django's defaults, which write directly.
3. A lower app never imports a higher one (sem < teams < backlog < flow < events).
"""

import ast
import pathlib

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.test import RequestFactory

from teams.models import User

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ["sem", "teams", "backlog", "flow", "events"]

# Calls that write whatever they are called on.
ORM_WRITES = {
    "save",
    "create",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "save_model",
    "delete_model",
    "save_formset",
    "save_related",
    "delete_queryset",
    "execute",  # raw SQL
}
# Calls that write when made on a queryset, a manager or a model instance (a dict has an
# update() too): flagged unless called on a plain name that is not a queryset.
AMBIGUOUS_WRITES = {"update", "delete"}
QUERYSET_HINTS = {"objects", "filter", "exclude", "all", "select_for_update", "get_queryset"}

# (path, enclosing function or "*") -> why it may write outside services.py.
ALLOWED_WRITES = {
    # Services by another name: the webhook commands (register, pause, remove, deliver) live
    # beside their signing and sending code; each one checks the actor like any service.
    ("teams/webhooks.py", "*"): "webhook services",
    # Django's auth contract: create_user hashes the password; user_create is its service.
    ("teams/models.py", "UserManager._create_user"): "auth manager, called by user_create",
    # One UPDATE renumbering a list, only ever called by the rank services under their lock.
    ("backlog/ranking.py", "rebalance"): "called by epic_rank_move / story_rank_move",
    # The demo data loader behind `manage.py seed`: bulk rows for a fresh installation.
    ("events/seeding.py", "*"): "the seed command's loader",
    # A service (actor, rule, transaction) kept beside the feed it issues tokens for.
    ("events/feeds.py", "calendar_feed_rotate"): "calendar feed token service",
    # The live version bump (one upsert statement), called by the services inside their
    # transaction: it is part of their write, as live.md says.
    ("sem/live.py", "live_bump"): "called by services in their transaction",
    # The health check's SELECT 1: a read through a cursor.
    ("sem/views.py", "_database_ok"): "health check reads",
    # Hand-written SELECTs of the hottest reads (the token's person, the story a PATCH
    # changes): reads through a cursor, called by selectors only.
    ("sem/raw_rows.py", "fetch_rows"): "selectors' hand-written reads",
    # The story move statement, prepared once per connection: run by the move services
    # (backlog.services.story_move_at_version / story_move_by_token) in their transaction.
    ("sem/raw_rows.py", "fetch_rows_prepared"): "the move services' one statement",
}


def app_modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text())


def _chain(node) -> list[str]:
    """Names along a receiver: X.objects.filter(...).update -> ["X", "objects", "filter"]."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names[::-1]
        else:
            return names[::-1]


class WriteFinder(ast.NodeVisitor):
    def __init__(self):
        self.scope: list[str] = []
        self.querysets: set[str] = set()  # names assigned from a queryset in this module
        self.found: list[tuple[str, int, str]] = []

    def _enter(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _enter

    def visit_Assign(self, node):
        if QUERYSET_HINTS & set(_chain(node.value)):
            self.querysets.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = _chain(func.value)
            write = func.attr in ORM_WRITES or (
                func.attr in AMBIGUOUS_WRITES
                and (
                    func.attr == "delete"
                    or QUERYSET_HINTS & set(receiver)
                    or (len(receiver) == 1 and receiver[0] in self.querysets)
                    or len(receiver) > 1  # obj.related.update(...), self.x.update(...)
                )
            )
            if write:
                where = ".".join(self.scope) or "<module>"
                self.found.append((where, node.lineno, ast.unparse(node)[:80]))
        self.generic_visit(node)


def writes_outside_services():
    for path, tree in app_modules():
        if path.endswith("/services.py"):
            continue
        finder = WriteFinder()
        finder.visit(tree)
        for where, line, code in finder.found:
            yield path, where, line, code


def _allowed(path, where):
    for key in ((path, "*"), (path, where)):
        if key in ALLOWED_WRITES:
            return key
    # A nested function is allowed with its enclosing one.
    for (allowed_path, name), _ in ALLOWED_WRITES.items():
        if allowed_path == path and where.startswith(name + "."):
            return allowed_path, name
    return None


def test_services_are_the_only_writers():
    bypasses = [
        f"{path}:{line} in {where}: {code}"
        for path, where, line, code in writes_outside_services()
        if _allowed(path, where) is None
    ]
    assert not bypasses, "write through a service instead:\n" + "\n".join(bypasses)


def test_every_allowed_write_still_exists():
    used = {_allowed(path, where) for path, where, _, _ in writes_outside_services()}
    stale = set(ALLOWED_WRITES) - used
    assert not stale, f"remove these allow-list entries, nothing writes there now: {stale}"


def test_the_scan_sees_a_write_in_a_view():
    """The scanner itself: the writes a view could sneak in are found, a dict's are not."""
    source = """
def view(request, story, qs):
    story.save()
    Story.objects.filter(pk=1).update(title="x")
    stories = Story.objects.filter(flow_team=1)
    stories.update(title="x")
    story.delete()
    Task.objects.create(story=story)
    story.criteria.update(checked=True)
    context = {}
    context.update(title="x")
    super().save_model(request, story, None, True)
"""
    finder = WriteFinder()
    finder.visit(ast.parse(source))
    assert [line for _, line, _ in finder.found] == [3, 4, 6, 7, 8, 9, 12]


# --- The admin ------------------------------------------------------------------------------

# Admins that write through Django's defaults (label -> which), each allowed with why.
ADMIN_DEFAULT_WRITES_ALLOWED: dict[str, list[str]] = {}
# Still on Django's defaults while being moved onto services (none left; the list only shrinks).
ADMIN_PENDING: dict[str, list[str]] = {}


def _superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User(email="op@example.com", is_superuser=True, is_staff=True)
    return request


def admin_default_writers():
    """ModelAdmins of the apps that can add, change or delete through Django's defaults."""
    request = _superuser_request()
    found = {}
    for model, model_admin in admin.site._registry.items():
        label = f"{model._meta.app_label}.{model.__name__}"
        if model._meta.app_label not in LAYERS:
            continue
        cls = type(model_admin)
        saves = model_admin.has_add_permission(request) or model_admin.has_change_permission(
            request
        )
        default = []
        if saves and cls.save_model is ModelAdmin.save_model:
            default.append("save_model")
        if model_admin.has_delete_permission(request) and (
            cls.delete_model is ModelAdmin.delete_model
        ):
            default.append("delete_model")
        inlines = [inline(model, admin.site) for inline in model_admin.inlines]
        if (
            any(
                i.has_add_permission(request, None)
                or i.has_change_permission(request)
                or i.has_delete_permission(request)
                for i in inlines
            )
            and cls.save_formset is ModelAdmin.save_formset
        ):
            default.append("save_formset")
        if default:
            found[label] = default
    return found


@pytest.mark.django_db
def test_the_admin_writes_through_its_own_overrides():
    found = admin_default_writers()
    allowed = {**ADMIN_DEFAULT_WRITES_ALLOWED, **ADMIN_PENDING}
    bypasses = {
        label: [how for how in ways if how not in allowed.get(label, ())]
        for label, ways in found.items()
    }
    bypasses = {label: ways for label, ways in bypasses.items() if ways}
    assert not bypasses, f"these admins write with Django's defaults, not services: {bypasses}"
    stale = {
        label: [how for how in ways if how not in found.get(label, ())]
        for label, ways in allowed.items()
    }
    stale = {label: ways for label, ways in stale.items() if ways}
    assert not stale, f"remove these entries, the admin no longer writes by default: {stale}"


# --- Layers -----------------------------------------------------------------------------------


def _imported_apps(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in LAYERS:
                yield node.lineno, top


# sem may name the apps only to route to them (URL includes are strings).
LAYER_EXCEPTIONS: dict[tuple[str, str], str] = {}


def test_no_lower_app_imports_a_higher_one():
    upward = []
    for path, tree in app_modules():
        layer = LAYERS.index(path.split("/")[0])
        for line, app in _imported_apps(tree):
            if LAYERS.index(app) > layer and (path, app) not in LAYER_EXCEPTIONS:
                upward.append(f"{path}:{line} imports {app}")
    assert not upward, "\n".join(upward)
