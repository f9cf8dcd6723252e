// Line charts for the portal's KPIs, drawn as inline SVG from the API's
// series (`points: [[unix seconds, value], …]`). No library and no CDN: the
// binary serves this file. A chart is a <figure> whose caption reads the
// latest value of each series, so the numbers are there without the
// picture; a threshold (an SLA) is a dashed line with its own label.
"use strict";

window.onrampCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 200, PAD = { left: 64, right: 16, top: 16, bottom: 28 };
  const COLOURS = ["#1f6feb", "#bf5700", "#2da44e", "#8250df", "#cf222e", "#57606a"];

  function svg(tag, attrs, ...children) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    for (const c of children) n.append(c);
    return n;
  }

  const PREFIXES = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];

  /// `v` in `unit`, shortened: 123456789 bit/s → "123.5 Mbit/s".
  function format(v, unit) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (unit === "bit/s") {
      for (const [f, p] of PREFIXES) if (Math.abs(v) >= f) return `${(v / f).toFixed(1)} ${p}bit/s`;
      return `${v.toFixed(0)} bit/s`;
    }
    if (unit === "boolean") return v >= 1 ? "up" : "down";
    if (unit === "s") {
      if (v >= 86400) return `${(v / 86400).toFixed(1)} d`;
      if (v >= 3600) return `${(v / 3600).toFixed(1)} h`;
      if (v >= 60) return `${(v / 60).toFixed(0)} min`;
      return `${v.toFixed(0)} s`;
    }
    const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
    return `${v.toFixed(digits)}${unit === "%" ? " %" : unit ? ` ${unit}` : ""}`;
  }

  function clock(t) {
    return new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /// Draws into `figure` (emptied first): `series` is [{label, points}],
  /// `threshold` an optional {value, label}.
  function lineChart(figure, { title, unit, series, threshold, start, end, step }) {
    figure.replaceChildren();
    const all = series.flatMap((s) => s.points);
    // The period asked for, narrowed to where measurements begin: a link
    // made a minute ago fills the chart instead of its last pixel.
    // It still spans a few steps, so that a first point is not a wall.
    const t1 = end ?? Math.max(...all.map((p) => p[0]));
    const span = Math.max(60, 4 * (step || 1));
    const first = all.length ? Math.min(...all.map((p) => p[0])) : start;
    const t0 = Math.max(start ?? first, Math.min(first ?? start, t1 - span));
    let vmax = Math.max(0, ...all.map((p) => p[1]), threshold ? threshold.value : 0);
    if (unit === "boolean") vmax = 1;
    if (vmax === 0) vmax = 1;
    vmax *= unit === "boolean" ? 1 : 1.1;
    const x = (t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
    const y = (v) => H - PAD.bottom - (v / vmax) * (H - PAD.top - PAD.bottom);

    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
      "aria-label": `${title}, ${series.length} series` });
    // Axes and three horizontal guides with their values.
    for (const f of [0, 0.5, 1]) {
      const v = vmax * f / (unit === "boolean" ? 1 : 1.1);
      root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "chart-grid" }),
        svg("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "chart-label" },
          unit === "boolean" ? (f === 1 ? "up" : f === 0 ? "down" : "") : format(v, unit)));
    }
    if (Number.isFinite(t0) && Number.isFinite(t1)) {
      for (const [t, anchor] of [[t0, "start"], [(t0 + t1) / 2, "middle"], [t1, "end"]]) {
        root.append(svg("text", { x: x(t), y: H - 8, "text-anchor": anchor, class: "chart-label" }, clock(t)));
      }
    }
    if (threshold) {
      root.append(
        svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(threshold.value), y2: y(threshold.value),
          class: "chart-threshold", "data-threshold": threshold.value }),
        svg("text", { x: W - PAD.right, y: y(threshold.value) - 4, "text-anchor": "end", class: "chart-threshold-label" },
          `${threshold.label} ${format(threshold.value, unit)}`));
    }
    series.forEach((s, i) => {
      if (!s.points.length) return;
      const d = s.points.map((p, j) => `${j ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
      const colour = COLOURS[i % COLOURS.length];
      root.append(svg("path", { d, class: "chart-line", stroke: colour,
        "data-series": s.label, "data-points": s.points.length }));
      // Sparse series get a dot per sample, so that a single one shows.
      if (s.points.length < 20) {
        for (const p of s.points) {
          root.append(svg("circle", { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2.5, fill: colour }));
        }
      }
    });

    const caption = document.createElement("figcaption");
    const strong = document.createElement("strong");
    strong.textContent = title;
    caption.append(strong);
    if (!all.length) {
      caption.append(" — no measurement in this range yet.");
    }
    series.forEach((s, i) => {
      const latest = s.points.length ? s.points[s.points.length - 1][1] : null;
      const item = document.createElement("span");
      item.className = "chart-legend";
      item.dataset.series = s.label;
      item.dataset.latest = latest === null ? "" : String(latest);
      const swatch = document.createElement("span");
      swatch.className = "chart-swatch";
      swatch.style.background = COLOURS[i % COLOURS.length];
      item.append(swatch, `${s.label}: ${format(latest, unit)}`);
      caption.append(" ", item);
    });
    figure.dataset.series = String(series.length);
    figure.append(root, caption);
  }

  return { lineChart, format };
})();
