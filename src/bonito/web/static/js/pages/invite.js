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
  const form = h("form", { class: "card auth-card", novalidate: true, "aria-labelledby": "invite-title" },
    h("h1", { id: "invite-title", tabindex: "-1" }, title),
    h("p", { class: "muted" }, "You've been invited to join an organization on Bonito."),
    hasSession() ? h("p", { class: "note" },
      "You are signed in. Joining signs you in as the invited account instead.") : null,
    field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" },
      { hint: "New to Bonito: choose a password for your new account (at least 8 characters). "
        + "Already have an account with the invited email: enter its password." }),
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
        await authenticate("/api/auth/accept-invite", { token, password: values.password });
      } catch (err) {
        // a 401 (a bad link or a wrong password: the server does not say which) or a 429 names no field
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
