// Models: the public names clients send, each mapped to a provider's model, with prices.

import { api, itemsOf } from "../api.js";
import { field, formValues, h, pageHeader, replace, submitting, table, toast } from "../dom.js";
import { read } from "../schema.js";

export async function render(root) {
  const [models, providers] = await Promise.all([
    api("GET", "/api/models").then(itemsOf),
    api("GET", "/api/providers").then(itemsOf),
  ]);
  const list = h("section", { class: "card", "aria-labelledby": "models-title" });
  const load = async (fresh) => {
    replace(list, h("h2", { id: "models-title" }, "Models"), modelTable(fresh, providers));
  };
  root.append(pageHeader("Models"), addForm(providers, async () => load(itemsOf(await api("GET", "/api/models")))), list);
  await load(models);
}

function addForm(providers, onCreated) {
  if (!providers.length) {
    return h("section", { class: "card" }, h("h2", {}, "Add a model"),
      h("p", {}, "Connect a provider first: ", h("a", { href: "/providers", "data-link": "" }, "Providers"), "."));
  }
  const form = h("form", { class: "card", "aria-labelledby": "add-model-title" },
    h("h2", { id: "add-model-title" }, "Add a model"),
    h("div", { class: "grid" },
      field("Public name", { name: "name", required: true, autocomplete: "off" },
        { hint: "What clients send as \"model\", e.g. gpt-4o-mini" }),
      field("Provider", { name: "provider_id", required: true },
        { control: "select", options: providers.map((p) => [p.id, `${p.name} (${p.type})`]) }),
      field("Upstream model", { name: "model", required: true, autocomplete: "off" },
        { hint: "The provider's model id (Azure: the deployment name)" }),
      field("Input price (USD / 1M tokens)", { name: "input_cost_per_mtok", type: "number", min: "0", step: "any",
        inputmode: "decimal" }),
      field("Output price (USD / 1M tokens)", { name: "output_cost_per_mtok", type: "number", min: "0", step: "any",
        inputmode: "decimal" })),
    h("button", { type: "submit", class: "btn btn-primary" }, "Add model"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const created = await submitting(form, () => api("POST", "/api/models", values));
    if (created === undefined) return;
    form.reset();
    toast(`Added model ${read(created, "ModelOut", "name")}`);
    await onCreated();
  });
  return form;
}

function modelTable(models, providers) {
  const names = new Map(providers.map((p) => [String(p.id), p.name]));
  const price = (m, which) => {
    const v = which === "input" ? read(m, "ModelOut", "input_cost_per_mtok") : read(m, "ModelOut", "output_cost_per_mtok");
    return v === undefined || v === null ? "default" : `$${Number(v)}`;
  };
  return table("Models", [
    ["Public name", (m) => h("strong", {}, read(m, "ModelOut", "name"))],
    ["Provider", (m) => names.get(String(read(m, "ModelOut", "provider_id"))) || "—"],
    ["Upstream model", (m) => h("code", {}, read(m, "ModelOut", "model"))],
    ["Input / 1M", (m) => price(m, "input")],
    ["Output / 1M", (m) => price(m, "output")],
    ["Enabled", (m) => (read(m, "ModelOut", "enabled") === false ? "no" : "yes")],
  ], models, { empty: "No models yet. Add one above." });
}
