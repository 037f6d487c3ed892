"""The dashboard's static server: content types, client-side route fallback, headers, no traversal."""

from __future__ import annotations

import gzip
import re
from typing import Any

import pytest

from bonito.web.app import STATIC_DIR, create_web_app

Response = tuple[int, dict[str, str], bytes]


async def call(path: str, method: str = "GET", headers: dict[str, str] | None = None,
               scheme: str = "http") -> Response:
    """Drive the raw ASGI app with a crafted scope (so no client normalises the path first)."""
    app = create_web_app()
    scope = {"type": "http", "method": method, "path": path, "scheme": scheme, "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    hdrs = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], hdrs, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize(("path", "ctype"), [
    ("/", "text/html; charset=utf-8"),
    ("/index.html", "text/html; charset=utf-8"),
    ("/js/main.js", "text/javascript; charset=utf-8"),
    ("/js/pages/logs.js", "text/javascript; charset=utf-8"),
    ("/css/app.css", "text/css; charset=utf-8"),
    ("/favicon.svg", "image/svg+xml"),
])
async def test_files_are_served_with_their_content_type(path: str, ctype: str) -> None:
    status, headers, body = await call(path)
    assert status == 200
    assert headers["content-type"] == ctype
    assert headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body) > 0


@pytest.mark.parametrize("path", ["/overview", "/logs", "/keys/", "/providers", "/some/deep/route"])
async def test_client_side_routes_get_the_app_shell(path: str) -> None:
    status, headers, body = await call(path)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert body == (STATIC_DIR / "index.html").read_bytes()


@pytest.mark.parametrize("path", ["/js/missing.js", "/nope.css", "/api/unknown", "/api", "/v1/models", "/health/x"])
async def test_missing_files_and_api_paths_are_404_not_the_shell(path: str) -> None:
    status, headers, body = await call(path)
    assert status == 404
    assert b"<html" not in body
    assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", [
    "/../pyproject.toml", "/js/../../app.py", "/../app.py", "/..", "/js/..\\..\\app.py",
    "/%2e%2e/app.py", "/js/%2e%2e%2f..%2fapp.py", "/static/../app.py", "/app.py", "/__init__.py",
    "/.hidden", "/js/main.js\x00.txt", "//etc/passwd", "/etc/passwd.txt",
])
async def test_no_path_reaches_outside_the_static_directory(path: str) -> None:
    status, _, body = await call(path)
    # either refused, or (an extension-less path) the app shell: never another file
    assert status == 404 or (status == 200 and body == (STATIC_DIR / "index.html").read_bytes())
    assert b"create_web_app" not in body and b"[project]" not in body and b"root:" not in body


async def test_security_headers_and_strict_csp_on_every_answer() -> None:
    for path in ["/", "/js/main.js", "/missing.png"]:
        _, headers, _ = await call(path)
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"]
        assert headers["permissions-policy"]
        csp = headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in csp
        assert "strict-transport-security" not in headers


async def test_hsts_behind_tls() -> None:
    _, headers, _ = await call("/", headers={"X-Forwarded-Proto": "https"})
    assert headers["strict-transport-security"].startswith("max-age=")
    _, headers, _ = await call("/", scheme="https")
    assert "strict-transport-security" in headers


async def test_revalidation_with_etag_answers_304() -> None:
    status, headers, _ = await call("/js/main.js")
    assert status == 200 and headers["cache-control"] == "no-cache"
    status, headers2, body = await call("/js/main.js", headers={"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""
    assert headers2["etag"] == headers["etag"]
    status, _, _ = await call("/js/main.js", headers={"If-None-Match": '"stale"'})
    assert status == 200


async def test_gzip_when_accepted() -> None:
    _, plain_headers, plain = await call("/css/app.css")
    status, headers, body = await call("/css/app.css", headers={"Accept-Encoding": "gzip, br"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain
    assert plain_headers["vary"] == "accept-encoding"


async def test_head_has_no_body_and_other_methods_are_refused() -> None:
    status, headers, body = await call("/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
    status, headers, _ = await call("/overview", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_no_inline_script_or_style_in_any_html() -> None:
    for page in STATIC_DIR.rglob("*.html"):
        html = page.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script in {page.name}: the CSP would block it"
        assert "<style" not in html and " style=" not in html and re.search(r"\son[a-z]+=", html) is None


def test_every_module_import_resolves() -> None:
    """A broken relative import would blank the whole app; check the module graph statically."""
    pattern = re.compile(r"""(?:import|from)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""")
    scripts = list(STATIC_DIR.rglob("*.js"))
    assert len(scripts) >= 8
    for script in scripts:
        for target in pattern.findall(script.read_text()):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports missing {target}"
        assert re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", script.read_text()) is None, \
            f"{script.name}: build DOM with dom.h, never parse API data as HTML"


async def test_api_paths_never_get_the_shell_whatever_the_method() -> None:
    # only reached when the platform runs without a control plane: answer like an API, not a page
    status, headers, body = await call("/api/auth/login", method="POST")
    assert status == 404 and headers["content-type"] == "application/json" and b"<html" not in body
