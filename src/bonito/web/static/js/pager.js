// Keyset paging for listings that answer {items, next_cursor}: the URL keeps the filters, the cursor and
// the trail of cursors back to the newest page, so reload and Back keep the place.

import { h } from "./dom.js";

/** The "← Newer · n shown · Older →" bar for `path` with `filters`, at `cursor` (with `back` trail). */
export function pager({ path, filters, cursor, back, next, shown, navigate }) {
  const url = (c, b) => {
    const q = new URLSearchParams(filters);
    if (c) q.set("cursor", c);
    if (b.length) q.set("back", b.join(","));
    return `${path}${q.size ? `?${q}` : ""}`;
  };
  const newer = cursor ? h("button", { type: "button", class: "btn",
    onclick: () => navigate(url(back.at(-1) === "-" ? null : back.at(-1), back.slice(0, -1))) }, "← Newer") : null;
  const older = next ? h("button", { type: "button", class: "btn",
    onclick: () => navigate(url(next, [...back, cursor || "-"])) }, "Older →") : null;
  return h("nav", { class: "pager", "aria-label": "Pages" }, newer, h("span", { class: "muted" }, `${shown} shown`),
    older);
}

/** The cursor trail a page was opened with (`?back=`). */
export function trail(params) {
  return (params.get("back") || "").split(",").filter(Boolean);
}
