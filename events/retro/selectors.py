"""Reads of the retrospective board: what a viewer may see of it (before the reveal, only
their own cards), the dots they used, the action items, and the earlier retros' open
actions."""

from django.db.models import Count, Q
from django.utils import timezone

from events.improvements.services import improvements_live_key
from events.models import ActionItem, Event, RetroCard, Retrospective, RetroVote


def retro_live_key(event_id: int) -> str:
    """The live topic of one retro's board (sem/live.py)."""
    return f"retro:{event_id}"


def same_series(event: Event, *, include_self: bool = False):
    earlier = Q(starts_at__lt=event.starts_at) | (Q(pk=event.pk) if include_self else Q())
    return Event.objects.filter(
        flow_team_id=event.flow_team_id, kind=event.kind, scrum_team_id=event.scrum_team_id
    ).filter(earlier)


def live_keys(event: Event) -> list[str]:
    """What a retro's screen follows: its own board, the Flow Team's improvement items (the
    earlier retros' open actions close elsewhere too) and, for the Flow Sprint
    Retrospective, the boards of that sprint's team retros (their themes)."""
    keys = [retro_live_key(event.pk), improvements_live_key(event.flow_team_id)]
    if event.kind == Event.Kind.FLOW_RETRO:
        team_retros = Event.objects.filter(
            flow_sprint_id=event.flow_sprint_id, kind=Event.Kind.TEAM_RETRO
        ).order_by("pk")
        keys += [retro_live_key(pk) for pk in team_retros.values_list("pk", flat=True)]
    return keys


def previous_actions(event: Event) -> list[ActionItem]:
    """The open actions of earlier retros of the same kind and team, oldest first, each
    with its age in days."""
    today = timezone.localdate()
    actions = list(
        ActionItem.objects.filter(event__in=same_series(event), done=False)
        .select_related("owner", "event__flow_sprint")
        .order_by("created_at", "pk")
    )
    for action in actions:
        action.age_days = (today - timezone.localdate(action.created_at)).days
    return actions


def board_data(retro: Retrospective, *, viewer_key: str, revealed: bool) -> dict:
    """The board as the viewer may see it, in three queries. Before the reveal only the
    viewer's own cards are read at all (by author key); the others only as counts."""
    cards = RetroCard.objects.filter(retrospective=retro).select_related("author")
    if not revealed:
        cards = cards.filter(author_key=viewer_key)
    cards = list(cards.annotate(dots=Count("votes")).order_by("column", "created_at", "pk"))
    counts = dict(
        RetroCard.objects.filter(retrospective=retro)
        .values_list("column")
        .annotate(n=Count("pk"))
        .values_list("column", "n")
    )
    by_id = {c.pk: c for c in cards}
    groups: dict[int, dict] = {}
    for card in cards:
        card.mine = card.author_key == viewer_key
        root = by_id.get(card.group_id) if card.group_id else card
        root = root or card
        group = groups.setdefault(root.pk, {"root": root, "cards": [], "dots": 0})
        group["cards"].append(card)
        group["dots"] += card.dots
    columns = [
        {
            "index": i,
            "title": title,
            "count": counts.get(i, 0),
            "groups": [g for g in groups.values() if g["root"].column == i],
        }
        for i, title in enumerate(retro.columns)
    ]
    ranked = sorted(groups.values(), key=lambda g: (-g["dots"], g["root"].created_at))
    return {"columns": columns, "ranked": ranked, "all_cards": cards}


def dots_used(retro: Retrospective, user_id: int) -> dict[int, int]:
    """The viewer's dots per card."""
    return dict(
        RetroVote.objects.filter(card__retrospective=retro, voter_id=user_id)
        .values_list("card_id")
        .annotate(n=Count("pk"))
        .values_list("card_id", "n")
    )


def retro_actions(event: Event) -> list[ActionItem]:
    return list(ActionItem.objects.filter(event=event).select_related("owner"))


def team_themes(event: Event, *, per_team: int = 2) -> list[dict]:
    """The Flow Sprint Retrospective's input: each team retro of the same Flow Sprint, its
    top-voted groups (cards only from retros past their reveal: never a private card), in
    one query."""
    cards = (
        RetroCard.objects.filter(
            retrospective__event__flow_sprint_id=event.flow_sprint_id,
            retrospective__event__kind=Event.Kind.TEAM_RETRO,
        )
        .exclude(retrospective__phase=Retrospective.Phase.COLLECT)
        .select_related("retrospective__event__scrum_team")
        .annotate(dots=Count("votes"))
        .order_by("retrospective__event__scrum_team__number", "created_at", "pk")
    )
    teams: dict[int, dict] = {}
    for card in cards:
        retro_event = card.retrospective.event
        team = teams.setdefault(
            retro_event.pk, {"team": retro_event.scrum_team, "event": retro_event, "groups": {}}
        )
        group = team["groups"].setdefault(card.group_id or card.pk, {"texts": [], "dots": 0})
        group["texts"].append(card.text)
        group["dots"] += card.dots
    for team in teams.values():
        ranked = sorted(team["groups"].values(), key=lambda g: -g["dots"])
        team["top"] = [g for g in ranked if g["dots"]][:per_team] or ranked[:1]
    return list(teams.values())
