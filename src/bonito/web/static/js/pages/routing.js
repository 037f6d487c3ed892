// Routing policies: list with each one's traffic, create, edit every field in place, delete, and a dry run
// that shows the plan and its reasons.

import { api, itemsOf } from "../api.js";
import { confirmDialog, field, formValues, h, nextId, pageHeader, replace, showError, submitting, table, toast } from "../dom.js";
import { int, percent, usd } from "../format.js";
import { routeEditor } from "../route-editor.js";
import { enumOf, read } from "../schema.js";
import { planView } from "../plan.js";
import { statsControl } from "../policy_stats.js";
import { revealOnce } from "../reveal.js";

// labels for the strategies the server offers (its registry, through /api/openapi.json); new ones show by name
const STRATEGY_LABELS = {
  failover: "Failover (in order)", cost_optimized: "Cost optimized", latency_optimized: "Latency optimized",
  balanced: "Balanced", ab_test: "A/B test (weights)", round_robin: "Round robin", least_busy: "Least busy", smart: "Smart",
};

export async function render(root) {
  const [policies, models, strategies] = await Promise.all([
    api("GET", "/api/routing-policies").then(itemsOf),
    api("GET", "/api/models").then(itemsOf).catch(() => []),
    enumOf("RoutingPolicyIn", "strategy"),
  ]);
  const options = strategies.map((v) => [v, STRATEGY_LABELS[v] || v.replace(/_/g, " ")]);
  const names = models.map((m) => read(m, "ModelOut", "name"));
  const list = h("section", { class: "card", "aria-labelledby": "policies-title" });
  const reveal = h("div", { class: "reveal-slot" });
  const load = async (fresh) => {
    const [rows, traffic] = await Promise.all([
      fresh ? Promise.resolve(fresh) : api("GET", "/api/routing-policies").then(itemsOf),
      api("GET", `/api/gateway/analytics?${new URLSearchParams({ start: new Date(Date.now() - 86400_000).toISOString() })}`)
        .catch(() => ({ by_route: [] })),
    ]);
    const stats = new Map((traffic.by_route || []).map((r) => [r.route, r]));
    const context = { names, strategies: options, routes: rows.map((p) => read(p, "RoutingPolicyOut", "name")), reload: () => load() };
    replace(list, h("h2", { id: "policies-title" }, "Policies"), policyTable(rows, stats, context));
  };
  root.append(pageHeader("Routing policies"),
    createForm(names, options, reveal, () => load()), reveal, list);
  await load(policies);
}

function targetRow(names, index) {
  const listId = "model-names";
  return h("div", { class: "target-row grid", dataset: { target: index } },
    field(`Target ${index + 1} model`, { name: `target.${index}.model`, list: listId, autocomplete: "off",
      required: index === 0 }),
    field(`Target ${index + 1} weight`, { name: `target.${index}.weight`, type: "number", min: "0", max: "100", step: "1" }));
}

function createForm(names, strategies, reveal, onCreated) {
  const targets = h("fieldset", { class: "targets" }, h("legend", {}, "Targets, in order of preference"),
    h("datalist", { id: "model-names" }, names.map((n) => h("option", { value: n }))),
    targetRow(names, 0), targetRow(names, 1));
  const more = h("button", { type: "button", class: "btn btn-ghost" }, "Add target");
  more.addEventListener("click", () => {
    const row = targetRow(names, targets.querySelectorAll(".target-row").length);
    targets.append(row);
    row.querySelector("input").focus();
  });
  const form = h("form", { class: "card", "aria-labelledby": "new-policy-title" },
    h("h2", { id: "new-policy-title" }, "Create a policy"),
    h("div", { class: "grid" },
      field("Policy name", { name: "name", required: true, autocomplete: "off" },
        { hint: "Clients may send it as \"model\"" }),
      field("Strategy", { name: "strategy", required: true }, { control: "select", options: strategies }),
      field("Attempts per target", { name: "max_attempts", type: "number", min: "1", max: "10", step: "1" }),
      field("Timeout (seconds)", { name: "timeout_s", type: "number", min: "1", step: "any" })),
    targets, more,
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "cache", value: "yes", checked: true }),
      " Use the response cache (when the gateway has one)"),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "generate_key", value: "yes" }),
      " Generate an rt- key bound to this policy (shown once)"),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Create policy")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = formValues(form);
    const body = { name: v.name, strategy: v.strategy, targets: [] };
    const rows = form.querySelectorAll(".target-row").length;
    for (let i = 0; i < rows; i += 1) {
      const model = v[`target.${i}.model`];
      if (!model) continue;
      const t = { model };
      if (v[`target.${i}.weight`] !== undefined) t.weight = v[`target.${i}.weight`];
      body.targets.push(t);
    }
    if (v.max_attempts !== undefined) body.retries = { max_attempts: v.max_attempts };
    if (v.timeout_s !== undefined) body.timeout_s = v.timeout_s;
    if (v.generate_key) body.generate_key = true;
    if (!v.cache) body.cache = false;
    const created = await submitting(form, () => api("POST", "/api/routing-policies", body));
    if (created === undefined) return;
    form.reset();
    if (read(created, "RoutingPolicyOut", "key")) revealOnce(reveal, `Key for policy “${created.name}”`, read(created, "RoutingPolicyOut", "key"));
    toast(`Created policy ${read(created, "RoutingPolicyOut", "name")}`);
    await onCreated();
  });
  return form;
}

function policyTable(policies, stats, context) {
  return table("Routing policies", [
    ["Name", (p) => h("strong", {}, p.name)],
    ["Strategy", (p) => read(p, "RoutingPolicyOut", "strategy")],
    ["Targets", (p) => read(p, "RoutingPolicyOut", "targets")
      .map((t) => (typeof t === "string" ? t : `${t.model}${t.weight !== undefined && t.weight !== null ? ` (${t.weight})` : ""}`)).join(" → ")],
    ["Cache", (p) => (read(p, "RoutingPolicyOut", "cache") === false ? "off" : "on")],
    ["Key", (p) => (read(p, "RoutingPolicyOut", "key_prefix") ? h("code", {}, `${read(p, "RoutingPolicyOut", "key_prefix")}…${read(p, "RoutingPolicyOut", "key_last4") || ""}`) : "—")],
    ["Last 24 h", (p) => traffic(stats.get(read(p, "RoutingPolicyOut", "name")))],
    ["Dry run", (p) => testControl(p)],
    ["Stats", (p) => statsControl(p)],
    ["Actions", (p) => h("div", { class: "row-actions" },
      h("button", { type: "button", class: "btn", "aria-expanded": "false", onclick: (e) => toggleEditor(e.currentTarget, p, context) },
        "Edit", h("span", { class: "visually-hidden" }, ` ${p.name}`)),
      h("button", { type: "button", class: "btn btn-danger", onclick: () => remove(p, context.reload) },
        "Delete", h("span", { class: "visually-hidden" }, ` ${p.name}`)))],
  ], policies, { empty: "No routing policies yet.", rowAttrs: (p) => ({ dataset: { policy: p.name } }) });
}

function traffic(s) {
  if (!s || !s.requests) return h("span", { class: "muted" }, "no requests");
  return h("span", { class: "small" }, `${int(s.requests)} req · ${usd(s.cost_usd_exact)} · ${percent(s.error_rate)} errors`);
}

/** Open (or close) the policy's editor in a row right below it. */
function toggleEditor(button, policy, { names, strategies, routes, reload }) {
  const row = button.closest("tr");
  const open = row.nextElementSibling && row.nextElementSibling.classList.contains("edit-row");
  if (open) {
    row.nextElementSibling.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const close = () => { editRow.remove(); button.setAttribute("aria-expanded", "false"); button.focus(); };
  const form = routeEditor(policy, { strategies, models: names, routes,
    onSaved: () => reload(), onCancel: close });
  const editRow = h("tr", { class: "edit-row" }, h("td", { colspan: String(row.children.length) }, form));
  row.after(editRow);
  button.setAttribute("aria-expanded", "true");
  form.querySelector("select, input").focus();
}

async function remove(policy, reload) {
  if (!(await confirmDialog(`Delete routing policy ${policy.name}? Clients sending it as "model" get 404.`, "Delete"))) return;
  try {
    await api("DELETE", `/api/routing-policies/${encodeURIComponent(policy.id)}`);
    toast(`Deleted policy ${policy.name}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}

function testControl(policy) {
  const out = h("div", { class: "plan-slot", "aria-live": "polite" });
  const id = nextId("prompt");
  const form = h("form", { class: "inline-form" },
    h("label", { for: id, class: "visually-hidden" }, `Test prompt for ${policy.name}`),
    h("input", { id, name: "prompt", placeholder: "Test prompt (optional)", autocomplete: "off" }),
    h("button", { type: "submit", class: "btn" }, "Test", h("span", { class: "visually-hidden" }, ` ${policy.name}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const prompt = form.elements.namedItem("prompt").value.trim();
    const body = { request: { messages: [{ role: "user", content: prompt || "Hello" }] } };
    const result = await submitting(form, () => api("POST", `/api/routing-policies/${encodeURIComponent(policy.id)}/test`, body));
    if (result !== undefined) replace(out, planView(result));
  });
  return h("div", {}, form, out);
}
