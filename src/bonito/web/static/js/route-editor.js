// Editing a route in place: every field of a route (strategy, targets and weights, retries, timeouts,
// circuit breaker, smart settings, rules, response cache) in one form, saved with PATCH /api/routing-policies/{id}.

import { api } from "./api.js";
import { field, h, nextId, submitting, toast } from "./dom.js";
import { rulesEditor } from "./route-rules.js";
import { read } from "./schema.js";

/** The edit form for `policy`; `strategies` are [value, label] pairs, `onSaved(updated)` after a save. */
export function routeEditor(policy, { strategies, models, routes, onSaved, onCancel }) {
  const breaker = read(policy, "RoutingPolicyOut", "circuit_breaker") || {};
  const num = (v) => (v === undefined || v === null ? "" : String(v));
  const datalist = nextId("route-models");
  const targets = h("div", { class: "targets" });
  const targetRow = (t) => {
    const i = targets.children.length + 1;
    const row = h("div", { class: "target-row grid" },
      field(`Target ${i} model`, { name: "t.model", list: datalist, autocomplete: "off", value: t.model || "", required: i === 1 }),
      field(`Target ${i} weight`, { name: "t.weight", type: "number", min: "0", step: "any", value: num(t.weight) }));
    targets.append(row);
    return row;
  };
  (read(policy, "RoutingPolicyOut", "targets") || []).forEach(targetRow);
  const addTarget = h("button", { type: "button", class: "btn btn-ghost" }, "Add target");
  addTarget.addEventListener("click", () => targetRow({}).querySelector("input").focus());
  const strategy = field("Strategy", { name: "strategy", required: true }, { control: "select", options: strategies });
  strategy.querySelector("select").value = read(policy, "RoutingPolicyOut", "strategy");
  const smart = smartFields(read(policy, "RoutingPolicyOut", "smart") || {}, num);
  const syncSmart = () => { smart.hidden = strategy.querySelector("select").value !== "smart"; };
  strategy.querySelector("select").addEventListener("change", syncSmart);
  syncSmart();
  const rules = rulesEditor(read(policy, "RoutingPolicyOut", "rules") || [], { models, routes: routes.filter((r) => r !== read(policy, "RoutingPolicyOut", "name")) });
  const titleId = nextId("edit-title");
  const form = h("form", { class: "route-editor", "aria-labelledby": titleId },
    h("h3", { id: titleId }, `Edit ${read(policy, "RoutingPolicyOut", "name")}`),
    h("datalist", { id: datalist }, models.map((m) => h("option", { value: m }))),
    h("div", { class: "grid" }, strategy,
      field("Attempts per target", { name: "max_attempts", type: "number", min: "1", max: "5", step: "1",
        value: num(read(policy, "RoutingPolicyOut", "retries") && read(policy, "RoutingPolicyOut", "retries").max_attempts) }),
      field("Timeout (seconds)", { name: "timeout_s", type: "number", min: "0.001", step: "any", value: num(read(policy, "RoutingPolicyOut", "timeout_s")) },
        { hint: "The whole request, every attempt included" }),
      field("Attempt timeout (seconds)", { name: "attempt_timeout_s", type: "number", min: "0.001", step: "any",
        value: num(read(policy, "RoutingPolicyOut", "attempt_timeout_s")) }, { hint: "Each upstream call; empty: none of its own" })),
    h("p", {}, h("label", { class: "check" }, h("input", { type: "checkbox", name: "cache",
      checked: read(policy, "RoutingPolicyOut", "cache") !== false }), " Use the response cache ",
    h("span", { class: "muted" }, "(off: this route's requests always go upstream)"))),
    smart,
    h("fieldset", {}, h("legend", {}, "Targets, in order of preference"), targets, addTarget),
    h("fieldset", {}, h("legend", {}, "Circuit breaker (per target)"), h("div", { class: "grid" },
      field("Failures to open", { name: "failure_threshold", type: "number", min: "1", step: "1", value: num(read(breaker, "BreakerConfig", "failure_threshold")) }),
      field("Cooldown (seconds)", { name: "cooldown_s", type: "number", min: "0.001", step: "any", value: num(read(breaker, "BreakerConfig", "cooldown_s")) }),
      field("Error rate to open", { name: "error_rate", type: "number", min: "0.01", max: "1", step: "0.01", value: num(read(breaker, "BreakerConfig", "error_rate")) },
        { hint: "0–1 of the calls in the window; empty: off" }),
      field("Window (seconds)", { name: "window_s", type: "number", min: "0.001", step: "any", value: num(read(breaker, "BreakerConfig", "window_s")) }),
      field("Minimum calls", { name: "min_requests", type: "number", min: "1", step: "1", value: num(read(breaker, "BreakerConfig", "min_requests")) }))),
    rules.el,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Save changes"),
      h("button", { type: "button", class: "btn", onclick: onCancel }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const updated = await submitting(form, async () => {
      const body = patchBody(form, rules);
      // empty and never set: leave it out (null would clear it)
      if (body.attempt_timeout_s === null && read(policy, "RoutingPolicyOut", "attempt_timeout_s") == null) {
        delete body.attempt_timeout_s;
      }
      return api("PATCH", `/api/routing-policies/${encodeURIComponent(read(policy, "RoutingPolicyOut", "id"))}`, body);
    });
    if (updated === undefined) return;
    toast(`Saved policy ${read(updated, "RoutingPolicyOut", "name")}`);
    onSaved(updated);
  });
  return form;
}

function patchBody(form, rules) {
  const el = form.elements;
  const value = (name) => el.namedItem(name).value.trim();
  const number = (name) => (value(name) === "" ? null : Number(value(name)));
  const body = {
    strategy: value("strategy"),
    targets: [...form.querySelectorAll(".target-row")].map((row) => {
      const [model, weight] = row.querySelectorAll("input");
      const t = { model: model.value.trim() };
      if (weight.value.trim() !== "") t.weight = Number(weight.value);
      return t;
    }).filter((t) => t.model),
    timeout_s: number("timeout_s"),
    attempt_timeout_s: number("attempt_timeout_s"),
    circuit_breaker: { failure_threshold: number("failure_threshold"), cooldown_s: number("cooldown_s"),
      error_rate: number("error_rate"), window_s: number("window_s"), min_requests: number("min_requests") },
    rules: rules.value(),
    cache: el.namedItem("cache").checked,
  };
  if (number("max_attempts") !== null) body.retries = { max_attempts: number("max_attempts") };
  for (const k of Object.keys(body.circuit_breaker)) if (body.circuit_breaker[k] === null && k !== "error_rate") delete body.circuit_breaker[k];
  if (body.timeout_s === null) delete body.timeout_s;
  if (body.strategy === "smart") body.smart = smartBody(value, number);
  return body;
}

/** The smart settings (shown for the smart strategy only): one way to cut, and which scorer scores. */
function smartFields(cfg, num) {
  const thresholds = read(cfg, "SmartConfig", "thresholds");
  const scorer = read(cfg, "SmartConfig", "scorer");
  return h("fieldset", { class: "smart-fields" }, h("legend", {}, "Smart routing"), h("div", { class: "grid" },
    field("Smart threshold", { name: "smart_threshold", type: "number", min: "0", max: "1", step: "0.01",
      value: num(read(cfg, "SmartConfig", "threshold")) }, { hint: "0–1: at or above it, the strongest target first" }),
    field("Strong share", { name: "smart_strong_share", type: "number", min: "0", max: "1", step: "0.01",
      value: num(read(cfg, "SmartConfig", "strong_share")) }, { hint: "0–1 of traffic for the strongest target; replaces the threshold" }),
    field("Tier thresholds", { name: "smart_thresholds", placeholder: "0.4, 0.7", value: thresholds ? thresholds.join(", ") : "" },
      { hint: "Ascending cuts between price tiers; replace the threshold" }),
    field("Scorer", { name: "smart_scorer", placeholder: "builtin", value: scorer && scorer !== "builtin" ? scorer : "" },
      { hint: "Empty: the built-in scorer; or your classifier's https:// URL" }),
    field("Scorer timeout (seconds)", { name: "smart_scorer_timeout_s", type: "number", min: "0.001", max: "10", step: "any",
      value: num(read(cfg, "SmartConfig", "scorer_timeout_s")) }, { hint: "Then the built-in scorer decides" })));
}

// an empty strong share or tier cuts is null (off), an empty scorer the built-in one; an empty threshold or
// timeout is left out (kept as saved)
function smartBody(value, number) {
  const cuts = value("smart_thresholds").split(",").map((c) => c.trim()).filter((c) => c !== "");
  const smart = {
    strong_share: number("smart_strong_share"),
    // a cut that is not a number goes as typed, so the server's error names the field
    thresholds: cuts.length ? cuts.map((c) => (Number.isNaN(Number(c)) ? c : Number(c))) : null,
    scorer: value("smart_scorer") || "builtin",
  };
  if (number("smart_threshold") !== null) smart.threshold = number("smart_threshold");
  if (number("smart_scorer_timeout_s") !== null) smart.scorer_timeout_s = number("smart_scorer_timeout_s");
  return smart;
}
