"""Log output for `bonito serve` and `bonito agent`: plain text, or one JSON object a line.

`configure_logging(log_format, log_level)` applies the configuration to this
process and returns it as the `log_config` dict uvicorn applies again in each
worker. In `json` mode every line the process writes to stdout and stderr is a
JSON object: log records (uvicorn's own included) through `JsonFormatter`, and
anything printed directly (start-up hints, a traceback) through `JsonLines`,
which wraps the two streams line by line.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import Any, TextIO

import orjson

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Per-request lines ("bonito.access") are written only where the format asks for them (json).
ACCESS_LOGGER = "bonito.access"

# The request being served: its id is added to every line logged while serving it.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("bonito_request_id",
                                                                              default=None)
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def configure_logging(log_format: str = "text", log_level: str = "info") -> dict[str, Any]:
    """Configure this process's logging; returns the same configuration as uvicorn's `log_config`.

    `log_format` is "text" or "json"; `log_level` a level name ("debug", "info", ...).
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    import logging.config

    config = log_config(log_format, log_level)
    logging.config.dictConfig(config)
    return config


def log_config(log_format: str, log_level: str) -> dict[str, Any]:
    level = log_level.upper()
    if log_format == "json":
        formatters: dict[str, Any] = {"default": {"()": "bonito.observability.logs.JsonFormatter"}}
        handler: dict[str, Any] = {"()": "bonito.observability.logs.json_handler", "formatter": "default"}
    else:
        formatters = {"default": {"format": TEXT_FORMAT}}
        handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's loggers write through the root handler, so they share its format
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": True},
            ACCESS_LOGGER: {"handlers": [], "level": "INFO" if log_format == "json" else "WARNING",
                            "propagate": True},
        },
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the request's fields, any extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = current_request_id.get()
        if rid is not None:
            out["request_id"] = rid
        for k, v in record.__dict__.items():
            if k not in _RESERVED and not k.startswith("_") and k not in ("color_message",):
                out[k] = v
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def json_handler() -> logging.Handler:
    """The json mode's handler: writes to the real stderr, after wrapping stdout and stderr
    so that whatever else is printed there also comes out as JSON lines."""
    stderr = JsonLines.install()
    return logging.StreamHandler(stderr)


class JsonLines:
    """A text stream that writes each line given to it as a JSON object on the stream it wraps."""

    _lock = threading.Lock()

    def __init__(self, target: TextIO, name: str) -> None:
        self.target = target
        self.name = name
        self._buffer = ""

    @classmethod
    def install(cls) -> TextIO:
        """Wrap sys.stdout and sys.stderr (once); returns the real stderr for log handlers."""
        with cls._lock:
            if not isinstance(sys.stdout, JsonLines):
                sys.stdout = cls(sys.stdout, "stdout")  # type: ignore[assignment]
            if not isinstance(sys.stderr, JsonLines):
                sys.stderr = cls(sys.stderr, "stderr")  # type: ignore[assignment]
                sys.excepthook = _log_uncaught
        real = sys.stderr
        assert isinstance(real, JsonLines)
        return real.target

    def write(self, text: str) -> int:
        self._buffer += text
        if "\n" in self._buffer:
            *lines, self._buffer = self._buffer.split("\n")
            self._emit(lines)
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._emit([self._buffer])
            self._buffer = ""
        self.target.flush()

    def _emit(self, lines: list[str]) -> None:
        now = _iso(time.time())
        out = "".join(
            orjson.dumps({"time": now, "level": "info" if self.name == "stdout" else "warning",
                          "logger": self.name, "message": line}).decode() + "\n"
            for line in lines if line.strip())
        if out:
            self.target.write(out)
            self.target.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.target.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An exception nobody caught is one JSON line with its traceback, not a bare traceback."""
    logging.getLogger("bonito").critical("uncaught %s: %s", kind.__name__, exc,
                                         extra={"exception": "".join(traceback.format_exception(kind, exc, tb))})


def access_line(**fields: Any) -> None:
    """Write one request's line (json mode; a no-op where `bonito.access` is not enabled)."""
    logging.getLogger(ACCESS_LOGGER).info("request", extra=fields)
