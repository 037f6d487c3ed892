"""The dashboard reads API objects by name through `read(obj, "Schema", "field")` (static/js/schema.js).
Every such read in its code must name a field of that schema in the server's own /api/openapi.json: a
field renamed or dropped in the API fails here instead of leaving blanks on a page."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.server import BonitoServer

STATIC = Path(__file__).resolve().parents[2] / "src" / "bonito" / "web" / "static" / "js"
READ = re.compile(r"""\bread\(\s*[^,()]+(?:\([^()]*\))?\s*,\s*"(\w+)"\s*,\s*"(\w+)"\s*\)""")


def reads() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(STATIC.rglob("*.js")):
        for schema, field in READ.findall(path.read_text()):
            found.append((path.relative_to(STATIC).as_posix(), schema, field))
    return found


def test_every_field_the_dashboard_reads_is_in_the_openapi_schema(platform: BonitoServer) -> None:
    spec = httpx.get(platform.url + "/api/openapi.json", timeout=30).json()
    schemas = spec["components"]["schemas"]
    found = reads()
    # the pages that show the org's objects all read through the schema
    assert {f for f, _, _ in found} >= {"pages/keys.js", "pages/models.js", "pages/providers.js", "pages/routing.js",
                                        "pages/playground.js", "pages/agents.js", "getting-started.js"}
    missing = [f"{file}: {schema}.{field}" for file, schema, field in found
               if field not in schemas.get(schema, {}).get("properties", {})]
    assert not missing, "fields the dashboard reads that /api/openapi.json does not define:\n" + "\n".join(missing)


def test_reads_are_found_across_lines_and_in_nested_calls() -> None:
    sample = 'when(read(k, "KeyOut", "created_at")) + read(\n  state,\n  "ChecklistOut", "steps")'
    assert READ.findall(sample) == [("KeyOut", "created_at"), ("ChecklistOut", "steps")]
    assert len(reads()) >= 40
