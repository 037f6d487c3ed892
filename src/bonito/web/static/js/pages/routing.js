// Routing policies: list, create, and a dry run that shows the plan and its reasons.

import { api, itemsOf } from "../api.js";
import { field, formValues, h, nextId, pageHeader, replace, submitting, table, toast } from "../dom.js";
import { pick } from "../format.js";
import { planView } from "../plan.js";
import { statsControl } from "../policy_stats.js";
import { revealOnce } from "../reveal.js";

const STRATEGIES = [
  ["failover", "Failover (in order)"], ["cost_optimized", "Cost optimized"],
  ["latency_optimized", "Latency optimized"], ["balanced", "Balanced"], ["ab_test", "A/B test (weights)"],
  ["round_robin", "Round robin"], ["least_busy", "Least busy"], ["smart", "Smart"],
];

export async function render(root) {
  const [policies, models] = await Promise.all([
    api("GET", "/api/routing-policies").then(itemsOf),
    api("GET", "/api/models").then(itemsOf).catch(() => []),
  ]);
  const names = models.map((m) => pick(m, "name", "alias")).filter(Boolean);
  const list = h("section", { class: "card", "aria-labelledby": "policies-title" });
  const reveal = h("div", { class: "reveal-slot" });
  const load = (fresh) => replace(list, h("h2", { id: "policies-title" }, "Policies"), policyTable(fresh));
  root.append(pageHeader("Routing policies"),
    createForm(names, reveal, async () => load(itemsOf(await api("GET", "/api/routing-policies")))), reveal, list);
  load(policies);
}

function targetRow(names, index) {
  const listId = "model-names";
  return h("div", { class: "target-row grid", dataset: { target: index } },
    field(`Target ${index + 1} model`, { name: `target.${index}.model`, list: listId, autocomplete: "off",
      required: index === 0 }),
    field(`Target ${index + 1} weight`, { name: `target.${index}.weight`, type: "number", min: "0", max: "100", step: "1" }));
}

function createForm(names, reveal, onCreated) {
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
      field("Strategy", { name: "strategy", required: true }, { control: "select", options: STRATEGIES }),
      field("Attempts per target", { name: "max_attempts", type: "number", min: "1", max: "10", step: "1" }),
      field("Timeout (seconds)", { name: "timeout_s", type: "number", min: "1", step: "any" })),
    targets, more,
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
    const created = await submitting(form, () => api("POST", "/api/routing-policies", body));
    if (created === undefined) return;
    form.reset();
    if (created && created.key) revealOnce(reveal, `Key for policy “${created.name}”`, created.key);
    toast(`Created policy ${pick(created, "name") || body.name}`);
    await onCreated();
  });
  return form;
}

function policyTable(policies) {
  return table("Routing policies", [
    ["Name", (p) => h("strong", {}, p.name)],
    ["Strategy", (p) => pick(p, "strategy") || pick(p.config, "strategy") || "—"],
    ["Targets", (p) => (pick(p, "targets") || pick(p.config, "targets") || [])
      .map((t) => (typeof t === "string" ? t : `${t.model}${t.weight !== undefined && t.weight !== null ? ` (${t.weight})` : ""}`)).join(" → ")],
    ["Key", (p) => (p.key_prefix ? h("code", {}, `${p.key_prefix}…${p.key_last4 || ""}`) : "—")],
    ["Dry run", (p) => testControl(p)],
    ["Stats", (p) => statsControl(p)],
  ], policies, { empty: "No routing policies yet." });
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
