// A Copy button for a snippet or a command; falls back to selecting the text when the clipboard is refused.

import { h, toast } from "./dom.js";

export function copyButton(text, noun = "text") {
  const button = h("button", { type: "button", class: "btn" }, "Copy", h("span", { class: "visually-hidden" }, ` ${noun}`));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      toast(`Copied the ${noun}`);
    } catch {
      const code = button.parentElement && button.parentElement.querySelector("pre, code");
      if (code) {
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
      }
      toast(`Press Ctrl+C to copy the selected ${noun}`);
    }
  });
  return button;
}
