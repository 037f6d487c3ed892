// Exports the API streams only to a signed-in caller: fetch with the Bearer token, then save the blob.

import { fetchAuthed } from "./api.js";
import { h, showError, toast } from "./dom.js";

/** Download `href` as `<name>-<UTC stamp>.<ext>`; `button` is busy meanwhile; `done` is the toast. */
export async function downloadAuthed(href, { accept, name, ext, done }, button) {
  button.setAttribute("aria-busy", "true");
  try {
    const resp = await fetchAuthed("GET", href, undefined, { accept });
    const url = URL.createObjectURL(await resp.blob());
    const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, "");
    const a = h("a", { href: url, download: `${name}-${stamp}.${ext}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    toast(done);
  } catch (err) {
    showError(err);
  } finally {
    button.removeAttribute("aria-busy");
  }
}
