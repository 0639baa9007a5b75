"""Reads of improvement items: a backlog's open items in priority order with their age and
their metric then and now, the recently done ones, and the metric values themselves (from
the newest metric snapshot of the item's scope: the Flow Team's, or its Scrum Team's)."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from events.models import ActionItem
from flow.metrics.improvement import BY_KEY, metric_value, movement
from flow.models import MetricSnapshot

# How far back the backlog pages list done items.
DONE_SHOWN_DAYS = 90


def _latest_snapshot(flow_team_id: int, scrum_team_id: int | None):
    return (
        MetricSnapshot.objects.filter(flow_team_id=flow_team_id, scrum_team_id=scrum_team_id)
        .order_by("-as_of")
        .values("as_of", "data")
        .first()
    )


def metric_now(flow_team_id: int, scrum_team_id: int | None, metric: str):
    """(value, as_of) of one metric in the newest snapshot of the scope; (None, None)
    without a snapshot or a value."""
    snapshot = _latest_snapshot(flow_team_id, scrum_team_id)
    if snapshot is None:
        return None, None
    value = metric_value(snapshot["data"], metric)
    return value, (snapshot["as_of"] if value is not None else None)


def _age(item: ActionItem, today) -> int:
    """Days open: until today, or until the day it was done."""
    end = timezone.localdate(item.done_at) if item.done else today
    return (end - timezone.localdate(item.created_at)).days


def _decorate(items: list[ActionItem], snapshot, today) -> list[ActionItem]:
    data = snapshot["data"] if snapshot else None
    for item in items:
        item.age_days = _age(item, today)
        item.overdue = not item.done and item.due_date is not None and item.due_date < today
        item.metric_info = None
        if item.metric:
            now = metric_value(data, item.metric)
            item.metric_info = {
                "label": BY_KEY[item.metric].label,
                "unit": BY_KEY[item.metric].unit,
                "before": item.metric_before,
                "before_as_of": item.metric_before_as_of,
                "now": now,
                "now_as_of": snapshot["as_of"] if snapshot and now is not None else None,
                "movement": movement(item.metric, item.metric_before, now),
            }
    return items


def improvement_backlog(*, flow_team_id: int, scrum_team_id: int | None, today=None) -> dict:
    """One backlog (the Flow Backlog when ``scrum_team_id`` is None): open items in priority
    order, then those done in the last ``DONE_SHOWN_DAYS`` days, newest first. Three
    queries whatever the number of items."""
    today = today or timezone.localdate()
    items = ActionItem.objects.filter(
        event__flow_team_id=flow_team_id, scrum_team_id=scrum_team_id
    ).select_related("owner", "done_by", "event__flow_sprint", "event__scrum_team")
    open_items = list(items.filter(done=False).order_by("priority", "created_at", "pk"))
    since = timezone.now() - timedelta(days=DONE_SHOWN_DAYS)
    done_items = list(items.filter(done=True, done_at__gte=since).order_by("-done_at", "-pk"))
    snapshot = _latest_snapshot(flow_team_id, scrum_team_id)
    return {
        "open": _decorate(open_items, snapshot, today),
        "done": _decorate(done_items, snapshot, today),
        "snapshot_as_of": snapshot["as_of"] if snapshot else None,
    }


def open_counts(*, flow_team_id: int) -> dict[int | None, int]:
    """Open items per backlog (None = the Flow Backlog), for the tabs: one query."""
    rows = (
        ActionItem.objects.filter(event__flow_team_id=flow_team_id)
        .values("scrum_team_id")
        .annotate(open=Count("pk", filter=Q(done=False)))
    )
    return {row["scrum_team_id"]: row["open"] for row in rows}
