// Rendering a routing decision: a dry-run plan, or what happened to a logged request.

import { h } from "./dom.js";
import { ms, pick } from "./format.js";

/**
 * A readable view of a plan/decision, with the raw JSON one click away. Accepts a
 * dry run (`{strategy, reason, plan: [targets…]}`) or a recorded decision
 * (`{strategy, reason, order: [names…], attempts: […]}`), nested or not.
 */
export function planView(result) {
  const nested = pick(result, "plan", "decision", "routing");
  const src = nested && !Array.isArray(nested) ? nested : result || {};
  const explain = pick(result, "explain") || {};
  const order = [pick(src, "order"), pick(src, "targets"), nested, pick(explain, "order")].find(
    (v) => Array.isArray(v) && v.length) || [];
  const reasons = pick(src, "reasons") || [];
  const attempts = pick(src, "attempts") || pick(result, "attempts");
  const rows = [
    ["Route", pick(src, "route", "policy") ?? pick(result, "route")],
    ["Strategy", pick(src, "strategy") ?? pick(result, "strategy")],
    ["Reason", pick(src, "reason", "explanation") ?? pick(result, "reason") ?? pick(explain, "reason")],
    ["Considered", listText(pick(src, "considered") ?? pick(explain, "considered"))],
    ["Skipped", listText(pick(src, "skipped"))],
    ["Attempts per target", pick(result, "max_attempts_per_target")],
    ["Timeout", pick(result, "timeout_s") !== undefined ? `${result.timeout_s} s` : undefined],
  ].filter(([, v]) => v !== undefined && v !== null && v !== "");
  return h("div", { class: "plan" },
    h("h3", { class: "plan-title" }, "Routing decision"),
    order.length ? h("ol", { class: "plan-order", "aria-label": "Targets in the order they are tried" },
      order.map((t, i) => h("li", {}, targetText(t),
        typeof reasons[i] === "string" ? h("span", { class: "muted" }, ` — ${reasons[i]}`) : null))) : null,
    rows.length ? h("dl", { class: "kv" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])) : null,
    Array.isArray(reasons) && reasons.length && !order.length ? h("ul", {}, reasons.map((r) => h("li", {}, textOf(r)))) : null,
    Array.isArray(attempts) && attempts.length ? h("div", {}, h("h4", {}, "Attempts"),
      h("ol", { class: "attempts" }, attempts.map((a) => h("li", {},
        `${pick(a, "model") || "?"} via ${pick(a, "provider") || "?"}: ${pick(a, "outcome") || ""}`,
        pick(a, "status") ? ` (HTTP ${a.status})` : "",
        pick(a, "latency_ms") !== undefined ? `, ${ms(a.latency_ms)}` : "",
        pick(a, "error") ? ` — ${a.error}` : "")))) : null,
    h("details", {}, h("summary", {}, "Raw JSON"), h("pre", {}, JSON.stringify(result, null, 2))));
}

function targetText(t) {
  if (typeof t !== "object" || t === null) return String(t);
  const name = pick(t, "model", "name", "target");
  const via = pick(t, "provider_type", "provider", "provider_id");
  const upstream = pick(t, "upstream_model");
  const extra = [via ? `via ${via}${upstream ? ` as ${upstream}` : ""}` : null,
    pick(t, "weight") !== undefined ? `weight ${t.weight}` : null, pick(t, "reason")].filter(Boolean);
  return extra.length ? `${name} (${extra.join(", ")})` : String(name);
}

function listText(v) {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v.map(textOf).join(", ") : textOf(v);
}

function textOf(v) {
  return typeof v === "string" ? v : JSON.stringify(v);
}
