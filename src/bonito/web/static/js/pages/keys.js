// Gateway keys: create (plaintext shown once), list as prefix…last4, switch the response cache per key, revoke.

import { api, itemsOf } from "../api.js";
import { confirmDialog, field, formValues, h, pageHeader, replace, showError, submitting, table, toast } from "../dom.js";
import { int, when } from "../format.js";
import { read } from "../schema.js";
import { revealOnce } from "../reveal.js";

export async function render(root) {
  const [keys, models] = await Promise.all([
    api("GET", "/api/gateway/keys").then(itemsOf),
    api("GET", "/api/models").then(itemsOf).catch(() => []),
  ]);
  const reveal = h("div", { class: "reveal-slot" });
  const list = h("section", { class: "card", "aria-labelledby": "keys-title" });
  const load = async (fresh) => {
    const active = fresh.filter((k) => !read(k, "KeyOut", "revoked_at"));
    replace(list, h("h2", { id: "keys-title" }, "Keys"), keyTable(active, async () => {
      load(itemsOf(await api("GET", "/api/gateway/keys")));
    }));
  };
  root.append(pageHeader("Gateway keys"), createForm(models, reveal, async () => {
    load(itemsOf(await api("GET", "/api/gateway/keys")));
  }), reveal, list);
  await load(keys);
}

function createForm(models, reveal, onCreated) {
  const names = models.map((m) => read(m, "ModelOut", "name"));
  const cacheBox = h("input", { type: "checkbox", checked: true });
  const form = h("form", { class: "card", "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, "Create a key"),
    h("div", { class: "grid" },
      field("Key name", { name: "name", required: true, autocomplete: "off" }, { hint: "Who or what uses it, e.g. ci" }),
      field("Requests per minute", { name: "requests_per_minute", type: "number", min: "1", step: "1" },
        { hint: "Empty: the default limit" })),
    names.length ? h("fieldset", { class: "checks" },
      h("legend", {}, "Allowed models ", h("span", { class: "optional" }, "(none checked: all models)")),
      names.map((name) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "allowed_models", value: name }), " ", name))) : null,
    // unnamed: formValues() gathers checkboxes as lists; this one is sent as a boolean below
    h("p", {}, h("label", { class: "check" }, cacheBox, " Use the response cache ",
      h("span", { class: "muted" }, "(off: never answered from, nor stored in, the cache)"))),
    h("button", { type: "submit", class: "btn btn-primary" }, "Create key"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = { ...formValues(form), cache: cacheBox.checked };
    const created = await submitting(form, () => api("POST", "/api/gateway/keys", values));
    if (created === undefined) return;
    form.reset();
    cacheBox.checked = true;
    revealOnce(reveal, `New key “${read(created, "KeyCreatedOut", "name")}”`, read(created, "KeyCreatedOut", "key"));
    await onCreated();
  });
  return form;
}

function keyTable(keys, reload) {
  return table("Keys", [
    ["Name", (k) => h("strong", {}, k.name)],
    ["Key", (k) => h("code", { class: "masked-key" }, read(k, "KeyOut", "display"))],
    ["Limit", (k) => (read(k, "KeyOut", "requests_per_minute") ? `${int(read(k, "KeyOut", "requests_per_minute"))}/min` : "default")],
    ["Models", (k) => allowed(k)],
    ["Cache", (k) => cacheSwitch(k)],
    ["Created", (k) => when(read(k, "KeyOut", "created_at"))],
    ["Expires", (k) => (read(k, "KeyOut", "expires_at") ? when(read(k, "KeyOut", "expires_at")) : "never")],
    ["", (k) => h("button", { type: "button", class: "btn btn-danger", onclick: () => revoke(k, reload) },
      "Revoke", h("span", { class: "visually-hidden" }, ` ${k.name}`))],
  ], keys, { empty: "No active keys. Create one above." });
}

function allowed(k) {
  const a = read(k, "KeyOut", "allowed_models");
  const list = Array.isArray(a) ? a : a && typeof a === "object" ? [...(a.models || []), ...(a.providers || []).map((p) => `provider:${p}`)] : [];
  return list.length ? list.join(", ") : "all";
}

/** A switch that turns the response cache on or off for the key at once (PATCH), put back if refused. */
function cacheSwitch(key) {
  const box = h("input", { type: "checkbox", role: "switch", checked: read(key, "KeyOut", "cache") !== false });
  const state = h("span", { "aria-hidden": "true" });  // the switch's state in words, not by its look alone
  const show = () => { state.textContent = box.checked ? "on" : "off"; };
  show();
  // not `disabled` while saving: that would drop the keyboard focus; further clicks wait instead
  let saving = false;
  box.addEventListener("click", (event) => { if (saving) event.preventDefault(); });
  box.addEventListener("change", async () => {
    const on = box.checked;
    saving = true;
    box.setAttribute("aria-busy", "true");
    try {
      const saved = await api("PATCH", `/api/gateway/keys/${encodeURIComponent(key.id)}`, { cache: on });
      box.checked = read(saved, "KeyOut", "cache") !== false;
      toast(`Response cache ${box.checked ? "on" : "off"} for key ${key.name}`);
    } catch (err) {
      box.checked = !on;
      showError(err);
    } finally {
      saving = false;
      box.removeAttribute("aria-busy");
      show();
    }
  });
  return h("label", { class: "check" }, box, state,
    h("span", { class: "visually-hidden" }, `Response cache for ${key.name}`));
}

async function revoke(key, reload) {
  if (!(await confirmDialog(`Revoke key ${key.name}? Apps using it will get 401.`, "Revoke"))) return;
  try {
    await api("DELETE", `/api/gateway/keys/${encodeURIComponent(key.id)}`);
    toast(`Revoked key ${key.name}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}
