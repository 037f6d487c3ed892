// A secret shown exactly once (a new gateway or route key, a webhook's signing secret), with a copy button.

import { h, replace, toast } from "./dom.js";

/** Put `plaintext` in `slot` until dismissed or the page is left; it cannot be shown again. */
export function revealOnce(slot, title, plaintext, { noun = "key" } = {}) {
  const code = h("code", { class: "secret", id: "new-key-value" }, plaintext || `(the server did not return the ${noun})`);
  const copy = h("button", { type: "button", class: "btn" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(plaintext);
      copy.textContent = "Copied";
      toast(`${noun[0].toUpperCase()}${noun.slice(1)} copied to the clipboard`);
    } catch {
      // clipboard refused (permissions, plain http): select it so Ctrl+C works
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      toast(`Press Ctrl+C to copy the selected ${noun}`);
    }
  });
  const dismiss = h("button", { type: "button", class: "btn btn-ghost" }, "I have saved it");
  dismiss.addEventListener("click", () => slot.replaceChildren());
  replace(slot, h("section", { class: "card reveal", role: "alert", "aria-labelledby": "reveal-title" },
    h("h2", { id: "reveal-title" }, title),
    h("p", {}, `Copy this ${noun} now. It is shown only once and cannot be recovered.`),
    h("div", { class: "secret-row" }, code, copy),
    dismiss));
  copy.focus();
}
