// In-app notifications: newest first with read state, mark one or all read, and preferences.

import { api, itemsOf } from "../api.js";
import { refreshUnread } from "../bell.js";
import { h, pageHeader, replace, showError, submitting, toast } from "../dom.js";
import { when } from "../format.js";
import { read } from "../schema.js";

const PAGE_SIZE = 50;
const KINDS = [["budget", "Budget thresholds"], ["error_rate", "Error-rate spikes"], ["latency", "Slow p95 latency"],
  ["digest", "Weekly digest"]];
const KIND_LABELS = Object.fromEntries(KINDS);

export async function render(root, { params, navigate }) {
  const unreadOnly = params.get("unread") === "1";
  const markAll = h("button", { type: "button", class: "btn" }, "Mark all as read");
  const onlyUnread = h("input", { type: "checkbox", id: "only-unread", checked: unreadOnly });
  onlyUnread.addEventListener("change", () => navigate(onlyUnread.checked ? "/notifications?unread=1" : "/notifications",
    { replace: true }));
  const list = h("section", { class: "card", "aria-labelledby": "inbox-title", "aria-busy": "true" },
    h("h2", { id: "inbox-title" }, "Inbox"), h("p", { class: "muted" }, "Loading…"));
  const prefs = h("div", { class: "prefs-slot" });
  root.append(
    pageHeader("Notifications", h("label", { class: "check" }, onlyUnread, " Only unread"), markAll),
    list, prefs);

  const load = async () => {
    list.setAttribute("aria-busy", "true");
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (unreadOnly) query.set("unread", "true");
    const body = await api("GET", `/api/notifications?${query}`);
    const items = h("ul", { class: "notifications", "aria-label": "Notifications, newest first" });
    const more = h("div", { class: "pager" });
    replace(list, h("h2", { id: "inbox-title" }, "Inbox"), items, more);
    appendPage(items, more, body, query);
    list.setAttribute("aria-busy", "false");
    refreshUnread();
  };
  markAll.addEventListener("click", async () => {
    markAll.disabled = true;
    try {
      const done = await api("POST", "/api/notifications/read", {});
      toast(`Marked ${read(done, "ReadOut", "marked") ?? 0} as read`);
      await load();
    } catch (err) {
      showError(err);
    } finally {
      markAll.disabled = false;
    }
  });
  const current = await api("GET", "/api/notification-preferences");
  replace(prefs, preferencesForm(current, load));
  await load();
}

function appendPage(list, more, body, query) {
  const items = itemsOf(body);
  if (!list.children.length && !items.length) {
    list.replaceWith(h("p", { class: "empty muted" }, "No notifications. Budget and alert-rule alerts appear here."));
  }
  for (const n of items) list.append(item(n));
  const next = read(body, "NotificationPage", "next_cursor");
  replace(more, next ? h("button", { type: "button", class: "btn", onclick: async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const q = new URLSearchParams(query);
      q.set("cursor", next);
      appendPage(list, more, await api("GET", `/api/notifications?${q}`), query);
    } catch (err) {
      button.disabled = false;
      showError(err);
    }
  } }, "Load older") : null);
}

function item(n) {
  const state = h("span", { class: "badge" });
  const actions = h("div", { class: "row-actions" });
  const li = h("li", { class: "notification", tabindex: "-1", dataset: { id: n.id } },
    h("div", { class: "notification-head" },
      h("h3", {}, n.title),
      state),
    n.body ? h("p", {}, n.body) : null,
    h("p", { class: "muted small" }, `${KIND_LABELS[n.kind] || n.kind} · ${when(n.created_at)}`),
    actions);
  const show = (read) => {
    li.dataset.read = String(read);
    state.className = `badge ${read ? "badge-muted" : "badge-new"}`;
    state.textContent = read ? "Read" : "Unread";
    replace(actions, read ? null : h("button", { type: "button", class: "btn", onclick: markRead },
      "Mark as read", h("span", { class: "visually-hidden" }, `: ${n.title}`)));
  };
  async function markRead(event) {
    event.currentTarget.disabled = true;
    try {
      await api("POST", `/api/notifications/${encodeURIComponent(n.id)}/read`);
      show(true);
      li.focus();
      refreshUnread();
    } catch (err) {
      event.currentTarget.disabled = false;
      showError(err);
    }
  }
  show(Boolean(n.read));
  return li;
}

function preferencesForm(p, onSaved) {
  const box = (name, label, checked, hint) => {
    const id = `pref-${name}`;
    return h("div", { class: "field-check" },
      h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, name, checked }), " ", label),
      hint ? h("small", { class: "muted" }, hint) : null);
  };
  const muted = new Set(p.muted_kinds || []);
  const form = h("form", { class: "card", "aria-labelledby": "prefs-title" },
    h("h2", { id: "prefs-title" }, "Preferences"),
    box("in_app", "Show notifications here", p.in_app !== false, "Off: the inbox and the bell stay empty"),
    box("email", "Email me alerts", p.email !== false, "When the server has SMTP configured"),
    box("weekly_digest", "Weekly usage digest", p.weekly_digest !== false),
    h("fieldset", {},
      h("legend", {}, "Mute these kinds"),
      KINDS.map(([value, label]) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "muted_kinds", value, checked: muted.has(value) }), " ", label))),
    h("button", { type: "submit", class: "btn btn-primary" }, "Save preferences"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const el = (name) => form.elements.namedItem(name);
    const body = {
      in_app: el("in_app").checked,
      email: el("email").checked,
      weekly_digest: el("weekly_digest").checked,
      muted_kinds: [...form.querySelectorAll("input[name=muted_kinds]:checked")].map((c) => c.value),
    };
    const saved = await submitting(form, () => api("PUT", "/api/notification-preferences", body));
    if (saved === undefined) return;
    toast("Preferences saved");
    await onSaved();
  });
  return form;
}
