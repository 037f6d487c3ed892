// VPC agents: the org's agents with their health, a `bt-` token issued once with the command that
// starts an agent, revoking every token; platform admins also see every org's agents.

import { api } from "../api.js";
import { confirmDialog, h, pageHeader, replace, showError, table, toast } from "../dom.js";
import { int, when } from "../format.js";
import { copyButton } from "../copy.js";
import { read } from "../schema.js";

const STATUS_BADGE = { connected: "badge-ok", delayed: "badge-new", offline: "badge-bad" };
const OVERLAPS = [["3600", "1 hour (default)"], ["600", "10 minutes"], ["0", "No overlap: revoke them at once"]];

export async function render(root) {
  const me = await api("GET", "/api/auth/me");
  root.append(pageHeader("Agents"));
  if (read(me, "UserOut", "role") !== "admin") {
    root.append(h("p", { class: "card" }, "Only the organization's admins see and connect VPC agents."));
    if (read(me, "UserOut", "is_platform_admin")) root.append(await adminList());
    return;
  }
  const base = `/api/orgs/${encodeURIComponent(read(me, "UserOut", "org_id"))}/agent`;
  const list = h("section", { class: "card", "aria-labelledby": "agents-title" });
  const load = async () => {
    let body;
    try {
      body = await api("GET", base);
    } catch (err) {
      replace(list, h("h2", { id: "agents-title" }, "Agents"), h("p", { class: "form-error", role: "alert" }, err.message));
      return;
    }
    replace(list, h("div", { class: "page-header" }, h("h2", { id: "agents-title" }, "Agents"),
      h("button", { type: "button", class: "btn", onclick: () => load().then(() => toast("Agents refreshed")) }, "Refresh")),
    agentTable("Agents of this organization", body.agents || [], false));
  };
  root.append(connectCard(base), list);
  await load();
  if (read(me, "UserOut", "is_platform_admin")) root.append(await adminList());
}

function connectCard(base) {
  const slot = h("div", { class: "reveal-slot" });
  const overlap = h("select", { id: "agent-overlap", name: "overlap_s" },
    OVERLAPS.map(([value, text]) => h("option", { value }, text)));
  const issue = h("button", { type: "button", class: "btn btn-primary" }, "Issue a token");
  const revoke = h("button", { type: "button", class: "btn btn-danger" }, "Revoke all tokens");
  issue.addEventListener("click", async () => {
    issue.disabled = true;
    try {
      const created = await api("POST", `${base}/token`, { overlap_s: Number(overlap.value) });
      showToken(slot, created.token);
    } catch (err) {
      showError(err);
    } finally {
      issue.disabled = false;
    }
  });
  revoke.addEventListener("click", async () => {
    if (!(await confirmDialog("Revoke every agent token of this organization? Running agents get 401 until given a new one.",
      "Revoke all"))) return;
    try {
      await api("DELETE", `${base}/token`);
      slot.replaceChildren();
      toast("Every agent token is revoked");
    } catch (err) {
      showError(err);
    }
  });
  return h("section", { class: "card", "aria-labelledby": "connect-title" },
    h("h2", { id: "connect-title" }, "Connect an agent"),
    h("p", {}, "An agent is this gateway run inside your own network: prompts, answers and provider credentials stay there; "
      + "it pulls its keys, models and routes from here and reports usage and health back."),
    h("div", { class: "actions" }, h("label", { for: "agent-overlap", class: "inline-label" }, "Earlier tokens keep working for"),
      overlap, issue, revoke),
    slot);
}

/** The token once, with the command that starts an agent with it. */
function showToken(slot, token) {
  const command = `bonito agent --control-plane ${location.origin} --token ${token}`;
  const code = h("pre", { id: "agent-command" }, h("code", {}, command));
  replace(slot, h("section", { class: "card reveal", role: "alert", "aria-labelledby": "token-title" },
    h("h3", { id: "token-title" }, "New agent token"),
    h("p", {}, "Copy it now: it is shown only once. Run this where the agent should serve:"),
    h("div", { class: "command-row" }, code, copyButton(command, "command")),
    h("p", { class: "muted small" }, "Token: ", h("code", { class: "secret", id: "agent-token" }, token)),
    h("button", { type: "button", class: "btn btn-ghost", onclick: () => slot.replaceChildren() }, "I have saved it")));
  slot.querySelector("button").focus();
}

function agentTable(caption, agents, withOrg) {
  return table(caption, [
    withOrg ? ["Organization", (a) => h("code", {}, a.org_id)] : null,
    ["Host", (a) => h("strong", {}, a.hostname || a.id)],
    ["Status", (a) => h("span", { class: `badge ${STATUS_BADGE[a.status] || "badge-muted"}` }, a.status)],
    ["Last heartbeat", (a) => when(a.last_heartbeat)],
    ["Version", (a) => a.version || "—"],
    ["Requests", (a) => int(a.requests)],
    ["Errors", (a) => int(a.errors)],
    ["Spool depth", (a) => int(a.spool_depth)],
    ["Config version", (a) => a.config_version ?? "—"],
  ].filter(Boolean), agents, {
    empty: "No agent has connected yet. Issue a token above, then run the command it shows on a machine in your network; "
      + "the agent appears here after its first heartbeat.",
    rowAttrs: (a) => ({ dataset: { agent: a.id } }),
  });
}

async function adminList() {
  const section = h("section", { class: "card", "aria-labelledby": "all-agents-title" },
    h("h2", { id: "all-agents-title" }, "Every organization's agents"));
  try {
    const body = await api("GET", "/api/admin/agents");
    section.append(agentTable("Every organization's agents", body.agents || [], true));
  } catch (err) {
    section.append(h("p", { class: "form-error", role: "alert" }, err.message));
  }
  return section;
}
