// Playground: pick a model or route, prompt it, watch the answer stream in, see what it cost and which
// target answered; optionally the same prompt to a second model side by side. Calls /v1 with a
// short-lived key issued for the signed-in user (never a key typed into the page).

import { api, itemsOf } from "../api.js";
import { streamChat } from "../chat-stream.js";
import { field, h, pageHeader, replace } from "../dom.js";
import { int, ms, usd } from "../format.js";
import { PlaygroundKey } from "../playground-key.js";
import { read } from "../schema.js";

const RECORD_WAIT_MS = 20_000;

export async function render(root, { params }) {
  const [models, routes] = await Promise.all([
    api("GET", "/api/models").then(itemsOf),
    api("GET", "/api/routing-policies").then(itemsOf).catch(() => []),
  ]);
  const targets = [
    ["Models", models.filter((m) => read(m, "ModelOut", "enabled") !== false).map((m) => read(m, "ModelOut", "name"))],
    ["Routes", routes.map((r) => read(r, "RoutingPolicyOut", "name"))],
  ].filter(([, names]) => names.length);
  root.append(pageHeader("Playground"));
  if (!targets.length) {
    root.append(h("section", { class: "card" }, h("h2", {}, "Nothing to try yet"),
      h("p", {}, "First ", h("a", { href: "/models", "data-link": "" }, "publish a model"),
        " (after connecting a provider), then come back here to try it.")));
    return;
  }
  const keyLine = h("p", { class: "muted small", id: "playground-key" }, "Getting a short-lived key…");
  const key = new PlaygroundKey((k) => replace(keyLine, "Calls use a short-lived key for you, ",
    h("code", {}, `${read(k, "PlaygroundKeyOut", "key").slice(0, 7)}…${read(k, "PlaygroundKeyOut", "key").slice(-4)}`),
    `, valid until ${new Date(read(k, "PlaygroundKeyOut", "expires_at")).toLocaleTimeString()}`,
    " (renewed automatically; listed on the Keys page)."));
  const first = params.get("model") || targets[0][1][0];
  const form = h("form", { class: "card playground-form", "aria-labelledby": "pg-form-title" },
    h("h2", { id: "pg-form-title", class: "visually-hidden" }, "Prompt"),
    h("div", { class: "grid" },
      targetField("Model or route", "model", targets, first, false),
      targetField("Compare with", "compare", targets, "", true),
      field("Temperature", { name: "temperature", type: "number", min: "0", max: "2", step: "0.1", value: "1" }),
      field("Max tokens", { name: "max_tokens", type: "number", min: "1", step: "1" }, { hint: "Empty: the model's default" })),
    field("System prompt", { name: "system", rows: 2 }, { control: "textarea" }),
    field("Message", { name: "prompt", rows: 4, required: true }, { control: "textarea", hint: "Ctrl+Enter sends" }),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Send"),
      h("button", { type: "button", class: "btn", disabled: true, "data-role": "stop" }, "Stop")),
    h("p", { class: "form-error", role: "alert" }));
  const results = h("div", { class: "compare" });
  root.append(form, keyLine, results);
  let controller = null;
  const stop = form.querySelector("[data-role=stop]");
  stop.addEventListener("click", () => controller && controller.abort());
  form.elements.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = readForm(form);
    if (!values.prompt) {
      form.querySelector(".form-error").textContent = "Write a message to send.";
      form.elements.prompt.setAttribute("aria-invalid", "true");
      form.elements.prompt.focus();
      return;
    }
    form.elements.prompt.removeAttribute("aria-invalid");
    form.querySelector(".form-error").textContent = "";
    controller = new AbortController();
    const send = form.querySelector("[type=submit]");
    send.disabled = true;
    stop.disabled = false;
    const names = [values.model, values.compare].filter(Boolean);
    const panels = names.map((name, i) => new AnswerPanel(name, i));
    replace(results, panels.map((p) => p.el));
    results.dataset.count = String(panels.length);
    await Promise.all(panels.map((p) => p.run(key, request(values, p.model), controller.signal)));
    send.disabled = false;
    stop.disabled = true;
    controller = null;
  });
  try {
    await key.get();
  } catch (err) {
    replace(keyLine, h("span", { class: "form-error", role: "alert" }, `No playground key: ${err.message}`));
  }
}

function targetField(label, name, groups, selected, optional) {
  const id = `pg-${name}`;
  const select = h("select", { id, name },
    optional ? h("option", { value: "" }, "— nothing (one answer) —") : null,
    groups.map(([group, names]) => h("optgroup", { label: group },
      names.map((n) => h("option", { value: n, selected: n === selected }, n)))));
  return h("div", { class: "field" }, h("label", { for: id }, label,
    optional ? h("span", { class: "optional" }, " (optional)") : null), select);
}

function readForm(form) {
  const el = form.elements;
  const number = (v) => (v.trim() === "" ? undefined : Number(v));
  return { model: el.model.value, compare: el.compare.value, system: el.system.value.trim(),
    prompt: el.prompt.value.trim(), temperature: number(el.temperature.value), max_tokens: number(el.max_tokens.value) };
}

function request(values, model) {
  const messages = [];
  if (values.system) messages.push({ role: "system", content: values.system });
  messages.push({ role: "user", content: values.prompt });
  const body = { model, messages };
  if (values.temperature !== undefined) body.temperature = values.temperature;
  if (values.max_tokens !== undefined) body.max_tokens = values.max_tokens;
  return body;
}

/** One model's answer as it streams in, then its numbers and the routing decision. */
class AnswerPanel {
  constructor(model, index) {
    this.model = model;
    const title = `pg-answer-${index}`;
    this.text = h("div", { class: "answer", "aria-live": "polite", "aria-busy": "true", "data-role": "answer" });
    this.status = h("p", { class: "muted small", "data-role": "status" }, "Waiting for the first token…");
    this.stats = h("dl", { class: "kv", "data-role": "stats" });
    this.decision = h("div", { "data-role": "decision" });
    this.el = h("section", { class: "card answer-panel", "aria-labelledby": title, dataset: { model } },
      h("h2", { id: title }, model), this.status, this.text, this.stats, this.decision);
  }

  async run(key, body, signal) {
    let used = null;
    try {
      const result = await key.with((k) => {
        used = k;
        this.text.textContent = "";
        return streamChat(read(k, "PlaygroundKeyOut", "key"), body, { signal, onText: (piece) => {
          this.text.append(piece);
          this.status.textContent = "Streaming…";
        } });
      });
      this.status.textContent = "Done.";
      this.show(result);
      await this.record(used, result);
    } catch (err) {
      this.status.textContent = err.name === "AbortError" ? "Stopped." : "";
      if (err.name !== "AbortError") this.text.append(h("p", { class: "form-error", role: "alert" }, err.message));
    } finally {
      this.text.setAttribute("aria-busy", "false");
    }
  }

  show(result, cost = null) {
    const u = result.usage || {};
    const rows = [
      ["Answered by", result.modelUsed],
      ["Attempts", result.attempts ?? "—"],
      ["Time to first token", ms(result.ttftMs)],
      ["Latency", ms(result.latencyMs)],
      ["Tokens", result.usage ? `${int(u.prompt_tokens)} in · ${int(u.completion_tokens)} out` : "—"],
      ["Cost", cost === null ? "being recorded…" : usd(cost)],
      ["Request id", h("code", {}, result.requestId || "—")],
    ];
    replace(this.stats, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { stat: k } }, v)]));
  }

  /** The gateway's own record of this request: the exact cost and the routing decision. */
  async record(key, result) {
    const deadline = Date.now() + RECORD_WAIT_MS;
    while (Date.now() < deadline && this.el.isConnected) {  // stop once the user has moved on
      const page = await api("GET", `/api/gateway/logs?${new URLSearchParams({ key_id: read(key, "PlaygroundKeyOut", "id"), limit: "50" })}`);
      const found = itemsOf(page).find((r) => r.request_id === result.requestId);
      if (found) {
        this.show(result, found.cost_usd);
        this.showDecision(found.decision);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    this.show(result, undefined);
  }

  showDecision(decision) {
    if (!decision) return;
    const attempts = decision.attempts || [];
    replace(this.decision, h("h3", {}, "Routing decision"),
      h("p", {}, decision.route ? `Route ${decision.route} (${decision.strategy}): ` : "", decision.reason || ""),
      attempts.length ? h("ol", { class: "plan-order" }, attempts.map((a) => h("li", {},
        `${a.model} — ${a.outcome}${a.status ? ` (HTTP ${a.status})` : ""}, ${ms(a.latency_ms)}`))) : null);
  }
}
