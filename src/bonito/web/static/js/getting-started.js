// The getting-started checklist on a new org's overview: each step ticks itself once the org has done
// it (the server says so: /api/onboarding), and the last one carries ready-to-copy SDK and curl snippets
// filled in with this server's URL and the org's first model. Its links are named by the step ("Publish a
// model"), never by a page's own name, so the main navigation's links stay the only "Models" link.

import { api } from "./api.js";
import { copyButton } from "./copy.js";
import { h, replace } from "./dom.js";
import { read } from "./schema.js";

const POLL_MS = 4000;
const STEPS = {
  provider: ["Connect a provider", "Add your cloud or OpenAI-compatible account's credentials.", "/providers"],
  validate: ["Validate the provider", "Press Validate next to it: Bonito checks the credentials with the provider.", "/providers"],
  model: ["Publish a model", "Give one of the provider's models the public name your apps will send.", "/models"],
  key: ["Create a key", "A bn- key for your app; copy it when it is shown (only once).", "/keys"],
  call: ["Make your first call", "Point the OpenAI SDK (or curl) at Bonito with your key.", null],
};

/** A section that keeps itself current while it is on screen; `onComplete` runs once all steps are done. */
export function gettingStarted(initial, onComplete) {
  const section = h("section", { class: "card", "aria-labelledby": "getting-started-title", id: "getting-started" });
  let state = initial;
  const draw = () => replace(section,
    h("h2", { id: "getting-started-title" }, "Getting started"),
    h("p", {}, `${read(state, "ChecklistOut", "steps").filter((s) => read(s, "StepOut", "done")).length} of ${read(state, "ChecklistOut", "steps").length} steps done.`),
    h("ol", { class: "checklist" }, read(state, "ChecklistOut", "steps").map((step, i) => item(step, i, state))));
  draw();
  const timer = setInterval(async () => {
    if (!section.isConnected) { clearInterval(timer); return; }
    try {
      const fresh = await api("GET", "/api/onboarding");
      if (JSON.stringify(fresh) !== JSON.stringify(state)) {
        state = fresh;
        draw();
      }
      if (read(state, "ChecklistOut", "complete")) {
        clearInterval(timer);
        onComplete();
      }
    } catch {
      clearInterval(timer);  // signed out or offline: the page itself reports that
    }
  }, POLL_MS);
  return section;
}

function item(step, index, state) {
  const [title, help, href] = STEPS[step.id];
  return h("li", { dataset: { step: step.id, done: String(step.done) } },
    h("div", { class: "step-head" },
      h("span", { class: "tick", "aria-hidden": "true" }, step.done ? "✓" : `${index + 1}.`),
      h("strong", {}, !step.done && href ? h("a", { href, "data-link": "" }, title) : title),
      h("span", { class: step.done ? "badge badge-ok" : "badge badge-muted" }, step.done ? "Done" : "To do")),
    h("p", { class: "muted" }, help),
    step.id === "call" ? snippets(read(state, "ChecklistOut", "model")) : null);
}

function snippets(model) {
  const base = `${location.origin}/v1`;
  const name = model || "your-model";
  const python = `import os
from openai import OpenAI

client = OpenAI(base_url="${base}", api_key=os.environ["BONITO_API_KEY"])
reply = client.chat.completions.create(
    model="${name}", messages=[{"role": "user", "content": "Hello!"}])
print(reply.choices[0].message.content)`;
  const node = `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}", apiKey: process.env.BONITO_API_KEY });
const reply = await client.chat.completions.create({
  model: "${name}", messages: [{ role: "user", content: "Hello!" }] });
console.log(reply.choices[0].message.content);`;
  const curl = `curl ${base}/chat/completions \\
  -H "Authorization: Bearer $BONITO_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${name}", "messages": [{"role": "user", "content": "Hello!"}]}'`;
  return h("div", { class: "snippets" },
    h("p", {}, "First ", h("code", {}, "export BONITO_API_KEY=bn-…"), " (the key from step 4), then:"),
    [["Python (openai)", python, "python"], ["Node (openai)", node, "node"], ["curl", curl, "curl"]].map(([label, code, id]) =>
      h("div", { class: "snippet", dataset: { snippet: id } }, h("h3", {}, label),
        h("div", { class: "command-row" }, h("pre", { tabindex: "0", "aria-label": `${label} snippet` }, h("code", {}, code)),
          copyButton(code, `${label} snippet`)))));
}
