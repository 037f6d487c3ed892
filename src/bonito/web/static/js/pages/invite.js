// Accept an invitation: the link's token and a password (a new account's, or the existing account's own).

import { authenticate, hasSession } from "../api.js";
import { field, formValues, h, submitting } from "../dom.js";

export async function render(root, { params, navigate, forgetAccount }) {
  const token = params.get("token");
  const title = "Join an organization on Bonito";
  if (!token) {
    root.append(h("div", { class: "auth" }, h("section", { class: "card auth-card", "aria-labelledby": "invite-title" },
      h("h1", { id: "invite-title", tabindex: "-1" }, title),
      h("p", { class: "note", id: "invite-missing" }, "This invitation link is incomplete: it has no token. "
        + "Open the whole link you were sent, or ask an admin of the organization for a new invitation."),
      h("p", { class: "switch" }, "Already a member? ", h("a", { href: "/login", "data-link": "" }, "Sign in")))));
    return;
  }
  const info = await lookUp(token);
  if (!info) {
    root.append(h("div", { class: "auth" }, h("section", { class: "card auth-card", "aria-labelledby": "invite-title" },
      h("h1", { id: "invite-title", tabindex: "-1" }, title),
      h("p", { class: "note", id: "invite-closed", role: "alert" }, "This invitation is invalid, used or expired. "
        + "Ask an admin of the organization for a new one."),
      h("p", { class: "switch" }, "Already a member? ", h("a", { href: "/login", "data-link": "" }, "Sign in")))));
    return;
  }
  const where = info.org_name ? `“${info.org_name}”` : "an organization";
  const form = h("form", { class: "card auth-card", novalidate: true, "aria-labelledby": "invite-title" },
    h("h1", { id: "invite-title", tabindex: "-1" }, title),
    h("p", { class: "muted", id: "invite-what" }, `You've been invited to join ${where} on Bonito as ${info.role}.`),
    hasSession() ? h("p", { class: "note" },
      "You are signed in. Joining signs you in as the invited account instead.") : null,
    field("Email", { name: "email", type: "email", value: info.email, readonly: true, autocomplete: "username" }),
    info.account_exists
      ? field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" },
        { hint: "This email already has a Bonito account: enter its password." })
      : field("Password", { name: "password", type: "password", required: true, autocomplete: "new-password" },
        { hint: "Choose a password for your new account (at least 8 characters)." }),
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Join"),
    h("p", { class: "switch" }, "Already a member? ", h("a", { href: "/login", "data-link": "" }, "Sign in")));

  const password = form.elements.namedItem("password");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    if (!values.password) {
      const box = form.querySelector(".form-error") || form.appendChild(h("p", { class: "form-error", role: "alert" }));
      box.textContent = "Please fill in: Password";
      password.setAttribute("aria-invalid", "true");
      password.focus();
      return;
    }
    const ok = await submitting(form, async () => {
      try {
        await authenticate("/api/auth/accept-invite", { password: values.password }, token);
      } catch (err) {
        // a 401 (the link was just closed, or a wrong password) or a 429 names no field
        if (!err.fields || !err.fields.length) err.fields = ["password"];
        throw err;
      }
      return true;
    });
    if (ok) {
      forgetAccount();
      navigate("/overview", { replace: true });
    } else {
      password.focus();
    }
  });
  root.append(h("div", { class: "auth" }, form));
  password.focus();
}


/** What the invitation (sent as the Bearer credential) opens; null when it is invalid, used or expired (401). */
async function lookUp(token) {
  const resp = await fetch("/api/auth/invite", { headers: { accept: "application/json", authorization: `Bearer ${token}` } });
  if (resp.status === 401) return null;
  if (!resp.ok) throw Object.assign(new Error(`Could not read the invitation (HTTP ${resp.status})`), { status: resp.status });
  return resp.json();
}
