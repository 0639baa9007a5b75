"""The product backlog page: epics with their stories per Scrum Team, and splitting an
epic into stories at refinement. Reads through selectors, writes through story_create."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from backlog import selectors, services
from backlog.forms import BacklogFilterForm, StorySplitForm
from backlog.models import STORY_POINTS
from sem.errors import PermissionRefused, RuleViolation
from teams.context_processors import member_actor
from teams.permissions import can_edit_story

# A refusal of the service names its own field; the form calls some of them otherwise.
SERVICE_FIELDS = {
    "scrum_team": "team",
    "title": "title",
    "criteria": "criteria",
    "points": "points",
}


def _filters(request, teams):
    """The filter form and the filters it selects; a bad filter falls back to none."""
    form = BacklogFilterForm(request.GET or None, teams=teams)
    filters = form.cleaned_data if form.is_valid() else {}
    return form, {"states": filters.get("state") or (), "team_number": filters.get("team")}


def _where(form) -> dict:
    """Which page of the list the query string asks for (a bad one: the first)."""
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return {"page": data.get("page") or 1, "without_epic": bool(data.get("without_epic"))}


def _filter_query(form) -> str:
    """The filters alone, for the links to other pages of the list."""
    if not form.is_bound:
        return ""
    kept = form.data.copy()
    for name in ("page", "without_epic"):
        kept.pop(name, None)
    return kept.urlencode()


def _page_context(request, actor, *, split_epic_id=None, split_form=None):
    teams = list(actor.flow_team.scrum_teams.order_by("number"))
    form, filters = _filters(request, teams)
    return {
        "form": form,
        "board": selectors.backlog_board(actor=actor, **filters, **_where(form)),
        "filter_query": _filter_query(form),
        "split_teams": [t for t in teams if can_edit_story(actor, t.pk)],
        "points_scale": STORY_POINTS,
        "query": form.data.urlencode() if form.is_bound else "",
        "selected_states": list(filters["states"]),
        "split_epic_id": split_epic_id,
        "split_form": split_form,
    }


@login_required
@require_GET
def backlog_page(request):
    context = _page_context(request, member_actor(request))
    # htmx restoring history after a cache miss swaps in what it gets: the whole page.
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "backlog/backlog.html#backlog-body" if fragment else "backlog/backlog.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response


class _BadRequest(Exception):
    def __init__(self, field, reason):
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


def _epic_id(request) -> int:
    raw = request.POST.get("epic", "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise _BadRequest("epic", "name the epic to split by its number")
    return int(raw)


def _bad_request(request, refusal):
    return render(
        request,
        "400.html",
        {"status": 400, "field": refusal.field, "reason": refusal.reason},
        status=400,
    )


@login_required
@require_POST
def story_split(request):
    """One story of an epic, for a team the person may write stories for. htmx gets the
    form back (fresh, or with the refusal and the person's text) and the epic's stories;
    a plain post is redirected to the page (or gets the page again with the refusal)."""
    actor = member_actor(request)
    teams = list(actor.flow_team.scrum_teams.order_by("number"))
    writable = [t for t in teams if can_edit_story(actor, t.pk)]
    if not writable:
        raise PermissionDenied("only the CPO and a team's PO, SM and developers create stories")
    try:
        epic_id = _epic_id(request)
    except _BadRequest as refusal:
        return _bad_request(request, refusal)
    epic = selectors.epic_of_flow_team(actor=actor, epic_id=epic_id)
    if epic is None:
        raise Http404("no such epic")
    team_raw = request.POST.get("team", "")
    if team_raw.isascii() and team_raw.isdigit() and int(team_raw) not in {t.pk for t in teams}:
        raise Http404("no such Scrum Team")
    form = StorySplitForm(request.POST, teams=writable)
    story = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            story = services.story_create(
                actor=actor,
                scrum_team=next(t for t in writable if t.pk == data["team"]),
                title=data["title"],
                criteria=data["criteria"],
                points=data["points"],
                epic=epic,
            )
        except RuleViolation as refusal:
            for name, reasons in refusal.detail.items():
                for reason in reasons:
                    form.add_error(SERVICE_FIELDS.get(name), reason)
        except PermissionRefused as refused:
            form.add_error("team", str(refused))
    if story is not None and not request.htmx:
        messages.success(request, f"Added “{story.title}” to {story.scrum_team.name}.")
        query = QueryDict(request.GET.urlencode()).urlencode()
        url = reverse("backlog:backlog") + (f"?{query}" if query else "")
        return redirect(f"{url}#epic-{epic.pk}")
    if not request.htmx:
        return render(
            request,
            "backlog/backlog.html",
            _page_context(request, actor, split_epic_id=epic.pk, split_form=form),
        )
    filter_form, filters = _filters(request, teams)
    board = selectors.backlog_board(actor=actor, epic_id=epic.pk, **filters)
    added = None
    if story is not None:
        added = story
        added.ready_gaps = selectors.definition_of_ready_gaps(
            points=story.points, criteria_count=len(data["criteria"])
        )
    return render(
        request,
        "backlog/backlog.html#split-answer",
        {
            "item": board["epics"][0],
            "epic": epic,
            "split_form": None if story else form,
            "split_teams": writable,
            "points_scale": STORY_POINTS,
            "query": request.GET.urlencode(),
            "added": added,
            "form": filter_form,
            "selected_states": list(filters["states"]),
        },
    )
