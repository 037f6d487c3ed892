"""Email over SMTP (stdlib smtplib, in a worker thread: alerts are off the request path)."""

from __future__ import annotations

import asyncio
import os
import smtplib
from email.message import EmailMessage

from bonito.config.schema import SmtpConfig


def smtp_from_env() -> SmtpConfig | None:
    """Full mode's SMTP server: BONITO_SMTP_HOST, _PORT, _FROM, _USERNAME, _PASSWORD, _STARTTLS, _SSL."""
    host = os.environ.get("BONITO_SMTP_HOST")
    if not host:
        return None
    env = os.environ.get
    return SmtpConfig.model_validate({
        "host": host, "port": int(env("BONITO_SMTP_PORT", "25")), "from": env("BONITO_SMTP_FROM", "bonito@localhost"),
        "username": env("BONITO_SMTP_USERNAME") or None, "password": env("BONITO_SMTP_PASSWORD") or None,
        "starttls": env("BONITO_SMTP_STARTTLS", "") in ("1", "true"), "ssl": env("BONITO_SMTP_SSL", "") in ("1", "true"),
    })


async def send_email(cfg: SmtpConfig, to: list[str], subject: str, body: str) -> None:
    """Send one message to every address in `to` (raises on failure)."""
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content(body)
    await asyncio.to_thread(_send, cfg, msg)


def _send(cfg: SmtpConfig, msg: EmailMessage) -> None:
    smtp_cls = smtplib.SMTP_SSL if cfg.ssl else smtplib.SMTP
    with smtp_cls(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
        if cfg.starttls and not cfg.ssl:
            smtp.starttls()
        if cfg.username:
            smtp.login(cfg.username, cfg.password or "")
        smtp.send_message(msg)
