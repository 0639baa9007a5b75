"""Flow metrics, computed from the append-only story history.

The conventions are those of ``design/metrics.md`` and are shown on the
metrics page and in the API docs (``CONVENTIONS`` below):

- Days are calendar days, counted on dates in the Flow Team's timezone.
- An item *starts* the first time it enters a started state (``in_progress``,
  ``in_review`` or ``done``), even if it skipped one; it *finishes* the last
  time it entered ``done``, if it is done now (a reopened item is unfinished).
- Cycle time = finish date - start date + 1 (same day = 1); lead time =
  finish date - creation date + 1; work item age = today - start date + 1.
- Percentiles are nearest rank: the smallest value with at least p % of the
  items at or below it.

The modules here are pure (no database): ``items`` turns history rows into
items, ``figures`` computes the figures, ``forecast`` runs Monte Carlo and
``snapshot`` assembles what a snapshot stores. ``flow.selectors`` loads the
rows and ``flow.services`` writes the snapshots.
"""

CONVENTIONS = [
    (
        "Days",
        "Calendar days, on dates in the Flow Team's timezone (23:30 in Berlin is that Berlin date).",
    ),
    (
        "Start",
        "The first time a story entered In progress, In review or Done, even if it skipped one.",
    ),
    (
        "Finish",
        "The last time it entered Done, if it is done now; a reopened story is not finished.",
    ),
    (
        "Cycle time",
        "Finish date − start date + 1 day: a story started and finished the same day took 1 day.",
    ),
    ("Lead time", "Finish date − creation date + 1 day."),
    ("Work item age", "Today − start date + 1 day, for stories started and not finished."),
    (
        "WIP",
        "Stories started on or before the day and not finished before it (finished that day counts).",
    ),
    (
        "Throughput",
        "Stories finished each day; days with none count as 0. Summed per week and per Flow Sprint.",
    ),
    (
        "Percentiles",
        "Nearest rank: the smallest value with at least p % of stories at or below it, so “85 % in ≤ N days” is literally true.",
    ),
    (
        "Cumulative flow",
        "Stories in each state at the end of each day, from the history (backward moves show as they happened).",
    ),
    (
        "Flow efficiency",
        "Hours In progress or In review and not blocked ÷ hours from start to finish, over finished stories.",
    ),
    (
        "Flow distribution",
        "Share of finished stories by kind (feature, defect, debt, risk) per Flow Sprint.",
    ),
    (
        "Velocity",
        "Story points of a team's stories finished within the Flow Sprint's dates. Never compare teams.",
    ),
    (
        "Predictability",
        "Points of planned commitments done ÷ points committed at planning, per team and Flow Sprint; the Flow Team sums its teams. Healthy: 80–100 %.",
    ),
    (
        "Forecasts",
        "Monte Carlo: the daily throughput of the last 60 days (zero days included; a shorter history is used as it is, and the forecast says how many days it used) resampled one day at a time from tomorrow, 10,000 trials, a recorded seed. “When”: the p-th percentile finishing day; “how many”: the count at least p % of trials reached. Fewer than 10 finished stories in the window makes a forecast unreliable, and it says so.",
    ),
]
