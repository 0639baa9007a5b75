"""The flow metrics an improvement item may name as the one it should move, read from a
metric snapshot's data (flow/metrics/snapshot.py): the item keeps the value of the day it
was raised and shows it beside today's.

Each metric says which way is better, so a page can tell an improvement from a setback.
"""

from dataclasses import dataclass

# The window of "throughput, last 4 weeks": whole days up to the snapshot's day.
THROUGHPUT_DAYS = 28


@dataclass(frozen=True)
class ImprovementMetric:
    key: str
    label: str
    unit: str
    better: str  # "down" or "up"


METRICS = (
    ImprovementMetric("cycle_time_85", "Cycle time, 85th percentile", "days", "down"),
    ImprovementMetric("throughput_4w", "Throughput, last 4 weeks", "items", "up"),
    ImprovementMetric("wip", "Work in progress", "items", "down"),
    ImprovementMetric("flow_efficiency", "Flow efficiency", "%", "up"),
    ImprovementMetric("predictability", "Flow predictability, last closed sprint", "%", "up"),
)
BY_KEY = {m.key: m for m in METRICS}
CHOICES = [(m.key, m.label) for m in METRICS]


def _percent(ratio) -> float | None:
    return None if ratio is None else round(ratio * 100, 1)


def metric_value(data: dict | None, key: str) -> float | None:
    """The metric's value in one snapshot's data; None when the snapshot has nothing to
    say yet (no finished item, no closed sprint) or there is no snapshot."""
    if not data or key not in BY_KEY:
        return None
    if key == "cycle_time_85":
        return data.get("cycle_time", {}).get("85")
    if key == "throughput_4w":
        daily = data.get("daily", {}).get("throughput") or []
        return float(sum(daily[-THROUGHPUT_DAYS:])) if daily else None
    if key == "wip":
        wip = data.get("daily", {}).get("wip") or []
        return float(wip[-1]) if wip else None
    if key == "flow_efficiency":
        return _percent(data.get("flow_efficiency", {}).get("ratio"))
    closed = [row for row in data.get("sprints", []) if row.get("state") == "closed"]
    return _percent(closed[-1]["predictability"]["ratio"]) if closed else None


def movement(key: str, before: float | None, now: float | None) -> str:
    """'better', 'worse' or 'same' (or '' when either value is missing)."""
    if before is None or now is None or key not in BY_KEY:
        return ""
    if now == before:
        return "same"
    went_up = now > before
    return "better" if went_up == (BY_KEY[key].better == "up") else "worse"
