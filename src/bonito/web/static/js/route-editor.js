// Editing a route in place: every field of a route (strategy, targets and weights, retries, timeouts,
// circuit breaker, smart threshold, rules, response cache) in one form, saved with PATCH /api/routing-policies/{id}.

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
  const smart = field("Smart threshold", { name: "smart_threshold", type: "number", min: "0", max: "1", step: "0.01",
    value: num(read(read(policy, "RoutingPolicyOut", "smart"), "SmartConfig", "threshold")) }, { hint: "0–1: at or above it, the strongest target first" });
  const syncSmart = () => { smart.hidden = strategy.querySelector("select").value !== "smart"; };
  strategy.querySelector("select").addEventListener("change", syncSmart);
  syncSmart();
  const rules = rulesEditor(read(policy, "RoutingPolicyOut", "rules") || [], { models, routes: routes.filter((r) => r !== read(policy, "RoutingPolicyOut", "name")) });
  const titleId = nextId("edit-title");
  const form = h("form", { class: "route-editor", "aria-labelledby": titleId },
    h("h3", { id: titleId }, `Edit ${read(policy, "RoutingPolicyOut", "name")}`),
    h("datalist", { id: datalist }, models.map((m) => h("option", { value: m }))),
    h("div", { class: "grid" }, strategy, smart,
      field("Attempts per target", { name: "max_attempts", type: "number", min: "1", max: "5", step: "1",
        value: num(read(policy, "RoutingPolicyOut", "retries") && read(policy, "RoutingPolicyOut", "retries").max_attempts) }),
      field("Timeout (seconds)", { name: "timeout_s", type: "number", min: "0.001", step: "any", value: num(read(policy, "RoutingPolicyOut", "timeout_s")) },
        { hint: "The whole request, every attempt included" }),
      field("Attempt timeout (seconds)", { name: "attempt_timeout_s", type: "number", min: "0.001", step: "any",
        value: num(read(policy, "RoutingPolicyOut", "attempt_timeout_s")) }, { hint: "Each upstream call; empty: none of its own" })),
    h("p", {}, h("label", { class: "check" }, h("input", { type: "checkbox", name: "cache",
      checked: read(policy, "RoutingPolicyOut", "cache") !== false }), " Use the response cache ",
    h("span", { class: "muted" }, "(off: this route's requests always go upstream)"))),
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
  if (body.strategy === "smart" && number("smart_threshold") !== null) body.smart = { threshold: number("smart_threshold") };
  return body;
}
