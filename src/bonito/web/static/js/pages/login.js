// Sign in and create an account.

import { authenticate } from "../api.js";
import { field, formValues, h, submitting } from "../dom.js";

export async function render(root, { path, params, navigate }) {
  const registering = path === "/register";
  const title = registering ? "Create your account" : "Sign in to Bonito";
  const form = h("form", { class: "card auth-card", novalidate: true },
    h("h1", { tabindex: "-1" }, title),
    registering ? h("p", { class: "muted" }, "This creates an organization and makes you its admin.") : null,
    field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
    field("Password", { name: "password", type: "password", required: true,
      autocomplete: registering ? "new-password" : "current-password", minlength: registering ? 8 : null }),
    registering ? field("Organization name", { name: "org_name", autocomplete: "organization", required: true }) : null,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, registering ? "Create account" : "Sign in"),
    h("p", { class: "switch" }, registering
      ? ["Already have an account? ", h("a", { href: "/login", "data-link": "" }, "Sign in")]
      : ["New to Bonito? ", h("a", { href: "/register", "data-link": "" }, "Create an account")]));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const missing = ["email", "password", ...(registering ? ["org_name"] : [])].filter((k) => !values[k]);
    if (missing.length) {
      const box = form.querySelector(".form-error") || form.appendChild(h("p", { class: "form-error", role: "alert" }));
      box.textContent = `Please fill in: ${missing.map((k) => form.elements.namedItem(k).labels[0].firstChild.textContent).join(", ")}`;
      form.elements.namedItem(missing[0]).focus();
      return;
    }
    const ok = await submitting(form, async () => {
      await authenticate(registering ? "/api/auth/register" : "/api/auth/login", values);
      return true;
    });
    if (ok) {
      const next = params.get("next");
      // only same-app paths, never another origin
      const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/overview";
      navigate(target, { replace: true });
    }
  });
  root.append(h("div", { class: "auth" }, form));
  form.elements.namedItem("email").focus();
}
