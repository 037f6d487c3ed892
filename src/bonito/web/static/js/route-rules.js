// The rules of a route, edited as rows: each rule matches all (AND) or any (OR) of its conditions, then
// narrows the route to some targets or hands the request to another route. A rule whose conditions nest
// deeper than one all/any level is kept as JSON, editable as text.

import { h, nextId } from "./dom.js";

const OPS = ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "matches", "exists"];
const FIELDS = ["metadata.", "max_tokens", "temperature", "user", "stream", "response_format.type", "prompt_tokens",
  "message_count"];

/** An editor for `rules`; `.value()` gives them back in the API's shape (throws Error naming a bad rule). */
export function rulesEditor(rules, { models, routes }) {
  const list = h("div", { class: "rules" });
  const add = h("button", { type: "button", class: "btn" }, "Add rule");
  const fieldsList = nextId("rule-fields");
  add.addEventListener("click", () => {
    const row = ruleRow({ name: "", when: { all: [{ field: "", op: "eq", value: "" }] }, targets: [] }, list.children.length);
    list.append(row.el);
    row.el.querySelector("input").focus();
  });
  const rows = [];
  const ruleRow = (rule, index) => {
    const flat = flatten(rule.when);
    const r = flat ? structured(rule, flat, index, { models, routes, fieldsList }) : raw(rule, index);
    const remove = h("button", { type: "button", class: "btn btn-danger" }, "Remove rule",
      h("span", { class: "visually-hidden" }, ` ${index + 1}`));
    remove.addEventListener("click", () => { r.el.remove(); rows.splice(rows.indexOf(r), 1); });
    r.el.append(h("div", { class: "actions" }, remove));
    rows.push(r);
    return r;
  };
  (rules || []).forEach((rule, i) => list.append(ruleRow(rule, i).el));
  const el = h("fieldset", { class: "rules-editor" },
    h("legend", {}, "Rules ", h("span", { class: "optional" }, "(checked in order before the strategy)")),
    h("datalist", { id: fieldsList }, FIELDS.map((f) => h("option", { value: f }))),
    list, add);
  return { el, value: () => rows.filter((r) => r.el.isConnected).map((r) => r.value()) };
}

/** {all|any: [simple conditions]} → [mode, conditions]; null when it nests deeper. */
function flatten(when) {
  if (!when || typeof when !== "object") return null;
  const mode = Array.isArray(when.all) ? "all" : Array.isArray(when.any) ? "any" : null;
  if (!mode) return "field" in when ? ["all", [when]] : null;
  const conds = when[mode];
  return conds.every((c) => c && typeof c === "object" && "field" in c) ? [mode, conds] : null;
}

function structured(rule, [mode, conds], index, { models, routes, fieldsList }) {
  const n = index + 1;
  const name = h("input", { value: rule.name || "", "aria-label": `Rule ${n} name`, autocomplete: "off", required: true });
  const match = h("select", { "aria-label": `Rule ${n} matches` },
    h("option", { value: "all", selected: mode === "all" }, "all of (AND)"),
    h("option", { value: "any", selected: mode === "any" }, "any of (OR)"));
  const condList = h("div", { class: "conditions" });
  const addCond = h("button", { type: "button", class: "btn btn-ghost" }, "Add condition",
    h("span", { class: "visually-hidden" }, ` to rule ${n}`));
  const condRow = (c) => {
    const k = condList.children.length + 1;
    const label = `Rule ${n} condition ${k}`;
    const row = h("div", { class: "condition" },
      h("input", { value: c.field || "", list: fieldsList, "aria-label": `${label} field`, autocomplete: "off", required: true }),
      h("select", { "aria-label": `${label} operator` }, OPS.map((op) => h("option", { value: op, selected: (c.op || "eq") === op }, op))),
      h("input", { value: shown(c.value), "aria-label": `${label} value`, autocomplete: "off" }),
      h("button", { type: "button", class: "btn btn-ghost", onclick: () => row.remove() }, "×",
        h("span", { class: "visually-hidden" }, ` remove ${label}`)));
    condList.append(row);
    return row;
  };
  conds.forEach(condRow);
  addCond.addEventListener("click", () => condRow({ field: "", op: "eq", value: "" }).querySelector("input").focus());
  const toRoute = typeof rule.route === "string";
  const action = h("select", { "aria-label": `Rule ${n} then` },
    h("option", { value: "targets", selected: !toRoute }, "use these targets"),
    h("option", { value: "route", selected: toRoute, disabled: !routes.length && !toRoute }, "hand to route"));
  const targetChecks = h("div", { class: "checks" }, models.map((m) => h("label", { class: "check" },
    h("input", { type: "checkbox", value: m, checked: (rule.targets || []).includes(m) }), " ", m)));
  const routeSelect = h("select", { "aria-label": `Rule ${n} route` },
    routes.map((r) => h("option", { value: r, selected: rule.route === r }, r)));
  const sync = () => { targetChecks.hidden = action.value !== "targets"; routeSelect.hidden = action.value !== "route"; };
  action.addEventListener("change", sync);
  sync();
  const el = h("div", { class: "rule card", dataset: { rule: String(n) } },
    h("div", { class: "rule-head" }, h("strong", {}, `Rule ${n}`), name, h("span", {}, "when"), match),
    condList, addCond, h("div", { class: "rule-head" }, h("span", {}, "then"), action, routeSelect), targetChecks);
  return {
    el,
    value: () => {
      const conditions = [...condList.querySelectorAll(".condition")].map((row) => {
        const [f, op, v] = row.querySelectorAll("input, select");
        return { field: f.value.trim(), op: op.value, value: parsed(v.value, op.value) };
      });
      const out = { name: name.value.trim(), when: { [match.value]: conditions } };
      if (action.value === "route") out.route = routeSelect.value;
      else out.targets = [...targetChecks.querySelectorAll("input:checked")].map((c) => c.value);
      return out;
    },
  };
}

function raw(rule, index) {
  const id = nextId("rule-json");
  const text = h("textarea", { id, rows: 6, spellcheck: "false" }, JSON.stringify(rule, null, 2));
  const el = h("div", { class: "rule card" }, h("label", { for: id }, `Rule ${index + 1} (nested conditions, as JSON)`), text);
  return {
    el,
    value: () => {
      try { return JSON.parse(text.value); } catch { throw new Error(`Rule ${index + 1} is not valid JSON`); }
    },
  };
}

function shown(value) {
  if (value === undefined || value === null) return "";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/** "5" → 5, "true" → true, lists for in/not_in, else the text. */
function parsed(text, op) {
  const t = text.trim();
  if (op === "in" || op === "not_in") return t ? t.split(",").map((x) => scalar(x.trim())) : [];
  return scalar(t);
}

function scalar(t) {
  if (t === "true" || t === "false") return t === "true";
  if (t !== "" && !Number.isNaN(Number(t))) return Number(t);
  return t;
}
