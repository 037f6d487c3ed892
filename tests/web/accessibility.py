"""axe-core (vendored from the npm registry: tests/web/vendor/axe.min.js, MPL-2.0) run in a real page, and
the checks every dashboard page must pass: no serious or critical violation, a visible keyboard focus."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = {"serious", "critical"}


@cache
def _axe_source() -> str:
    return AXE.read_text()


async def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line each."""
    # evaluated through the DevTools protocol, so the dashboard's strict CSP stays on for the page itself
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(_axe_source())
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
            for v in result["violations"] if v.get("impact") in BLOCKING]


async def focus_ring(page: Any) -> dict[str, Any]:
    """How the focused element is drawn: its tag, name and whether an outline or box shadow shows."""
    return await page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return {tag: null, visible: false};
        const css = getComputedStyle(el);
        const outline = css.outlineStyle !== 'none' && parseFloat(css.outlineWidth) >= 2;
        const shadow = css.boxShadow && css.boxShadow !== 'none';
        return {tag: el.tagName.toLowerCase(), name: (el.textContent || el.name || '').trim().slice(0, 40),
                visible: outline || shadow, outline: `${css.outlineStyle} ${css.outlineWidth}`};
    }""")
