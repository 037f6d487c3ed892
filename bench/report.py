"""Turning benchmark results into the stdout tables and the release-target checks."""

from __future__ import annotations

from typing import Any

# The first release's budget (issue 3 / DESIGN.md): checked against the "bonito" row.
TARGET_ADDED_P50_MS = 1.0
TARGET_THROUGHPUT_X_LITELLM = 15.0
TARGET_IDLE_RSS_MB = 150.0
TARGET_START_S = 2.0

Result = dict[str, Any]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def added_latency(target: Result, paired_direct: Result, kind: str, metric: str) -> dict[str, float] | None:
    """Target minus direct for p50 and p99 of one latency metric, from the same interleaved run."""
    mine, base = _get(target, kind, metric), _get(paired_direct, kind, metric)
    if not mine or not base:
        return None
    return {q: mine[q] - base[q] for q in ("p50", "p99")}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def latency_table(results: Result) -> str:
    """Concurrency-1 latency: absolute p50 and the added p50/p99 against direct."""
    headers = ["target", "p50", "+p50", "+p99", "TTFB p50", "+p50", "+p99", "stream p50", "+p50", "+p99"]
    rows = []
    for name, res in results["targets"].items():
        if res.get("status") != "ok":
            rows.append([name, *(["n/a"] * (len(headers) - 1))])
            continue
        lat = res["latency"]
        row = [name]
        for kind, metric in (("non_stream", "total_ms"), ("stream", "first_byte_ms"), ("stream", "total_ms")):
            row.append(_fmt(_get(lat, kind, metric, "p50"), 3))
            added = res.get("added_ms", {}).get(f"{kind}.{metric}")
            row += [_fmt(_get(added, "p50"), 3), _fmt(_get(added, "p99"), 3)] if added else ["-", "-"]
        rows.append(row)
    return _table(headers, rows)


def load_table(results: Result) -> str:
    """Throughput at concurrency C, errors, CPU per request, start time and memory."""
    conc = results["meta"]["settings"]["concurrency"]
    headers = [
        "target",
        f"req/s @{conc}",
        "p50 ms",
        "non-2xx",
        "failed",
        "CPU us/req",
        "CPU %",
        "other CPU %",
        "start s",
        "idle RSS MB",
        "load RSS MB",
    ]
    rows = []
    for name, res in results["targets"].items():
        if res.get("status") != "ok":
            rows.append([name, *(["n/a"] * (len(headers) - 1))])
            continue
        tp = res.get("throughput", {})
        errors = sum(_get(res, *p) or 0 for p in (("errors", "non_2xx"), ("errors", "invalid")))
        rows.append(
            [
                name,
                _fmt(tp.get("rps"), 0),
                _fmt(_get(tp, "total_ms", "p50"), 2),
                str(errors),
                str(_get(res, "errors", "failed") or 0),
                _fmt(tp.get("server_cpu_us_per_req"), 0),
                _fmt(tp.get("server_cpu_pct"), 0),
                _fmt(tp.get("foreign_cpu_pct"), 0),
                _fmt(res.get("start_s"), 2),
                _fmt(res.get("idle_rss_mb"), 1),
                _fmt(res.get("load_rss_mb"), 1),
            ]
        )
    return _table(headers, rows)


def target_checks(results: Result) -> list[str]:
    """One line per release target, measured on the bonito row."""
    bonito = results["targets"].get("bonito", {})
    litellm = results["targets"].get("litellm", {})
    if bonito.get("status") != "ok":
        return ["bonito: not measured (" + str(bonito.get("reason", "skipped")) + ")"]
    lines = []

    def check(label: str, value: float | None, ok: bool | None, shown: str) -> None:
        mark = "n/a " if ok is None else ("PASS" if ok else "FAIL")
        lines.append(f"[{mark}] {label}: {shown if value is not None else 'n/a'}")

    for key, label in (
        ("non_stream.total_ms", "added p50"),
        ("stream.first_byte_ms", "stream TTFB added p50"),
    ):
        value = _get(bonito, "added_ms", key, "p50")
        ok = None if value is None else value <= TARGET_ADDED_P50_MS
        check(
            f"{label} <= {TARGET_ADDED_P50_MS} ms", value, ok, f"{value:.3f} ms" if value is not None else ""
        )
    mine, theirs = _get(bonito, "throughput", "rps"), _get(litellm, "throughput", "rps")
    ratio = mine / theirs if mine and theirs and litellm.get("status") == "ok" else None
    check(
        f"throughput >= {TARGET_THROUGHPUT_X_LITELLM:.0f}x LiteLLM",
        ratio,
        None if ratio is None else ratio >= TARGET_THROUGHPUT_X_LITELLM,
        f"{ratio:.1f}x ({mine:.0f} vs {theirs:.0f} req/s)" if ratio else "",
    )
    rss = bonito.get("idle_rss_mb")
    check(
        f"idle RSS <= {TARGET_IDLE_RSS_MB:.0f} MB",
        rss,
        None if rss is None else rss <= TARGET_IDLE_RSS_MB,
        f"{rss:.1f} MB",
    )
    start = bonito.get("start_s")
    check(
        f"start to healthy <= {TARGET_START_S} s",
        start,
        None if start is None else start <= TARGET_START_S,
        f"{start:.2f} s",
    )
    return lines


def render(results: Result) -> str:
    """The whole human-readable report."""
    meta = results["meta"]
    parts = [
        f"Bonito bench ({meta['mode']}) - {meta['layout']}",
        "",
        "Latency at concurrency 1, ms (+ = added over direct, measured interleaved with direct):",
        latency_table(results),
        "",
        "Load (non-stream) and resources:",
        load_table(results),
        "",
        "Release targets (bonito row):",
        *target_checks(results),
    ]
    writer = results.get("usage_writer")
    if writer:
        parts += ["", "Usage writer (records stored per second; must exceed the gateway's req/s):",
                  *writer_lines(writer)]
    skipped = [f"{n}: {r.get('reason')}" for n, r in results["targets"].items() if r.get("status") != "ok"]
    notes = [*skipped, *meta.get("notes", [])]
    if notes:
        parts += ["", "Notes:", *(f"- {n}" for n in notes)]
    return "\n".join(parts)


def writer_lines(writer: Result) -> list[str]:
    """One line per store, and the spool's cost per record."""
    lines = []
    for store in ("sqlite", "postgresql"):
        got = writer.get(store)
        if isinstance(got, dict) and "records_per_s" in got:
            lines.append(f"- {store}: {got['records_per_s']} records/s ({got['stored']} of {got['records']} stored)")
        elif got is not None:
            lines.append(f"- {store}: {got.get('status', got)}")
    spool = writer.get("spool")
    if spool:
        lines.append(f"- spool: append {spool['append_us_per_record']} µs/record (fsync per {spool['batch']}), "
                     f"drain {spool['drain_us_per_record']} µs/record")
    return lines
