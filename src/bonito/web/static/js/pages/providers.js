// Providers: connect (type-specific credentials), validate, delete. Credentials are write-only.

import { api, itemsOf } from "../api.js";
import { confirmDialog, field, formValues, h, pageHeader, replace, showError, submitting, table, toast } from "../dom.js";
import { when } from "../format.js";
import { read } from "../schema.js";

// [name, label, {secret, required, hint, textarea}] per type, as in bonito.yaml.
const FIELDS = {
  openai: [
    ["api_key", "API key", { secret: true, hint: "Sent upstream as a Bearer token" }],
    ["base_url", "Base URL", { hint: "Any OpenAI-compatible endpoint; default https://api.openai.com/v1" }],
  ],
  azure: [
    ["endpoint", "Endpoint", { required: true, hint: "https://myres.openai.azure.com" }],
    ["api_key", "API key", { secret: true, hint: "Or use the Entra ID fields below" }],
    ["api_version", "API version", { hint: "Default 2024-10-21" }],
    ["tenant_id", "Tenant ID", {}],
    ["client_id", "Client ID", {}],
    ["client_secret", "Client secret", { secret: true }],
  ],
  bedrock: [
    ["region", "Region", { hint: "Default us-east-1" }],
    ["access_key_id", "Access key ID", { secret: true }],
    ["secret_access_key", "Secret access key", { secret: true }],
    ["session_token", "Session token", { secret: true }],
    ["endpoint_url", "Endpoint URL", { hint: "Override for VPC endpoints" }],
  ],
  vertex: [
    ["project", "Project", { required: true }],
    ["location", "Location", { hint: "Default us-central1" }],
    ["service_account_json", "Service account JSON", { secret: true, textarea: true }],
    ["service_account_file", "Service account file", { hint: "A path on the server, instead of the JSON" }],
    ["endpoint_url", "Endpoint URL", {}],
  ],
  anthropic: [
    ["api_key", "API key", { secret: true }],
    ["base_url", "Base URL", { hint: "Default https://api.anthropic.com" }],
  ],
};
const TYPE_LABELS = { openai: "OpenAI / compatible", azure: "Azure OpenAI", bedrock: "AWS Bedrock",
  vertex: "Google Vertex AI", anthropic: "Anthropic" };

export async function render(root) {
  const list = h("section", { class: "card", "aria-labelledby": "providers-title" },
    h("h2", { id: "providers-title" }, "Connected providers"), h("p", { class: "muted" }, "Loading…"));
  root.append(pageHeader("Providers"), connectForm(() => load()), list);
  const load = async () => {
    const [providers, statuses] = await Promise.all([api("GET", "/api/providers").then(itemsOf),
      api("GET", "/api/provider-status")]);
    const status = new Map(statuses.map((st) => [read(st, "ProviderStatusOut", "id"), st]));
    replace(list, h("h2", { id: "providers-title" }, "Connected providers"), providerTable(providers, status, load));
    providers.forEach(probe);
  };
  await load();
}

/** Each provider's live health (its adapter's health check), filled in as the answers come. */
async function probe(provider) {
  const cell = document.querySelector(`[data-provider-health="${CSS.escape(String(provider.id))}"]`);
  if (!cell) return;
  try {
    const result = await api("GET", `/api/providers/${encodeURIComponent(provider.id)}/health`);
    const healthy = read(result, "ProviderHealthOut", "healthy");
    cell.textContent = healthy ? "healthy" : "unreachable";
    cell.dataset.ok = String(healthy);
    cell.title = read(result, "ProviderHealthOut", "message");
  } catch (err) {
    cell.textContent = "unknown";
    cell.title = err.message;
  }
}

function lastValidation(st) {
  const seen = st && read(st, "ProviderStatusOut", "last_validation");
  if (!seen) return ["not validated", null];
  return [read(seen, "ValidationSeenOut", "ok") ? "valid" : "invalid", read(seen, "ValidationSeenOut", "at")];
}

function publishedModels(st) {
  const n = st ? read(st, "ProviderStatusOut", "published_models") : 0;
  if (n) return `${n} published`;
  return h("span", { class: "warn", role: "note" }, "No published models: clients cannot reach it");
}

function connectForm(onCreated) {
  const typeSelect = field("Type", { name: "type", required: true }, {
    control: "select", options: Object.entries(TYPE_LABELS) });
  const creds = h("fieldset", { class: "creds" });
  const form = h("form", { class: "card", "aria-labelledby": "connect-title", autocomplete: "off" },
    h("h2", { id: "connect-title" }, "Connect a provider"),
    h("div", { class: "grid" },
      field("Name", { name: "name", required: true, autocomplete: "off" }, { hint: "e.g. openai-prod" }),
      typeSelect),
    creds,
    h("button", { type: "submit", class: "btn btn-primary" }, "Connect provider"));
  const select = typeSelect.querySelector("select");
  const drawCreds = () => {
    replace(creds, h("legend", {}, `${TYPE_LABELS[select.value]} credentials`),
      h("div", { class: "grid" }, FIELDS[select.value].map(([name, label, o]) => field(label,
        { name: `cred.${name}`, required: !!o.required, autocomplete: "off", spellcheck: "false",
          type: o.secret && !o.textarea ? "password" : "text" },
        { hint: o.hint, control: o.textarea ? "textarea" : "input" }))));
  };
  select.addEventListener("change", drawCreds);
  drawCreds();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const credentials = {};
    for (const [k, v] of Object.entries(values)) if (k.startsWith("cred.")) credentials[k.slice(5)] = v;
    const created = await submitting(form, () => api("POST", "/api/providers",
      { name: values.name, type: values.type, credentials }));
    if (created === undefined) return;
    // never keep a secret on screen longer than needed
    form.reset();
    drawCreds();
    toast(`Connected provider ${read(created, "ProviderOut", "name")}`);
    await onCreated();
  });
  return form;
}

function providerTable(providers, status, reload) {
  return table("Connected providers", [
    ["Name", (p) => h("strong", {}, p.name)],
    ["Type", (p) => TYPE_LABELS[p.type] || p.type],
    ["Status", (p) => {
      const [text, at] = lastValidation(status.get(p.id));
      return [h("span", { class: "status", dataset: { providerStatus: p.id, ok: at ? String(text === "valid") : null } }, text),
        at ? h("div", { class: "muted small" }, `checked ${when(at)}`) : null];
    }],
    ["Health", (p) => h("span", { class: "status", dataset: { providerHealth: p.id } }, "checking…")],
    ["Models", (p) => publishedModels(status.get(p.id))],
    ["Added", (p) => when(read(p, "ProviderOut", "created_at"))],
    ["Actions", (p) => h("div", { class: "row-actions" },
      h("button", { type: "button", class: "btn", onclick: (e) => validate(p, e.currentTarget) }, `Validate`,
        h("span", { class: "visually-hidden" }, ` ${p.name}`)),
      h("button", { type: "button", class: "btn btn-danger", onclick: () => remove(p, reload) }, "Delete",
        h("span", { class: "visually-hidden" }, ` ${p.name}`)))],
  ], providers, { empty: "No providers yet. Connect one above." });
}

async function validate(provider, button) {
  const cell = document.querySelector(`[data-provider-status="${CSS.escape(String(provider.id))}"]`);
  button.disabled = true;
  if (cell) cell.textContent = "validating…";
  try {
    const result = await api("POST", `/api/providers/${encodeURIComponent(provider.id)}/validate`);
    const ok = read(result, "ValidationOut", "ok");
    const message = read(result, "ValidationOut", "message");
    const text = ok ? "valid" : `invalid${message ? `: ${message}` : ""}`;
    if (cell) {
      cell.textContent = text;
      cell.dataset.ok = String(!!ok);
    }
    toast(`${provider.name}: ${ok ? "credentials are valid" : text}`);
  } catch (err) {
    if (cell) cell.textContent = `invalid: ${err.message}`;
    showError(err);
  } finally {
    button.disabled = false;
  }
}

async function remove(provider, reload) {
  if (!(await confirmDialog(`Delete provider ${provider.name}?`, "Delete"))) return;
  try {
    await api("DELETE", `/api/providers/${encodeURIComponent(provider.id)}`);
    toast(`Deleted provider ${provider.name}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}
