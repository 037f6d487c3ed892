// Charts over time with their numbers always at hand: stacked bars (a total split by model, provider,
// key or route) and lines (latency percentiles, error rate), each in a card with a table view and a
// CSV download of exactly the numbers drawn. Hand-drawn SVG: no library to load, nothing the CSP refuses.

import { h, s, toast } from "./dom.js";

const W = 1000;
const H = 260;
const PAD = { top: 12, right: 12, bottom: 28, left: 56 };
const PALETTE = 8;

/** A chart card: `data` is {buckets: [Date], series: [{name, values: [number]}]}; `kind` "stack" or "lines". */
export function chartCard(id, title, data, { kind = "stack", format = String, unit = "", csvName = id } = {}) {
  const summary = describe(title, data, format);
  const svg = kind === "stack" ? stacked(data, format, summary) : lines(data, format, summary);
  const tableBox = h("div", { id: `${id}-table`, hidden: true }, numbersTable(title, data, format));
  const toggle = h("button", { type: "button", class: "btn", "aria-expanded": "false", "aria-controls": `${id}-table` },
    "Show table");
  toggle.addEventListener("click", () => {
    const open = tableBox.hidden;
    tableBox.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Hide table" : "Show table";
  });
  const csv = h("button", { type: "button", class: "btn" }, "Download CSV");
  csv.addEventListener("click", () => saveCsv(`${csvName}.csv`, toCsv(data, unit)));
  return h("section", { class: "card chart-card", "aria-labelledby": `${id}-title`, id },
    h("div", { class: "page-header" }, h("h2", { id: `${id}-title` }, title), h("div", { class: "actions" }, toggle, csv)),
    h("figure", { class: "chart-figure" }, svg, legend(data)), tableBox);
}

function describe(title, data, format) {
  if (!data.buckets.length) return `${title}: no data in this window`;
  const totals = data.series.map((se) => [se.name, se.values.reduce((a, b) => a + (b || 0), 0)]);
  return `${title}: ${data.buckets.length} intervals; ${totals.map(([n, v]) => `${n} ${format(v)}`).join(", ")}`;
}

function frame(summary) {
  return s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary, class: "chart-plot" });
}

function scale(data, top) {
  const n = data.buckets.length;
  const band = (W - PAD.left - PAD.right) / Math.max(n, 1);
  return {
    band,
    x: (i) => PAD.left + band * i,
    y: (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom),
  };
}

function axes(svg, data, top, format, sc) {
  for (const frac of [0, 0.5, 1]) {
    const v = top * frac;
    svg.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: sc.y(v), y2: sc.y(v), class: "chart-grid" }));
    svg.append(s("text", { x: PAD.left - 6, y: sc.y(v) + 4, "text-anchor": "end", class: "chart-axis" }, format(v)));
  }
  const n = data.buckets.length;
  const every = Math.max(1, Math.ceil(n / 6));
  data.buckets.forEach((t, i) => {
    if (i % every) return;
    svg.append(s("text", { x: sc.x(i) + sc.band / 2, y: H - 8, "text-anchor": "middle", class: "chart-axis" }, short(t)));
  });
}

function stacked(data, format, summary) {
  const svg = frame(summary);
  if (!data.buckets.length) return empty(svg);
  const totals = data.buckets.map((_, i) => data.series.reduce((a, se) => a + (se.values[i] || 0), 0));
  const top = niceMax(Math.max(...totals));
  const sc = scale(data, top);
  axes(svg, data, top, format, sc);
  data.buckets.forEach((t, i) => {
    let base = 0;
    data.series.forEach((se, k) => {
      const v = se.values[i] || 0;
      if (!v) return;
      const y0 = sc.y(base);
      const y1 = sc.y(base + v);
      base += v;
      svg.append(s("rect", { x: sc.x(i) + sc.band * 0.15, width: Math.max(sc.band * 0.7, 1), y: y1, height: Math.max(y0 - y1, 0.5),
        class: `series-${k % PALETTE}` }, s("title", {}, `${t.toLocaleString()} · ${se.name}: ${format(v)}`)));
    });
  });
  return svg;
}

function lines(data, format, summary) {
  const svg = frame(summary);
  if (!data.buckets.length) return empty(svg);
  const top = niceMax(Math.max(0, ...data.series.flatMap((se) => se.values.filter((v) => v !== null))));
  const sc = scale(data, top);
  axes(svg, data, top, format, sc);
  data.series.forEach((se, k) => {
    const pts = se.values.map((v, i) => (v === null || v === undefined ? null : [sc.x(i) + sc.band / 2, sc.y(v), v, i]))
      .filter(Boolean);
    if (pts.length > 1) {
      svg.append(s("path", { d: pts.map(([x, y], j) => `${j ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" "),
        class: `chart-series-line stroke-${k % PALETTE}` }));
    }
    for (const [x, y, v, i] of pts) {
      svg.append(s("circle", { cx: x, cy: y, r: 3.5, class: `series-${k % PALETTE}` },
        s("title", {}, `${data.buckets[i].toLocaleString()} · ${se.name}: ${format(v)}`)));
    }
  });
  return svg;
}

function empty(svg) {
  svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, "No requests in this window"));
  return svg;
}

function legend(data) {
  if (!data.series.length || !data.buckets.length) return null;
  return h("figcaption", {}, h("ul", { class: "legend" }, data.series.map((se, k) => h("li", {},
    h("span", { class: `swatch series-${k % PALETTE}`, "aria-hidden": "true" }), se.name))));
}

/** The numbers drawn, one row per interval, one column per series. */
function numbersTable(title, data, format) {
  if (!data.buckets.length) return h("p", { class: "muted" }, "No requests in this window.");
  return h("div", { class: "table-wrap" }, h("table", {},
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Interval starting"),
      data.series.map((se) => h("th", { scope: "col" }, se.name)))),
    h("tbody", {}, data.buckets.map((t, i) => h("tr", {},
      h("th", { scope: "row" }, t.toLocaleString()),
      data.series.map((se) => h("td", {}, se.values[i] === null || se.values[i] === undefined ? "—" : format(se.values[i]))))))));
}

function toCsv(data, unit) {
  const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const head = ["interval_start", ...data.series.map((se) => (unit ? `${se.name} (${unit})` : se.name))];
  const rows = data.buckets.map((t, i) => [t.toISOString(), ...data.series.map((se) => se.values[i] ?? "")]);
  return [head, ...rows].map((r) => r.map(quote).join(",")).join("\n") + "\n";
}

function saveCsv(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  toast(`Saved ${name}`);
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (v <= step * mag) return step * mag;
  return 10 * mag;
}

function short(t) {
  return t.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
