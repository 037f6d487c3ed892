// A small hand-drawn SVG time-series chart (area + line, axes, point tooltips).

import { h, s } from "./dom.js";
import { compact } from "./format.js";

const W = 1000;
const H = 260;
const PAD = { top: 12, right: 12, bottom: 28, left: 44 };

/**
 * points: [{t: Date, v: number}] sorted by time. Returns a <figure> holding an
 * <svg role="img"> with a text summary, plus a table fallback for screen readers.
 */
export function timeSeries(points, { label, format = compact } = {}) {
  const summary = points.length
    ? `${label}: ${points.length} points, peak ${format(Math.max(...points.map((p) => p.v)))}`
    : `${label}: no data yet`;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary, class: "chart" });
  if (!points.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, "No requests yet"));
    return h("figure", { class: "chart-figure" }, svg, h("figcaption", {}, label));
  }
  const t0 = points[0].t.getTime();
  const t1 = points[points.length - 1].t.getTime();
  const span = Math.max(t1 - t0, 1);
  const top = niceMax(Math.max(...points.map((p) => p.v)));
  const x = (t) => PAD.left + ((t.getTime() - t0) / span) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const xs = points.length === 1 ? [W / 2] : points.map((p) => x(p.t));

  for (const frac of [0, 0.5, 1]) {
    const v = top * frac;
    svg.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "chart-grid" }));
    svg.append(s("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "chart-axis" }, format(v)));
  }
  const line = points.map((p, i) => `${i ? "L" : "M"}${xs[i].toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  const base = H - PAD.bottom;
  svg.append(s("path", { d: `${line} L${xs[xs.length - 1].toFixed(1)},${base} L${xs[0].toFixed(1)},${base} Z`,
    class: "chart-area" }));
  svg.append(s("path", { d: line, class: "chart-line" }));
  points.forEach((p, i) => {
    svg.append(s("circle", { cx: xs[i], cy: y(p.v), r: 3, class: "chart-dot" },
      s("title", {}, `${p.t.toLocaleString()}: ${format(p.v)}`)));
  });
  const ends = points.length === 1 ? [points[0]] : [points[0], points[points.length - 1]];
  ends.forEach((p, i) => {
    svg.append(s("text", { x: points.length === 1 ? W / 2 : xs[i ? xs.length - 1 : 0], y: H - 8,
      "text-anchor": points.length === 1 ? "middle" : i ? "end" : "start", class: "chart-axis" }, shortTime(p.t)));
  });
  const fallback = h("table", { class: "visually-hidden" },
    h("caption", {}, label),
    h("tbody", {}, points.map((p) => h("tr", {}, h("th", { scope: "row" }, p.t.toLocaleString()), h("td", {}, format(p.v))))));
  return h("figure", { class: "chart-figure" }, svg, h("figcaption", {}, label), fallback);
}

function niceMax(v) {
  if (v <= 0) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (v <= step * mag) return step * mag;
  return 10 * mag;
}

function shortTime(t) {
  return t.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
