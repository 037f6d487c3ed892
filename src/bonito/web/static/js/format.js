// Formatting numbers, money, durations and times for display.

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compactFmt = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

/** First present value among `names` on `obj` (the API's field names vary by endpoint). */
export function pick(obj, ...names) {
  if (!obj || typeof obj !== "object") return undefined;
  for (const name of names) {
    if (obj[name] !== undefined && obj[name] !== null) return obj[name];
  }
  return undefined;
}

export function num(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

export function int(value) {
  return value === undefined || value === null ? "—" : intFmt.format(num(value));
}

export function compact(value) {
  return compactFmt.format(num(value));
}

/** USD. Cost is decimal on the server: a decimal string keeps every digit it was sent with. */
export function usd(value) {
  if (value === undefined || value === null || value === "") return "—";
  const text = String(value).trim();
  const exact = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (exact) {
    const [, whole, frac = ""] = exact;
    const digits = frac.replace(/0+$/, "");
    return `$${Number(whole).toLocaleString("en-US")}.${digits.length >= 2 ? digits : digits.padEnd(2, "0")}`;
  }
  const n = Number(value);
  if (!Number.isFinite(n)) return text;
  return `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 2)}`;
}

export function ms(value) {
  if (value === undefined || value === null || value === "") return "—";
  const n = Number(value);
  if (!Number.isFinite(n)) return "—";
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 1 : 0)} ms`;
}

export function percent(value) {
  if (value === undefined || value === null) return "—";
  const n = num(value);
  // accept a ratio (0.05) or a percentage (5)
  const pct = n <= 1 ? n * 100 : n;
  return `${pct.toFixed(pct < 10 ? 1 : 0)}%`;
}

export function when(value) {
  if (!value) return "—";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}
