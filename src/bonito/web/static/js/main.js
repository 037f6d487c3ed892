// The app shell: client-side routing (History API), session gate, navigation.

import { api, hasSession, logout, setSignedOutHandler } from "./api.js";
import { clearUnread, refreshUnread, startUnreadPolling } from "./bell.js";
import { h, replace, showError } from "./dom.js";

const PAGES = {
  "/login": () => import("./pages/login.js"),
  "/register": () => import("./pages/login.js"),
  "/invite": () => import("./pages/invite.js"),
  "/overview": () => import("./pages/overview.js"),
  "/providers": () => import("./pages/providers.js"),
  "/models": () => import("./pages/models.js"),
  "/keys": () => import("./pages/keys.js"),
  "/routing": () => import("./pages/routing.js"),
  "/logs": () => import("./pages/logs.js"),
  "/playground": () => import("./pages/playground.js"),
  "/agents": () => import("./pages/agents.js"),
  "/notifications": () => import("./pages/notifications.js"),
  "/costs": () => import("./pages/costs.js"),
  "/budgets": () => import("./pages/budgets.js"),
  "/members": () => import("./pages/members.js"),
  "/audit": () => import("./pages/audit.js"),
};
const PUBLIC = new Set(["/login", "/register", "/invite"]);
// public pages a signed-in user still gets: accepting an invitation signs in as the invited account
const ALSO_SIGNED_IN = new Set(["/invite"]);

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
let renderId = 0;

/** Go to an app path (pushState) and render it. */
export function navigate(path, { replace: swap = false } = {}) {
  if (swap) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  return render();
}

async function render() {
  const id = ++renderId;
  let path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/") {
    path = hasSession() ? "/overview" : "/login";
    history.replaceState(null, "", path);
  }
  if (!PAGES[path]) {
    showShell(hasSession());
    replace(main, h("h1", { tabindex: "-1" }, "Page not found"),
      h("p", {}, h("a", { href: "/overview", "data-link": "" }, "Back to the overview")));
    return;
  }
  if (!PUBLIC.has(path) && !hasSession()) {
    const next = encodeURIComponent(location.pathname + location.search);
    history.replaceState(null, "", `/login?next=${next}`);
    path = "/login";
  }
  if (PUBLIC.has(path) && hasSession() && !ALSO_SIGNED_IN.has(path)) {
    history.replaceState(null, "", "/overview");
    path = "/overview";
  }
  showShell(!PUBLIC.has(path));
  markCurrent(path);
  refreshUnread();
  const page = await PAGES[path]();
  if (id !== renderId) return;
  const view = h("div", { class: "page" });
  replace(main, view);
  try {
    await page.render(view, { path, params: new URLSearchParams(location.search), navigate, forgetAccount });
  } catch (err) {
    if (err.status !== 401) showError(err);
  }
  if (id !== renderId) return;
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · Bonito` : "Bonito";
  if (focusOnRender) (heading || main).focus({ preventScroll: false });
}

let focusOnRender = false;

/** Forget who was signed in (the top bar's email and unread count): signed out, or now someone else. */
function forgetAccount() {
  document.getElementById("whoami").textContent = "";
  clearUnread();
}

function showShell(signedIn) {
  topbar.hidden = !signedIn;
  if (signedIn && !document.getElementById("whoami").textContent) loadMe();
}

async function loadMe() {
  try {
    const me = await api("GET", "/api/auth/me");
    const email = me && (me.email || (me.user && me.user.email));
    document.getElementById("whoami").textContent = email || "";
  } catch {
    // the page itself reports API errors
  }
}

function markCurrent(path) {
  for (const a of topbar.querySelectorAll("nav a, #bell")) {
    if (a.getAttribute("href") === path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// In-app links: <a data-link> navigates without reloading (modified clicks still open tabs).
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  if (!a || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  focusOnRender = true;
  navigate(a.getAttribute("href"));
});

window.addEventListener("popstate", () => {
  focusOnRender = true;
  render();
});

document.getElementById("logout").addEventListener("click", () => {
  logout();
  forgetAccount();
  focusOnRender = true;
  navigate("/login", { replace: true });
});

setSignedOutHandler(() => {
  forgetAccount();
  const next = encodeURIComponent(location.pathname + location.search);
  if (!PUBLIC.has(location.pathname)) navigate(`/login?next=${next}`, { replace: true });
});

startUnreadPolling();
render();
