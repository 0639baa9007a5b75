"""Gap-based ranks: moving one item writes one row.

Ranks are spaced ``GAP`` apart. A move takes the midpoint between the new
neighbours. When two neighbours touch, the whole list is renumbered in one
UPDATE into a range above every current rank, so the unique (scope, rank)
constraint never sees a transient duplicate and no deferred constraint is needed.
Callers lock the list's owner row (Flow Team or Scrum Team) first, so
concurrent moves queue up instead of colliding.
"""

from django.db import connection
from django.db.models import Max, Min, Model, QuerySet

GAP = 1 << 16


def rank_at_end(scope: QuerySet) -> int:
    last = scope.aggregate(m=Max("rank"))["m"]
    return GAP if last is None else last + GAP


def rebalance(model: type[Model], *, scope_column: str, scope_id: int, field: str) -> None:
    """Renumber a whole list, keeping its order, in one statement."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(scope_column)
    rank = connection.ops.quote_name(field)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET {rank} = sub.base + sub.rn * %s
            FROM (
                SELECT id, ROW_NUMBER() OVER (ORDER BY {rank}, id) AS rn,
                       MAX({rank}) OVER () AS base
                FROM {table} WHERE {column} = %s
            ) AS sub
            WHERE {table}.id = sub.id
            """,
            [GAP, scope_id],
        )


def rank_for_move(
    model: type[Model],
    *,
    item: Model,
    scope_column: str,
    after: Model | None = None,
    before: Model | None = None,
    field: str = "rank",
) -> int:
    """Place ``item`` right after ``after``, right before ``before``, or at the top.

    Returns the new rank; the caller writes it to the item's row (one row, with
    its version bump). Needs a rebalance statement first only when a gap ran out.
    """
    scope_id = getattr(item, scope_column)
    for attempt in range(2):
        others = model.objects.filter(**{scope_column: scope_id}).exclude(pk=item.pk)
        if after is not None:
            low = others.filter(pk=after.pk).values_list(field, flat=True).get()
            high = others.filter(**{f"{field}__gt": low}).aggregate(r=Min(field))["r"]
        elif before is not None:
            high = others.filter(pk=before.pk).values_list(field, flat=True).get()
            low = others.filter(**{f"{field}__lt": high}).aggregate(r=Max(field))["r"]
        else:
            low, high = None, others.aggregate(r=Min(field))["r"]
        if low is None and high is None:
            new = GAP
        elif high is None:
            new = low + GAP
        elif low is None:
            new = high - GAP
        elif high - low >= 2:
            new = (low + high) // 2
        else:
            if attempt:
                raise RuntimeError("rebalance left no gap")  # cannot happen: GAP >= 2
            rebalance(model, scope_column=scope_column, scope_id=scope_id, field=field)
            continue
        return new
    raise AssertionError("unreachable")
