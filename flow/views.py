"""Pages of the flow app: the metrics page, the numbers behind each chart as CSV, and the
button that asks the metrics job to run now. They read snapshots; the job computes."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from flow import selectors, services
from flow.forms import MetricsFilterForm
from flow.metrics import CONVENTIONS, report
from flow.metrics.figures import PERCENTILES
from sem.errors import NotFound, PermissionRefused
from sem.spreadsheet import safe_row
from teams.context_processors import member_actor
from teams.permissions import can_refresh_metrics


def _filtered_report(request, actor):
    """The filter form and the report it selects; a bad filter falls back to the defaults."""
    numbers = list(actor.flow_team.scrum_teams.order_by("number").values_list("number", flat=True))
    form = MetricsFilterForm(request.GET or None, team_numbers=numbers)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        found = selectors.metrics_report(
            actor=actor,
            team_number=filters.get("team"),
            start=filters.get("start"),
            end=filters.get("end"),
        )
    except NotFound as missing:
        raise Http404(str(missing)) from missing
    return form, filters, found


@login_required
@require_GET
def metrics_page(request):
    actor = member_actor(request)
    form, filters, found = _filtered_report(request, actor)
    context = {
        "form": form,
        "report": found,
        "answers": report.answer(found, items=filters.get("items"), by=filters.get("by"))
        if found
        else {},
        "conventions": CONVENTIONS,
        "percentiles": [str(p) for p in PERCENTILES],
        "query": request.GET.urlencode(),
        "can_refresh": can_refresh_metrics(actor),
    }
    # htmx restoring history after a cache miss swaps in what it gets: the whole page.
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "flow/metrics.html#metrics-body" if fragment else "flow/metrics.html"
    return render(request, template, context)


@login_required
@require_GET
def metrics_csv(request, chart: str):
    if chart not in report.CHARTS:
        raise Http404(f"no chart called {chart}")
    actor = member_actor(request)
    _, _, found = _filtered_report(request, actor)
    if found is None:
        raise Http404(selectors.NOT_COMPUTED)
    header, rows = report.table(found, chart)
    scope = f"team-{found['team']}" if found["team"] else actor.flow_team.slug
    name = f"{scope}-{chart}-{found['range']['start']}-to-{found['range']['end']}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(safe_row(header))
    writer.writerows(safe_row(row) for row in rows)
    return response


@login_required
@require_POST
def metrics_refresh(request):
    try:
        services.metrics_refresh_request(actor=member_actor(request))
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    messages.success(
        request, "The metrics job is computing today's figures; they show here when it is done."
    )
    # Re-encoded: a line break in the posted text would otherwise reach the Location header.
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return redirect(reverse("flow:metrics") + (f"?{query}" if query else ""))
