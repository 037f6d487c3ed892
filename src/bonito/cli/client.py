"""The CLI's /api client: the session's server and tokens (or BONITO_URL/BONITO_TOKEN), refresh on expiry,
server refusals turned into CliError (stderr, exit 1), and names accepted wherever ids are."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bonito.cli import session as sessions
from bonito.cli.output import CliError

if TYPE_CHECKING:
    from bonito.cli.http import Client, Response, StreamingResponse

TIMEOUT_S = 30.0
NOT_LOGGED_IN = "not logged in: run `bonito login` (or set BONITO_URL and BONITO_TOKEN)"


def _same_server(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def describe(r: Response) -> str:
    """The server's own words for a refusal: FastAPI's `detail` (naming the field) or OpenAI's `error`."""
    try:
        body = r.json()
    except ValueError:
        body = None
    reason: str = r.reason_phrase or ""
    if isinstance(body, dict):
        detail = body.get("detail")
        error = body.get("error")
        if isinstance(detail, list):
            reason = "; ".join(
                f"{'.'.join(str(p) for p in d.get('loc', []) if p != 'body')}: {d.get('msg', '')}"
                if isinstance(d, dict) else str(d) for d in detail)
        elif detail is not None:
            reason = str(detail)
        elif isinstance(error, dict):
            reason = str(error.get("message") or error)
    return f"HTTP {r.status_code}: {reason}"


class Api:
    """One server, one identity. `profile` picks the saved session; env vars take precedence over it."""

    def __init__(self, profile: str = "default") -> None:
        self.profile = profile
        env_url = os.environ.get("BONITO_URL", "").strip()
        env_token = os.environ.get("BONITO_TOKEN", "").strip()
        saved = sessions.load(profile)
        self.url = (env_url or (saved.url if saved else "") or sessions.DEFAULT_URL).rstrip("/")
        self.from_env = bool(env_token)
        self.session: sessions.Session | None = None
        self.token = env_token
        if not env_token and saved and saved.access_token and (not env_url or _same_server(saved.url, env_url)):
            self.session = saved
            self.token = saved.access_token
        self._http: Client | None = None

    # -- transport ------------------------------------------------------------
    @property
    def http(self) -> Client:
        if self._http is None:
            from bonito.cli.http import Client, TransportError

            try:
                self._http = Client(self.url, timeout=TIMEOUT_S, headers={"user-agent": f"bonito-cli/{_version()}"})
            except TransportError as exc:
                raise CliError(f"the server URL is not usable: {exc}", code=2) from None
        return self._http

    def send(self, method: str, path: str, *, auth: bool = True, json: Any = None,
             params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
             ok: tuple[int, ...] = ()) -> Response:
        """One call; a refusal (4xx/5xx not in `ok`) is a CliError naming what the server said."""
        from bonito.cli.http import TransportError

        hdrs = dict(headers or {})
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in (1, 2):
            if auth:
                hdrs["authorization"] = f"Bearer {self._access_token()}"
            try:
                r = self.http.request(method, path, json=json, params=clean, headers=hdrs)
            except TransportError as exc:
                raise CliError(f"cannot reach the server at {self.url}: {exc}") from None
            if r.status_code == 401 and auth and attempt == 1 and self._refresh():
                continue
            break
        if r.status_code >= 400 and r.status_code not in ok:
            raise CliError(self._refusal(method, path, r, auth))
        return r

    def _refusal(self, method: str, path: str, r: Response, auth: bool) -> str:
        if r.status_code == 401 and auth and self.from_env:
            return f"BONITO_TOKEN was refused by {self.url} ({describe(r)})"
        if r.status_code == 401 and auth:
            return f"the session for {self.url} has ended ({describe(r)}): run `bonito login`"
        return f"{method} {path}: {describe(r)}"

    @contextmanager
    def stream(self, method: str, path: str, *, auth: bool = True, json: Any = None,
               params: Mapping[str, Any] | None = None,
               headers: Mapping[str, str] | None = None) -> Iterator[StreamingResponse]:
        """A response read as it arrives (a long answer or a big export is fine)."""
        from bonito.cli.http import TransportError

        hdrs = dict(headers or {})
        if auth:
            hdrs["authorization"] = f"Bearer {self._access_token()}"
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            r = self.http.stream(method, path, json=json, params=clean, headers=hdrs)
        except TransportError as exc:
            raise CliError(f"cannot reach the server at {self.url}: {exc}") from None
        try:
            if r.status_code >= 400:
                raise CliError(self._refusal(method, path, r.read(), auth))
            yield r
        except TransportError as exc:
            raise CliError(f"the connection to {self.url} broke: {exc}") from None
        finally:
            r.raw.close()

    # -- JSON helpers ---------------------------------------------------------
    def get(self, path: str, **params: Any) -> Any:
        return self.json_body(self.send("GET", path, params=params))

    def post(self, path: str, body: Any = None) -> Any:
        r = self.send("POST", path, json=body)
        return self.json_body(r) if r.content else None

    def patch(self, path: str, body: Any) -> Any:
        return self.json_body(self.send("PATCH", path, json=body))

    def json_body(self, r: Response) -> Any:
        """The answer's JSON; anything else is a CliError (not a Bonito server, or a proxy's error page)."""
        try:
            return r.json()
        except ValueError:
            raise CliError(f"{self.url} did not answer JSON (HTTP {r.status_code}): is it a Bonito server?") from None

    def delete(self, path: str) -> None:
        self.send("DELETE", path)

    def resolve(self, collection: str, what: str, ref: str, *, field: str = "name") -> dict[str, Any]:
        """The object of `collection` whose id is `ref`, else whose `field` (its name) is `ref`."""
        items: list[dict[str, Any]] = self.get(collection)
        for item in items:
            if item.get("id") == ref:
                return item
        named = [i for i in items if str(i.get(field, "")).lower() == ref.lower()] if field == "email" else [
            i for i in items if i.get(field) == ref]
        live = [i for i in named if not i.get("revoked_at")] or named
        if not live:
            plural = what[:-1] + "ies" if what.endswith("y") else what + "s"
            raise CliError(f"no {what} named {ref!r} (see `bonito {plural} list`)")
        if len(live) > 1:
            raise CliError(f"{len(live)} {what}s are named {ref!r}: give the id instead")
        return live[0]

    # -- tokens ---------------------------------------------------------------
    def _access_token(self) -> str:
        if not self.token:
            raise CliError(NOT_LOGGED_IN)
        if self.session and sessions.token_expires_soon(self.token):
            self._refresh()
        return self.token

    def _refresh(self) -> bool:
        """Trade the refresh token for new tokens (the old one is retired) and save them."""
        if self.session is None or not self.session.refresh_token:
            return False
        from bonito.cli.http import TransportError

        try:
            r = self.http.post("/api/auth/refresh", json={"refresh_token": self.session.refresh_token})
        except TransportError as exc:
            raise CliError(f"cannot reach the server at {self.url}: {exc}") from None
        if r.status_code != 200:
            return False
        body = r.json()
        self.session.access_token = self.token = body["access_token"]
        self.session.refresh_token = body["refresh_token"]
        sessions.save(self.profile, self.session)
        return True


def _version() -> str:
    from bonito import __version__

    return __version__
