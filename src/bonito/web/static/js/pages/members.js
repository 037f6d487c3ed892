// The org's members: invite by email (a link shown once) or add directly, list and revoke pending
// invitations, change roles, remove. Only admins may change them.

import { api, itemsOf } from "../api.js";
import { confirmDialog, field, formValues, h, nextId, pageHeader, replace, showError, submitting, table, toast }
  from "../dom.js";
import { when } from "../format.js";
import { revealOnce } from "../reveal.js";

const ROLES = [["member", "Member"], ["viewer", "Viewer"], ["admin", "Admin"]];
const ROLE_HELP = "Admins manage providers, models, routing, budgets, members and the audit log; "
  + "members also create and revoke gateway keys; viewers only look.";

export async function render(root) {
  const [org, me, members] = await Promise.all([
    api("GET", "/api/org"),
    api("GET", "/api/auth/me"),
    api("GET", "/api/org/members").then(itemsOf),
  ]);
  const isAdmin = org && org.role === "admin";
  const list = h("section", { class: "card", "aria-labelledby": "members-title" });
  const load = async (fresh) => {
    const rows = fresh || itemsOf(await api("GET", "/api/org/members"));
    replace(list, h("h2", { id: "members-title" }, "Members"),
      memberTable(rows, { isAdmin, myId: me && me.id, reload: () => load() }));
  };
  // only admins may see invitations (the list is a 403 for anyone else)
  const pending = isAdmin ? h("section", { class: "card", "aria-labelledby": "invites-title" }) : null;
  const loadInvites = async () => {
    if (!pending) return;
    const rows = itemsOf(await api("GET", "/api/org/invites"));
    replace(pending, h("h2", { id: "invites-title" }, "Pending invitations"), inviteTable(rows, loadInvites));
  };
  const reveal = h("div", { class: "reveal-slot" });
  replace(root,
    pageHeader("Members"),
    h("p", { class: "muted" }, `${org.name} · you are ${article(org.role)} ${org.role}. ${ROLE_HELP}`),
    isAdmin ? null : h("p", { class: "note", id: "members-readonly" },
      "Only admins can add members, change roles or remove members."),
    addForm(isAdmin, { reveal, onInvited: loadInvites, onAdded: () => load() }),
    reveal,
    pending,
    list);
  await Promise.all([load(members), loadInvites()]);
}

function article(role) {
  return /^[aeiou]/i.test(role || "") ? "an" : "a";
}

// One form, two ways in: the invitation (primary: they choose their own password, or prove theirs) or
// a direct add (the admin sets a new account's password and shares it). The email and role are shared.
function addForm(isAdmin, { reveal, onInvited, onAdded }) {
  const inviteButton = h("button", { type: "submit", class: "btn btn-primary" }, "Create invitation link");
  const addButton = h("button", { type: "submit", class: "btn" }, "Add member");
  const password = field("Password", { name: "password", type: "password", minlength: "8", autocomplete: "new-password" },
    { hint: "Only for someone without a Bonito account yet: at least 8 characters; share it with them" });
  const form = h("form", { class: "card", "aria-labelledby": "add-member-title" },
    h("h2", { id: "add-member-title" }, "Invite someone"),
    h("p", { class: "muted" }, "Creates a link to send them, valid once for 7 days: someone new "
      + "chooses their own password, someone with a Bonito account signs in with theirs."),
    h("fieldset", { class: "plain", disabled: !isAdmin, "aria-describedby": isAdmin ? null : "members-readonly" },
      h("legend", { class: "visually-hidden" }, "New member"),
      h("div", { class: "grid" },
        field("Email", { name: "email", type: "email", required: true, autocomplete: "off" }),
        field("Role", { name: "role", required: true }, { control: "select", options: ROLES })),
      inviteButton,
      h("fieldset", { class: "direct-add" },
        h("legend", {}, "Or add them directly, without a link"),
        password,
        addButton)));
  // Enter in the password field means the direct add, not the form's first (invitation) button
  form.elements.namedItem("password").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    form.requestSubmit(addButton);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    if (event.submitter === addButton) {
      const added = await submitting(form, () => api("POST", "/api/org/members", values));
      if (added === undefined) return;
      form.reset();
      toast(`Added ${added.email} as ${added.role}`);
      await onAdded();
      return;
    }
    const invited = await submitting(form, () => api("POST", "/api/org/invites",
      { email: values.email, role: values.role }));
    if (invited === undefined) return;
    form.reset();
    const link = invited.accept_path ? new URL(invited.accept_path, location.origin).href : "";
    revealOnce(reveal, `Invitation link for ${invited.email} (${invited.role})`, link, { noun: "link" });
    await onInvited();
  });
  return form;
}

function inviteTable(invites, reload) {
  return table("Pending invitations", [
    ["Email", (i) => h("strong", {}, i.email)],
    ["Role", (i) => i.role],
    ["Invited", (i) => when(i.created_at)],
    ["Expires", (i) => when(i.expires_at)],
    ["", (i) => h("button", { type: "button", class: "btn btn-danger", onclick: () => revokeInvite(i, reload) },
      "Revoke", h("span", { class: "visually-hidden" }, ` the invitation for ${i.email}`))],
  ], invites, { empty: "No pending invitations.", rowAttrs: (i) => ({ dataset: { inviteId: i.id, role: i.role } }) });
}

async function revokeInvite(invite, reload) {
  if (!(await confirmDialog(`Revoke the invitation for ${invite.email}? Its link stops working.`, "Revoke"))) return;
  try {
    await api("DELETE", `/api/org/invites/${encodeURIComponent(invite.id)}`);
    toast(`Revoked the invitation for ${invite.email}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}

function memberTable(members, { isAdmin, myId, reload }) {
  return table("Members", [
    ["Email", (m) => [h("strong", {}, m.email), m.user_id === myId ? h("span", { class: "muted" }, " (you)") : null]],
    ["Role", (m) => roleForm(m, isAdmin, reload)],
    ["Joined", (m) => when(m.created_at)],
    ["", (m) => h("button", { type: "button", class: "btn btn-danger", disabled: !isAdmin,
      onclick: () => remove(m, reload) }, "Remove", h("span", { class: "visually-hidden" }, ` ${m.email}`))],
  ], members, { empty: "No members.", rowAttrs: (m) => ({ dataset: { userId: m.user_id, role: m.role } }) });
}

function roleForm(member, isAdmin, reload) {
  const id = nextId("role");
  const select = h("select", { id, name: "role", disabled: !isAdmin },
    ROLES.map(([value, text]) => h("option", { value, selected: value === member.role }, text)));
  const form = h("form", { class: "inline-form role-form" },
    h("label", { for: id, class: "visually-hidden" }, `Role of ${member.email}`),
    select,
    h("button", { type: "submit", class: "btn", disabled: !isAdmin }, "Save role",
      h("span", { class: "visually-hidden" }, ` for ${member.email}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const role = select.value;
    const updated = await submitting(form, () => api("PATCH",
      `/api/org/members/${encodeURIComponent(member.user_id)}`, { role }));
    if (updated === undefined) {
      select.value = member.role;
      return;
    }
    toast(`${updated.email} is now ${article(updated.role)} ${updated.role}`);
    await reload();
  });
  return form;
}

async function remove(member, reload) {
  if (!(await confirmDialog(`Remove ${member.email} from this organization?`, "Remove"))) return;
  try {
    await api("DELETE", `/api/org/members/${encodeURIComponent(member.user_id)}`);
    toast(`Removed ${member.email}`);
    await reload();
  } catch (err) {
    showError(err);
  }
}
