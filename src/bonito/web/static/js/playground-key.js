// The playground's short-lived gateway key: issued by the control plane for the signed-in user,
// held in memory only, renewed when it expires or the gateway refuses it.

import { api } from "./api.js";
import { read } from "./schema.js";

const RENEW_MARGIN_MS = 5_000;

export class PlaygroundKey {
  constructor(onChange = () => {}) {
    this.current = null;
    this.onChange = onChange;
  }

  /** A key that is valid now (issues one when there is none or it is about to expire). */
  async get() {
    if (!this.current || Date.parse(read(this.current, "PlaygroundKeyOut", "expires_at")) - Date.now() < RENEW_MARGIN_MS) await this.renew();
    return this.current;
  }

  async renew() {
    this.current = await api("POST", "/api/playground/key", {});
    this.onChange(this.current);
    return this.current;
  }

  /** Run `call(key)` with the key object ({id, key, expires_at}); a 401 (expired, or not yet served by this replica) renews the key and tries again. */
  async with(call) {
    let key = await this.get();
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await call(key);
      } catch (err) {
        if (err.status !== 401 || attempt >= 3) throw err;
        if (attempt === 0) key = await this.renew();
        else await new Promise((resolve) => setTimeout(resolve, 700 * attempt));  // a new key spreads in ≤ 2 s
      }
    }
  }
}
