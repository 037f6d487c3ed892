// Budgets (spend against a cap per period), alert rules, and the webhooks alerts are signed for.

import { api, itemsOf } from "../api.js";
import { confirmDialog, field, formValues, h, nextId, pageHeader, replace, showError, submitting, table, toast }
  from "../dom.js";
import { int, num, usd, when } from "../format.js";
import { read } from "../schema.js";
import { revealOnce } from "../reveal.js";

const PERIODS = [["monthly", "Monthly"], ["weekly", "Weekly"], ["daily", "Daily"]];
const RULE_KINDS = [["budget", "Budget reached"], ["budget_forecast", "Projected to exceed budget"],
  ["error_rate", "Error rate"], ["latency", "p95 latency"]];
const CHANNELS = [["in_app", "In the app"], ["email", "Email"], ["webhook", "Webhooks"]];

export async function render(root) {
  const [budgets, rules, hooks, keys] = await Promise.all([
    api("GET", "/api/budgets").then(itemsOf),
    api("GET", "/api/alert-rules").then(itemsOf),
    api("GET", "/api/alert-webhooks").then(itemsOf),
    api("GET", "/api/gateway/keys").then(itemsOf).catch(() => []),
  ]);
  const keyNames = Object.fromEntries(keys.map((k) => [k.id, k.name]));
  const activeKeys = keys.filter((k) => !read(k, "KeyOut", "revoked_at"));

  const budgetList = h("section", { class: "card", "aria-labelledby": "budgets-title" });
  const loadBudgets = async (fresh) => {
    const rows = fresh || itemsOf(await api("GET", "/api/budgets"));
    replace(budgetList, h("h2", { id: "budgets-title" }, "Budgets"), budgetTable(rows, keyNames, () => loadBudgets()));
  };
  const ruleList = h("section", { class: "card", "aria-labelledby": "rules-title" });
  const loadRules = async (fresh) => {
    const rows = fresh || itemsOf(await api("GET", "/api/alert-rules"));
    replace(ruleList, h("h2", { id: "rules-title" }, "Alert rules"), ruleTable(rows, () => loadRules()));
  };
  const hookList = h("section", { class: "card", "aria-labelledby": "hooks-title" });
  const reveal = h("div", { class: "reveal-slot" });
  const loadHooks = async (fresh) => {
    const rows = fresh || itemsOf(await api("GET", "/api/alert-webhooks"));
    replace(hookList, h("h2", { id: "hooks-title" }, "Alert webhooks"), hookTable(rows, () => loadHooks()));
  };

  root.append(pageHeader("Budgets & alerts"),
    budgetForm(activeKeys, () => loadBudgets()), budgetList,
    ruleForm(() => loadRules()), ruleList,
    hookForm(reveal, () => loadHooks()), reveal, hookList);
  await Promise.all([loadBudgets(budgets), loadRules(rules), loadHooks(hooks)]);
}

// -- budgets --------------------------------------------------------------

function budgetForm(keys, onCreated) {
  const scopes = [["org", "The whole organization"], ...keys.map((k) => [`key:${k.id}`, `Key ${k.name}`])];
  const form = h("form", { class: "card", "aria-labelledby": "new-budget-title" },
    h("h2", { id: "new-budget-title" }, "Set a budget"),
    h("div", { class: "grid" },
      field("Applies to", { name: "scope", required: true }, { control: "select", options: scopes }),
      field("Budget (USD)", { name: "usd", type: "number", min: "0.000001", step: "any", required: true },
        { hint: "Spend in each period, in US dollars" }),
      field("Period", { name: "period", required: true }, { control: "select", options: PERIODS,
        hint: "Periods start at 00:00 UTC (weeks on Monday)" })),
    h("div", { class: "field-check" },
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "hard", value: "yes", checked: true,
        "aria-describedby": "hard-hint" }), " Refuse requests once the budget is spent"),
      h("small", { class: "muted", id: "hard-hint" }, "Unchecked, reaching it only sends alerts")),
    h("fieldset", {},
      h("legend", {}, "Throttle before the cap ", h("span", { class: "optional" }, "(optional)")),
      h("div", { class: "grid" },
        field("Throttle from (% of budget)", { name: "at_percent", type: "number", min: "1", max: "100", step: "any",
          placeholder: "90" }),
        field("Throttled requests per minute", { name: "requests_per_minute", type: "number", min: "1", step: "1" }))),
    h("button", { type: "submit", class: "btn btn-primary" }, "Set budget"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = formValues(form);
    const body = { usd: form.elements.namedItem("usd").value.trim(), period: v.period, hard: Boolean(v.hard) };
    if (v.scope && v.scope.startsWith("key:")) {
      body.scope = "key";
      body.key_id = v.scope.slice(4);
    } else {
      body.scope = "org";
    }
    if (v.requests_per_minute !== undefined || v.at_percent !== undefined) {
      body.throttle = { requests_per_minute: v.requests_per_minute };
      if (v.at_percent !== undefined) body.throttle.at_percent = v.at_percent;
    }
    const created = await submitting(form, () => api("POST", "/api/budgets", body));
    if (created === undefined) return;
    form.reset();
    toast(`Budget of ${usd(created.usd)} per ${periodNoun(created.period)} set`);
    await onCreated();
  });
  return form;
}

function periodNoun(period) {
  return { daily: "day", weekly: "week", monthly: "month" }[period] || period;
}

function scopeLabel(b, keyNames) {
  if (b.scope !== "key") return "Organization";
  return `Key ${keyNames[b.key_id] || b.key_id}`;
}

function budgetTable(budgets, keyNames, reload) {
  return table("Budgets", [
    ["Applies to", (b) => h("strong", {}, scopeLabel(b, keyNames))],
    ["Budget", (b) => `${usd(b.usd)} / ${periodNoun(b.period)}`],
    ["Spent this period", (b) => spend(b)],
    ["Resets", (b) => when(b.resets_at)],
    ["When reached", (b) => [b.hard ? "Refuse requests" : "Alert only",
      b.throttle ? h("div", { class: "muted small" },
        `Throttled to ${int(b.throttle.requests_per_minute)}/min from ${num(b.throttle.at_percent)}%`) : null]],
    ["", (b) => h("div", { class: "row-actions" },
      h("button", { type: "button", class: "btn", onclick: () => editBudget(b, keyNames, reload) },
        "Edit", h("span", { class: "visually-hidden" }, ` budget for ${scopeLabel(b, keyNames)}`)),
      h("button", { type: "button", class: "btn btn-danger", onclick: () => removeBudget(b, keyNames, reload) },
        "Delete", h("span", { class: "visually-hidden" }, ` budget for ${scopeLabel(b, keyNames)}`)))],
  ], budgets, { empty: "No budgets. Set one above to cap spend per period.",
    rowAttrs: (b) => ({ dataset: { budgetId: b.id } }) });
}

function spend(b) {
  const pct = num(b.percent_used);
  const id = nextId("spend");
  return h("div", { class: "spend" },
    h("span", { id }, `${usd(b.spent_usd)} of ${usd(b.usd)} (${pct.toFixed(pct < 10 ? 1 : 0)}%)`),
    h("meter", { min: "0", max: "100", low: "80", high: "99", optimum: "0", value: String(Math.min(pct, 100)),
      "aria-labelledby": id }));
}

/** A modal form (native <dialog>, like the confirmations) changing a budget's amount, hard/soft and throttle. */
function editBudget(b, keyNames, reload) {
  const scope = scopeLabel(b, keyNames);
  const titleId = nextId("edit-budget-title");
  const hardHint = nextId("hard-hint");
  const throttleFields = [
    field("Throttle from (% of budget)", { name: "at_percent", type: "number", min: "1", max: "100", step: "any",
      placeholder: "90", value: b.throttle ? String(b.throttle.at_percent) : "" }),
    field("Throttled requests per minute", { name: "requests_per_minute", type: "number", min: "1", step: "1",
      value: b.throttle ? String(b.throttle.requests_per_minute) : "" })];
  const removeThrottle = b.throttle ? h("input", { type: "checkbox", name: "remove_throttle", value: "yes" }) : null;
  const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
  // novalidate: the server's refusal names the field in the form's alert, as every other form error here
  const form = h("form", { novalidate: true },
    h("h2", { id: titleId }, `Edit the budget for ${scope}`),
    h("p", { class: "muted" }, `Per ${periodNoun(b.period)}. To change what it applies to or its period, set a new budget.`),
    field("Budget (USD)", { name: "usd", type: "number", min: "0.000001", step: "any", required: true,
      value: plainAmount(b.usd), autofocus: true }, { hint: `Spend in each ${periodNoun(b.period)}, in US dollars` }),
    h("div", { class: "field-check" },
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "hard", value: "yes", checked: b.hard,
        "aria-describedby": hardHint }), " Refuse requests once the budget is spent"),
      h("small", { class: "muted", id: hardHint }, "Unchecked, reaching it only sends alerts")),
    h("fieldset", {},
      h("legend", {}, "Throttle before the cap ", h("span", { class: "optional" }, "(optional)")),
      h("div", { class: "grid" }, throttleFields),
      removeThrottle ? h("label", { class: "check" }, removeThrottle, " Remove the throttle") : null),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "actions" }, cancel, h("button", { type: "submit", class: "btn btn-primary" }, "Save")));
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId }, form);
  // a throttle being removed has no values to edit
  const syncThrottle = () => {
    for (const name of ["at_percent", "requests_per_minute"]) {
      form.elements.namedItem(name).disabled = Boolean(removeThrottle && removeThrottle.checked);
    }
  };
  if (removeThrottle) removeThrottle.addEventListener("change", syncThrottle);
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = budgetChanges(b, form);
    if (!Object.keys(body).length) {
      dialog.close();
      return;
    }
    const updated = await submitting(form, () => api("PATCH", `/api/budgets/${encodeURIComponent(b.id)}`, body));
    syncThrottle();  // submitting() re-enables every control
    if (updated === undefined) return;
    dialog.close();
    toast(`Budget for ${scope} updated: ${usd(updated.usd)} / ${periodNoun(updated.period)}, `
      + `${updated.hard ? "refuses requests" : "alert only"} when reached`);
    await reload();
  });
  document.body.append(dialog);
  dialog.showModal();
}

/** "5.000000" → "5", "2.500000" → "2.5": the decimal string as a person would type it. */
function plainAmount(value) {
  const text = String(value);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** The PATCH body: only what the form changes (empty throttle fields on a throttled budget remove it). */
function budgetChanges(b, form) {
  const v = formValues(form);
  const body = {};
  const amount = form.elements.namedItem("usd").value.trim();
  if (amount === "" || Number(amount) !== Number(b.usd)) body.usd = amount;  // "" too: the server says why
  if (Boolean(v.hard) !== b.hard) body.hard = Boolean(v.hard);
  if (v.remove_throttle || (b.throttle && v.at_percent === undefined && v.requests_per_minute === undefined)) {
    if (b.throttle) body.remove_throttle = true;
  } else if (v.at_percent !== undefined || v.requests_per_minute !== undefined) {
    const throttle = { requests_per_minute: v.requests_per_minute };
    if (v.at_percent !== undefined) throttle.at_percent = v.at_percent;
    const same = b.throttle && Number(b.throttle.at_percent) === Number(v.at_percent ?? 90)
      && Number(b.throttle.requests_per_minute) === v.requests_per_minute;
    if (!same) body.throttle = throttle;
  }
  return body;
}

async function removeBudget(b, keyNames, reload) {
  if (!(await confirmDialog(`Delete the budget for ${scopeLabel(b, keyNames)}? Its spend is no longer capped.`,
    "Delete"))) return;
  try {
    await api("DELETE", `/api/budgets/${encodeURIComponent(b.id)}`);
    toast(`Deleted the budget for ${scopeLabel(b, keyNames)}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}

// -- alert rules ------------------------------------------------------------

function ruleForm(onCreated) {
  const form = h("form", { class: "card", "aria-labelledby": "new-rule-title" },
    h("h2", { id: "new-rule-title" }, "Create an alert rule"),
    h("div", { class: "grid" },
      field("Rule name", { name: "name", required: true, autocomplete: "off" }),
      field("Alert on", { name: "kind", required: true }, { control: "select", options: RULE_KINDS }),
      field("Threshold", { name: "threshold", type: "number", min: "0", step: "any", required: true },
        { hint: "Budget: % of a budget · error rate: % of requests failing · latency: p95 in ms" }),
      field("Window (minutes)", { name: "window_minutes", type: "number", min: "1", max: "1440", step: "1",
        placeholder: "5" }, { hint: "Error rate and latency only" }),
      field("Minimum requests", { name: "min_requests", type: "number", min: "1", step: "1", placeholder: "20" },
        { hint: "Error rate and latency only: fewer requests in the window never alert" })),
    h("fieldset", {},
      h("legend", {}, "Send to"),
      CHANNELS.map(([value, label]) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "channels", value, checked: true }), " ", label))),
    h("button", { type: "submit", class: "btn btn-primary" }, "Create rule"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = formValues(form);
    const body = { name: v.name, kind: v.kind, threshold: v.threshold, channels: v.channels || [] };
    if (v.window_minutes !== undefined) body.window_minutes = v.window_minutes;
    if (v.min_requests !== undefined) body.min_requests = v.min_requests;
    const created = await submitting(form, () => api("POST", "/api/alert-rules", body));
    if (created === undefined) return;
    form.reset();
    toast(`Created alert rule ${created.name}`);
    await onCreated();
  });
  return form;
}

function threshold(r) {
  const t = num(r.threshold);
  if (r.kind === "budget") return `${t}% of a budget`;
  if (r.kind === "error_rate") return `${t}% of requests failing`;
  if (r.kind === "latency") return `p95 ≥ ${t} ms`;
  return String(t);
}

function ruleTable(rules, reload) {
  const kinds = Object.fromEntries(RULE_KINDS);
  return table("Alert rules", [
    ["Name", (r) => h("strong", {}, r.name)],
    ["Alert on", (r) => kinds[r.kind] || r.kind],
    ["Threshold", (r) => [h("div", {}, threshold(r)), thresholdForm(r, reload)]],
    ["Window", (r) => (r.kind === "budget" ? "—" : `${int(r.window_minutes)} min, ≥ ${int(r.min_requests)} requests`)],
    ["Send to", (r) => CHANNELS.filter(([c]) => (r.channels || []).includes(c)).map(([, label]) => label).join(", ")],
    ["Status", (r) => h("span", { class: `badge ${r.enabled ? "badge-ok" : "badge-muted"}` }, r.enabled ? "Enabled" : "Disabled")],
    ["", (r) => h("div", { class: "row-actions" },
      h("button", { type: "button", class: "btn", onclick: () => patchRule(r, { enabled: !r.enabled }, reload) },
        r.enabled ? "Disable" : "Enable", h("span", { class: "visually-hidden" }, ` ${r.name}`)),
      h("button", { type: "button", class: "btn btn-danger", onclick: () => removeRule(r, reload) },
        "Delete", h("span", { class: "visually-hidden" }, ` rule ${r.name}`)))],
  ], rules, { empty: "No alert rules. Budgets alert at 50, 80 and 100% by default.",
    rowAttrs: (r) => ({ dataset: { ruleId: r.id } }) });
}

function thresholdForm(rule, reload) {
  const id = nextId("threshold");
  const form = h("form", { class: "inline-form" },
    h("label", { for: id, class: "visually-hidden" }, `New threshold for ${rule.name}`),
    h("input", { id, name: "threshold", type: "number", min: "0", step: "any", required: true,
      placeholder: "New threshold" }),
    h("button", { type: "submit", class: "btn" }, "Update", h("span", { class: "visually-hidden" }, ` ${rule.name}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = formValues(form).threshold;
    const updated = await submitting(form, () => api("PATCH", `/api/alert-rules/${encodeURIComponent(rule.id)}`,
      { threshold: value }));
    if (updated === undefined) return;
    toast(`Rule ${rule.name} now alerts at ${threshold(updated)}`);
    await reload();
  });
  return form;
}

async function patchRule(rule, body, reload) {
  try {
    const updated = await api("PATCH", `/api/alert-rules/${encodeURIComponent(rule.id)}`, body);
    toast(`Rule ${rule.name} ${updated.enabled ? "enabled" : "disabled"}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}

async function removeRule(rule, reload) {
  if (!(await confirmDialog(`Delete alert rule ${rule.name}?`, "Delete"))) return;
  try {
    await api("DELETE", `/api/alert-rules/${encodeURIComponent(rule.id)}`);
    toast(`Deleted alert rule ${rule.name}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}

// -- webhooks ---------------------------------------------------------------

function hookForm(reveal, onCreated) {
  const form = h("form", { class: "card", "aria-labelledby": "new-hook-title" },
    h("h2", { id: "new-hook-title" }, "Add an alert webhook"),
    h("p", { class: "muted" }, "Alerts are POSTed as JSON, signed: X-Bonito-Signature = sha256=HMAC-SHA256(secret, \"<timestamp>.<body>\")."),
    h("div", { class: "grid" },
      field("Webhook URL", { name: "url", type: "url", required: true, autocomplete: "off",
        placeholder: "https://hooks.example.com/bonito" }),
      field("Signing secret", { name: "secret", type: "password", minlength: "16", autocomplete: "new-password" },
        { hint: "At least 16 characters. Empty: one is generated and shown once" })),
    h("button", { type: "submit", class: "btn btn-primary" }, "Add webhook"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const created = await submitting(form, () => api("POST", "/api/alert-webhooks", values));
    if (created === undefined) return;
    form.reset();
    revealOnce(reveal, `Signing secret for ${created.url}`, read(created, "WebhookCreatedOut", "secret"), { noun: "secret" });
    await onCreated();
  });
  return form;
}

function hookTable(hooks, reload) {
  return table("Alert webhooks", [
    ["URL", (w) => h("code", {}, w.url)],
    ["Added", (w) => when(w.created_at)],
    ["Test", (w) => testControl(w)],
    ["", (w) => h("button", { type: "button", class: "btn btn-danger", onclick: () => removeHook(w, reload) },
      "Delete", h("span", { class: "visually-hidden" }, ` webhook ${w.url}`))],
  ], hooks, { empty: "No webhooks. Alerts go to the app (and email, when configured)." });
}

/** "Send test" posts one signed alert.test event; the outcome is announced beside the button. */
function testControl(hook) {
  const outcome = h("span", { class: "status", role: "status" });
  const button = h("button", { type: "button", class: "btn" },
    "Send test", h("span", { class: "visually-hidden" }, ` to ${hook.url}`));
  button.addEventListener("click", async () => {
    button.disabled = true;
    delete outcome.dataset.ok;
    outcome.textContent = "Sending…";
    try {
      const result = await api("POST", `/api/alert-webhooks/${encodeURIComponent(hook.id)}/test`);
      outcome.dataset.ok = String(result.delivered);
      outcome.textContent = result.delivered ? "Test event delivered" : `Not delivered: ${result.error || "no reason given"}`;
    } catch (err) {
      outcome.textContent = "";
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "row-actions" }, button, outcome);
}

async function removeHook(hook, reload) {
  if (!(await confirmDialog(`Stop sending alerts to ${hook.url}?`, "Delete"))) return;
  try {
    await api("DELETE", `/api/alert-webhooks/${encodeURIComponent(hook.id)}`);
    toast(`Deleted webhook ${hook.url}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}
