/* Flow metrics page: draws the charts from the report the server embedded as JSON
   (#metrics-data). Nothing is computed here beyond laying numbers out; the tables
   and CSV links on the page carry the same figures for people who cannot see them. */
(function () {
  "use strict";

  const STATES = ["backlog", "ready", "in_progress", "in_review", "done"];
  const STATE_LABELS = {
    backlog: "Backlog", ready: "Ready", in_progress: "In progress", in_review: "In review", done: "Done",
  };
  const KINDS = ["feature", "defect", "debt", "risk"];
  const PERCENTILES = ["50", "70", "85", "95"];
  const BAND_FLOOR = "band floor"; // the band's invisible lower line, kept out of legend and tooltips
  let charts = [];

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function palette() {
    return {
      ink: css("--ink-2"), line: css("--line"), brand: css("--brand"), ok: css("--ok"),
      warn: css("--warn"), bad: css("--bad"), info: css("--info"),
      state: Object.fromEntries(STATES.map((s) => [s, css("--state-" + s)])),
      // Percentile lines: darker for the stricter ones, so 85 % stands out as the SLE.
      percentile: { 50: "#8a97a8", 70: "#5b6878", 85: css("--warn"), 95: css("--bad") },
      kind: { feature: css("--brand"), defect: css("--bad"), debt: css("--warn"), risk: css("--info") },
    };
  }

  // Teams get evenly spread hues so 15 of them stay tellable apart.
  function teamColour(index) {
    return `hsl(${(index * 137.5) % 360} 62% 42%)`;
  }

  function withAlpha(colour, alpha) {
    const hex = colour.replace("#", "");
    if (hex.length !== 6) return colour;
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return `rgb(${r} ${g} ${b} / ${alpha})`;
  }

  function make(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options);
    charts.push(new Chart(canvas, config));
  }

  function percentileLines(percentiles, x0, x1, colours) {
    return PERCENTILES.filter((p) => percentiles[p] !== null && percentiles[p] !== undefined).map((p) => ({
      type: "line",
      label: `${p} %: ${percentiles[p]} d`,
      data: [{ x: x0, y: percentiles[p] }, { x: x1, y: percentiles[p] }],
      borderColor: colours[p],
      borderWidth: p === "85" ? 2 : 1,
      borderDash: p === "85" ? [] : [6, 4],
      pointRadius: 0,
      fill: false,
    }));
  }

  // A small fixed offset per story so dots of equal value stay visible; same story, same place.
  function jitter(story) {
    return ((story * 2654435761) % 1000) / 1000 - 0.5;
  }

  function cycleTime(r, c) {
    const dates = r.throughput.dates;
    const index = Object.fromEntries(dates.map((d, i) => [d, i]));
    const last = Math.max(dates.length - 1, 0);
    make("chart-cycle-time", {
      type: "scatter",
      data: {
        datasets: [
          {
            label: "Finished story",
            data: r.cycle_time.items.map((s) => ({ x: index[s.finished], y: s.cycle_time, story: s })),
            backgroundColor: withAlpha(c.brand, 0.55),
            pointRadius: 3,
          },
          ...percentileLines(r.cycle_time.percentiles, 0, last, c.percentile),
        ],
      },
      options: {
        scales: {
          x: { type: "linear", min: 0, max: last, ticks: { callback: (v) => dates[v] ?? "" }, title: { display: true, text: "Finished on" } },
          y: { beginAtZero: true, title: { display: true, text: "Cycle time (days)" } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => ctx.raw.story
                ? `#${ctx.raw.story.story} ${ctx.raw.story.title}: ${ctx.raw.story.cycle_time} d (team ${ctx.raw.story.team})`
                : ctx.dataset.label,
            },
          },
        },
      },
    });
  }

  function aging(r, c) {
    const states = STATES.filter((s) => r.aging.items.some((i) => i.state === s));
    const x = Object.fromEntries(states.map((s, i) => [s, i]));
    const points = (blocked) => r.aging.items
      .filter((i) => Boolean(i.blocked) === blocked)
      .map((i) => ({ x: x[i.state] + jitter(i.story) * 0.6, y: i.age, story: i }));
    make("chart-aging", {
      type: "scatter",
      data: {
        datasets: [
          { label: "Flowing", data: points(false), backgroundColor: withAlpha(c.brand, 0.6), pointRadius: 3.5 },
          { label: "Blocked", data: points(true), backgroundColor: c.bad, pointStyle: "triangle", pointRadius: 5 },
          ...percentileLines(r.aging.percentiles, -0.5, Math.max(states.length - 0.5, 0.5), c.percentile),
        ],
      },
      options: {
        scales: {
          x: {
            type: "linear", min: -0.5, max: Math.max(states.length - 0.5, 0.5),
            // One tick under each state's column, whatever the axis padding is.
            afterBuildTicks: (axis) => { axis.ticks = states.map((_, i) => ({ value: i })); },
            ticks: { callback: (v) => STATE_LABELS[states[v]] ?? "" },
            grid: { display: false },
          },
          y: { beginAtZero: true, title: { display: true, text: "Age (days)" } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => ctx.raw.story
                ? `#${ctx.raw.story.story} ${ctx.raw.story.title}: ${ctx.raw.story.age} d in progress (team ${ctx.raw.story.team})`
                : ctx.dataset.label,
            },
          },
        },
      },
    });
  }

  function throughput(r, c) {
    const first = r.throughput.dates[0];
    // Each week's total stands on its Monday (or the range's first day, for a partial week).
    const weekly = r.throughput.weekly.map((w) => ({ x: w.week < first ? first : w.week, y: w.throughput }));
    make("chart-throughput", {
      type: "bar",
      data: {
        labels: r.throughput.dates,
        datasets: [
          { label: "Per day", data: r.throughput.daily, backgroundColor: c.ok, yAxisID: "y" },
          { type: "line", label: "Per week", data: weekly, borderColor: c.ink, backgroundColor: c.ink, stepped: "before", pointRadius: 2, yAxisID: "week" },
        ],
      },
      options: {
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "per day" } },
          week: { position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { display: false }, title: { display: true, text: "per week" } },
        },
      },
    });
  }

  function cumulativeFlow(r, c) {
    // Done at the bottom, backlog on top: the bands read as the queue each state holds.
    const order = [...STATES].reverse();
    make("chart-cfd", {
      type: "line",
      data: {
        labels: r.cumulative_flow.dates,
        datasets: order.map((s, i) => ({
          label: STATE_LABELS[s],
          data: r.cumulative_flow.states[s],
          borderColor: c.state[s],
          backgroundColor: withAlpha(c.state[s], 0.55),
          fill: i === 0 ? "origin" : "-1",
          pointRadius: 0,
          borderWidth: 1,
        })),
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: { y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }

  function wip(r, c) {
    make("chart-wip", {
      type: "line",
      data: {
        labels: r.wip.dates,
        datasets: [{ label: "Work in progress", data: r.wip.daily, borderColor: c.state.in_progress, pointRadius: 0, stepped: true }],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
    });
  }

  function distribution(r, c) {
    const sprints = r.distribution.sprints;
    const totals = sprints.map((s) => KINDS.reduce((n, k) => n + s[k], 0));
    make("chart-distribution", {
      type: "bar",
      data: {
        labels: sprints.map((s) => `FS ${s.number}`),
        datasets: KINDS.map((k) => ({
          label: k,
          data: sprints.map((s, i) => (totals[i] ? Math.round((1000 * s[k]) / totals[i]) / 10 : 0)),
          backgroundColor: c.kind[k],
        })),
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, max: 100, ticks: { callback: (v) => `${v} %` } } },
        plugins: { tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.raw} %` } } },
      },
    });
  }

  function sprints(r, c) {
    const rows = r.sprints;
    const labels = rows.map((s) => `FS ${s.number}${s.state === "active" ? " (current)" : ""}`);
    const teams = [...new Set(rows.flatMap((s) => Object.keys(s.velocity)))].sort((a, b) => a - b);
    make("chart-velocity", {
      type: "bar",
      data: {
        labels,
        datasets: teams.map((t, i) => ({
          label: `Team ${t}`, data: rows.map((s) => s.velocity[t] ?? 0), backgroundColor: teamColour(i),
        })),
      },
      options: {
        scales: { y: { beginAtZero: true, title: { display: true, text: "Points finished" } } },
        plugins: { legend: { display: teams.length <= 8 } },
      },
    });
    // A sprint still running has no predictability yet: leave it out rather than plot a dip.
    const pct = (s, ratio) => (s.state === "active" || ratio === null || ratio === undefined ? null : Math.round(ratio * 1000) / 10);
    const span = labels.length;
    const band = { low: r.predictability_band.low * 100, high: r.predictability_band.high * 100 };
    make("chart-predictability", {
      type: "line",
      data: {
        labels,
        datasets: [
          // The healthy band, drawn as a filled area between two flat lines.
          { label: BAND_FLOOR, data: Array(span).fill(band.low), borderColor: "transparent", pointRadius: 0, fill: false },
          { label: `Healthy ${band.low}–${band.high} %`, data: Array(span).fill(band.high), borderColor: withAlpha(c.ok, 0.4), backgroundColor: withAlpha(c.ok, 0.12), pointRadius: 0, fill: "-1" },
          ...teams.map((t, i) => ({
            label: `Team ${t}`,
            data: rows.map((s) => pct(s, s.predictability.teams[t]?.ratio)),
            borderColor: teamColour(i), backgroundColor: teamColour(i), borderWidth: 1, pointRadius: 2, spanGaps: true,
          })),
          { label: "All teams", data: rows.map((s) => pct(s, s.predictability.ratio)), borderColor: c.ink, backgroundColor: c.ink, borderWidth: 3, pointRadius: 3, spanGaps: true },
        ],
      },
      options: {
        scales: { y: { beginAtZero: true, suggestedMax: 120, ticks: { callback: (v) => `${v} %` } } },
        plugins: {
          legend: { display: teams.length <= 8, labels: { filter: (item) => item.text !== BAND_FLOOR } },
          tooltip: { filter: (item) => item.dataset.label !== BAND_FLOOR },
        },
      },
    });
  }

  function forecastFan(r, c) {
    const table = r.forecast.how_many;
    if (!table || !table["50"]) return;
    const start = new Date(r.as_of + "T00:00:00Z");
    const labels = table["50"].map((_, d) => new Date(start.getTime() + (d + 1) * 864e5).toISOString().slice(0, 10));
    make("chart-forecast", {
      type: "line",
      data: {
        labels,
        datasets: PERCENTILES.map((p) => ({
          label: `${p} % sure`,
          data: table[p],
          borderColor: c.percentile[p],
          backgroundColor: withAlpha(c.brand, 0.08),
          fill: p === "50" ? false : "-1",
          pointRadius: 0,
          borderWidth: p === "85" ? 2 : 1,
        })),
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, title: { display: true, text: "Stories finished from tomorrow" }, ticks: { precision: 0 } } },
      },
    });
  }

  function render() {
    const source = document.getElementById("metrics-data");
    charts.forEach((chart) => chart.destroy());
    charts = [];
    if (!source || typeof Chart === "undefined") return;
    const report = JSON.parse(source.textContent);
    const c = palette();
    // Figures, not motion: people read these on a shared screen and in print.
    Chart.defaults.animation = false;
    Chart.defaults.color = c.ink;
    Chart.defaults.borderColor = c.line;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    // Compact legends: on a phone they would otherwise take half of each chart.
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    Chart.defaults.plugins.legend.labels.font = { size: 11 };
    [cycleTime, aging, throughput, cumulativeFlow, wip, distribution, sprints, forecastFan].forEach((draw) => draw(report, c));
  }

  // htmx replaces #metrics-body when the filters change; draw the new report's charts.
  document.addEventListener("htmx:afterSettle", render);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
  else render();
})();
