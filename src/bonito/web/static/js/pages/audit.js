// The audit log (admins): who did what and when, newest first, cursor paging, CSV / JSON-lines export.

import { api, fetchAuthed, itemsOf } from "../api.js";
import { h, pageHeader, showError, table, toast } from "../dom.js";
import { pick, when } from "../format.js";

const PAGE_SIZE = 50;

export async function render(root, { params, navigate }) {
  const cursor = params.get("cursor");
  const back = (params.get("back") || "").split(",").filter(Boolean);
  const exports = [["csv", "Export CSV"], ["jsonl", "Export JSON lines"]].map(([format, label]) => {
    const a = h("a", { class: "btn", href: `/api/audit/export?format=${format}`, download: `bonito-audit.${format}`,
      role: "button" }, label);
    a.addEventListener("click", (event) => {
      event.preventDefault();
      download(a.getAttribute("href"), format, a);
    });
    return a;
  });
  root.append(pageHeader("Audit log", ...exports));

  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) query.set("cursor", cursor);
  let body;
  try {
    body = await api("GET", `/api/audit?${query}`);
  } catch (err) {
    if (err.status !== 403) throw err;
    exports.forEach((a) => a.remove());
    root.append(h("p", { class: "form-error", role: "alert" }, err.message));
    return;
  }
  const items = itemsOf(body);
  const next = pick(body, "next_cursor");
  const pageUrl = (c, b) => {
    const q = new URLSearchParams();
    if (c) q.set("cursor", c);
    if (b.length) q.set("back", b.join(","));
    return `/audit${q.size ? `?${q}` : ""}`;
  };
  const prev = cursor ? h("button", { type: "button", class: "btn",
    onclick: () => navigate(pageUrl(back.at(-1) === "-" ? null : back.at(-1), back.slice(0, -1))) }, "← Newer") : null;
  const older = next ? h("button", { type: "button", class: "btn",
    onclick: () => navigate(pageUrl(next, [...back, cursor || "-"])) }, "Older →") : null;
  root.append(h("section", { class: "card", "aria-labelledby": "audit-title" },
    h("h2", { id: "audit-title", class: "visually-hidden" }, "Events"),
    table("Audit events, newest first", [
      ["Time", (e) => when(e.created_at)],
      ["Action", (e) => h("code", {}, e.action)],
      ["Actor", (e) => e.actor_email || e.actor_id || "—"],
      ["Target", (e) => (e.target_type ? `${e.target_type} ${e.target_id || ""}`.trim() : "—")],
      ["IP", (e) => e.ip || "—"],
      ["Details", (e) => details(e.details)],
    ], items, { empty: "No events yet.", rowAttrs: (e) => ({ dataset: { action: e.action } }) }),
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, h("span", { class: "muted" }, `${items.length} shown`), older)));
}

function details(d) {
  if (!d || typeof d !== "object" || !Object.keys(d).length) return "—";
  return h("dl", { class: "kv kv-compact" }, Object.entries(d).map(([k, v]) => [
    h("dt", {}, k), h("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))]));
}

async function download(href, format, button) {
  button.setAttribute("aria-busy", "true");
  try {
    const resp = await fetchAuthed("GET", href, undefined,
      { accept: format === "csv" ? "text/csv" : "application/x-ndjson" });
    const url = URL.createObjectURL(await resp.blob());
    const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, "");
    const a = h("a", { href: url, download: `bonito-audit-${stamp}.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    toast("Audit log downloaded");
  } catch (err) {
    showError(err);
  } finally {
    button.removeAttribute("aria-busy");
  }
}
