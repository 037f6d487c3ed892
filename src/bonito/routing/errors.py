"""What routing refuses: a request it cannot plan as sent. The gateway answers it in OpenAI's shape
(400 naming `param`); the control plane's dry run as a 422 naming the sample request."""

from __future__ import annotations


class RequestRefused(Exception):
    """A request routing cannot plan as sent (a malformed routing input, never a server fault)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
