// The top bar's notification bell: the unread count, refreshed on every navigation and
// every 30 s while the tab is visible (and at once when it becomes visible again).

import { api, hasSession } from "./api.js";

const POLL_MS = 30_000;
let latest = 0;

/** Ask the server for the unread count and show it; a stale answer never overwrites a newer one. */
export async function refreshUnread() {
  const bell = document.getElementById("bell");
  if (!bell || !hasSession() || document.getElementById("topbar").hidden) return;
  const asked = ++latest;
  try {
    const body = await api("GET", "/api/notifications/unread-count");
    if (asked === latest) showUnread(Number(body && body.unread) || 0);
  } catch {
    // the bell stays as it was; pages report API errors themselves
  }
}

/** Forget the count (signed out): the next user must not see it. */
export function clearUnread() {
  latest += 1;
  const bell = document.getElementById("bell");
  delete bell.dataset.unread;
  bell.setAttribute("aria-label", "Notifications");
  document.getElementById("unread-count").hidden = true;
}

function showUnread(count) {
  const bell = document.getElementById("bell");
  const badge = document.getElementById("unread-count");
  bell.dataset.unread = String(count);
  bell.setAttribute("aria-label", `Notifications, ${count ? `${count} unread` : "none unread"}`);
  badge.textContent = count > 99 ? "99+" : String(count);
  badge.hidden = count === 0;
}

/** Start the gentle poll (once). */
export function startUnreadPolling() {
  setInterval(() => {
    if (document.visibilityState === "visible") refreshUnread();
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshUnread();
  });
}
