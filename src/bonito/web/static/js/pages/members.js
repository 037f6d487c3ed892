// The org's members: list, add by email, change roles, remove. Only admins may change them.

import { api, itemsOf } from "../api.js";
import { confirmDialog, field, formValues, h, nextId, pageHeader, replace, showError, submitting, table, toast }
  from "../dom.js";
import { when } from "../format.js";

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
  replace(root,
    pageHeader("Members"),
    h("p", { class: "muted" }, `${org.name} · you are ${article(org.role)} ${org.role}. ${ROLE_HELP}`),
    isAdmin ? null : h("p", { class: "note", id: "members-readonly" },
      "Only admins can add members, change roles or remove members."),
    addForm(isAdmin, () => load()),
    list);
  await load(members);
}

function article(role) {
  return /^[aeiou]/i.test(role || "") ? "an" : "a";
}

function addForm(isAdmin, onAdded) {
  const form = h("form", { class: "card", "aria-labelledby": "add-member-title" },
    h("h2", { id: "add-member-title" }, "Add a member"),
    h("fieldset", { class: "plain", disabled: !isAdmin, "aria-describedby": isAdmin ? null : "members-readonly" },
      h("legend", { class: "visually-hidden" }, "New member"),
      h("div", { class: "grid" },
        field("Email", { name: "email", type: "email", required: true, autocomplete: "off" }),
        field("Role", { name: "role", required: true }, { control: "select", options: ROLES }),
        field("Password", { name: "password", type: "password", minlength: "8", autocomplete: "new-password" },
          { hint: "Only for someone without a Bonito account yet: at least 8 characters; share it with them" })),
      h("button", { type: "submit", class: "btn btn-primary" }, "Add member")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const added = await submitting(form, () => api("POST", "/api/org/members", values));
    if (added === undefined) return;
    form.reset();
    toast(`Added ${added.email} as ${added.role}`);
    await onAdded();
  });
  return form;
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
