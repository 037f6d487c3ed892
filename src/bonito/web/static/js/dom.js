// Building DOM without innerHTML: every string from the API is set as text, never parsed as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

/** h("button", {class: "btn", onclick}, "Save") → element; null/false children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  return fill(el, attrs, children);
}

/** Same as h() for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  return fill(el, attrs, children);
}

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value" && "value" in el) {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique id for label/input pairs. */
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field. `control` defaults to an <input>. */
export function field(label, attrs = {}, { hint, control = "input", options } = {}) {
  const id = attrs.id || nextId(attrs.name || "f");
  let input;
  if (control === "select") {
    input = h("select", { ...attrs, id }, (options || []).map(([value, text]) => h("option", { value }, text)));
  } else if (control === "textarea") {
    input = h("textarea", { rows: 4, ...attrs, id });
  } else {
    input = h("input", { type: "text", ...attrs, id });
  }
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" },
    h("label", { for: id }, label, attrs.required ? null : h("span", { class: "optional" }, " (optional)")),
    input,
    hint ? h("small", { id: hintId, class: "muted" }, hint) : null);
}

/** The form's named, non-empty values as an object (numbers for type=number). */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") {
      if (el.checked) (out[el.name] ||= []).push(el.value);
      continue;
    }
    const value = el.value.trim();
    if (value === "") continue;
    out[el.name] = el.type === "number" ? Number(value) : value;
  }
  return out;
}

/** Disable a form's controls while `work` runs; show its error inside the form. */
export async function submitting(form, work) {
  const controls = [...form.elements];
  const errorBox = form.querySelector(".form-error") || form.appendChild(h("p", { class: "form-error", role: "alert" }));
  errorBox.replaceChildren();
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (err) {
    errorBox.textContent = err.message || String(err);
    markFields(form, err.fields || []);
    return undefined;
  } finally {
    controls.forEach((c) => { c.disabled = false; });
    form.removeAttribute("aria-busy");
  }
}

function markFields(form, fields) {
  for (const el of form.elements) el.removeAttribute("aria-invalid");
  for (const path of fields) {
    // "credentials.api_key" → the form names it "cred.api_key"; "email" → "email"
    const last = String(path).split(".").pop();
    for (const name of [path, last, `cred.${last}`]) {
      const el = form.elements.namedItem(name);
      if (el && el.setAttribute) el.setAttribute("aria-invalid", "true");
    }
  }
}

/** A transient message in the polite live region. */
export function toast(message) {
  const box = document.getElementById("toasts");
  const item = h("div", { class: "toast" }, message);
  box.append(item);
  setTimeout(() => item.remove(), 4000);
}

/** A visible, announced error that stays until dismissed. */
export function showError(err) {
  const box = document.getElementById("alerts");
  const close = h("button", { type: "button", class: "btn btn-ghost", "aria-label": "Dismiss error" }, "×");
  const item = h("div", { class: "alert" }, h("span", {}, err.message || String(err)), close);
  close.addEventListener("click", () => item.remove());
  box.append(item);
  setTimeout(() => item.remove(), 15000);
}

/** An accessible modal confirmation (native <dialog>); resolves true when confirmed. */
export function confirmDialog(question, confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "dialog-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "dialog-title" }, question),
        h("div", { class: "actions" },
          h("button", { value: "cancel", class: "btn" }, "Cancel"),
          h("button", { value: "ok", class: "btn btn-danger" }, confirmLabel))));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A table with a caption; `columns` are [header, (row) => cell] pairs. */
export function table(caption, columns, rows, { empty = "Nothing here yet.", rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "empty muted" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {},
        columns.map(([, cell]) => h("td", {}, cell(row))))))));
}

/** A page heading plus optional actions, focused on navigation for screen readers. */
export function pageHeader(title, ...actions) {
  return h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, title), h("div", { class: "actions" }, actions));
}
