"""The dashboard: a raw-ASGI static server for the single-page app in `static/`.

Files are read once at start into memory (they are small), so a request can
only ever be answered with a file that was found under `static/` then: no path
a client sends reaches the filesystem. Any GET for a path without a file
extension gets `index.html`, so client-side routes such as `/logs` survive a
reload. Every answer carries the security headers, including a strict CSP.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".svg", ".json", ".txt", ".webmanifest"}

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
])
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
# Paths the dashboard never answers with index.html: they belong to the API and the gateway.
RESERVED_PREFIXES = ("/api", "/v1", "/health")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: bytes
    cache_control: bytes


def _load(root: Path) -> dict[str, Asset]:
    """Every regular, non-hidden file under `root`, keyed by its URL path."""
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        body = path.read_bytes()
        ext = path.suffix.lower()
        ctype = CONTENT_TYPES.get(ext) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        packed = gzip.compress(body, 9, mtime=0) if ext in COMPRESSIBLE and len(body) > 1024 else None
        etag = b'"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'
        # No build step means no content-hashed names: browsers revalidate every file (cheap 304s).
        cache = b"no-cache"
        assets["/" + rel.as_posix()] = Asset(body, packed, ctype, etag, cache)
    return assets


def _header(scope: dict[str, Any], name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return b""


def _reserved(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in RESERVED_PREFIXES)


def _etags(value: bytes) -> set[bytes]:
    return {tag.strip().removeprefix(b"W/") for tag in value.split(b",")}


def _is_https(scope: dict[str, Any]) -> bool:
    return scope.get("scheme") == "https" or _header(scope, b"x-forwarded-proto").lower() == b"https"


class WebApp:
    """ASGI callable serving the dashboard; build it with `create_web_app()`."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.assets = _load(root)
        if "/index.html" not in self.assets:
            raise RuntimeError(f"dashboard is missing {root / 'index.html'}")

    def resolve(self, path: str) -> Asset | None:
        """The asset a GET of `path` answers with, or None for 404."""
        if "\x00" in path or "\\" in path or ".." in path.split("/"):
            return None
        if path == "/" or path == "":
            return self.assets["/index.html"]
        found = self.assets.get(path)
        if found is not None:
            return found
        if _reserved(path):
            return None
        last = path.rstrip("/").rsplit("/", 1)[-1]
        # client-side route (no extension, not a dotfile): the app shell handles it
        if "." not in last:
            return self.assets["/index.html"]
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = list(SECURITY_HEADERS)
        if _is_https(scope):
            headers.append(HSTS)
        method = scope.get("method", "GET")
        path = scope.get("path", "/")
        if _reserved(path):
            # only reached when the platform runs without that part (e.g. no control plane)
            await _send(send, 404, b'{"detail":"not found"}', "application/json", headers, head=method == "HEAD")
            return
        if method not in ("GET", "HEAD"):
            headers.append((b"allow", b"GET, HEAD"))
            await _send(send, 405, b"method not allowed\n", "text/plain; charset=utf-8", headers)
            return
        asset = self.resolve(path)
        if asset is None:
            await _send(send, 404, b"not found\n", "text/plain; charset=utf-8", headers, head=method == "HEAD")
            return
        headers += [(b"etag", asset.etag), (b"cache-control", asset.cache_control)]
        if asset.gzipped is not None:
            headers.append((b"vary", b"accept-encoding"))
        if asset.etag in _etags(_header(scope, b"if-none-match")):
            await _send(send, 304, b"", None, headers, head=True)
            return
        body = asset.body
        if asset.gzipped is not None and b"gzip" in _header(scope, b"accept-encoding"):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        await _send(send, 200, body, asset.content_type, headers, head=method == "HEAD")


async def _send(send: Any, status: int, body: bytes, ctype: str | None, headers: list[tuple[bytes, bytes]],
                head: bool = False) -> None:
    out = list(headers)
    if ctype is not None:
        out.append((b"content-type", ctype.encode()))
    if status != 304:
        out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head else body})


def create_web_app(root: Path | None = None) -> WebApp:
    """The dashboard as an ASGI app (mounted at `/` by the platform, after /v1, /health and /api)."""
    return WebApp(root or STATIC_DIR)


__all__ = ["CSP", "WebApp", "create_web_app"]
