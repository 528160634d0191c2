"""Errors the gateway raises; entrypoints/problems.py maps each to an RFC 9457 problem once."""


class GatewayError(Exception):
    """Base of the gateway's errors; the message says what was wrong and where."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(GatewayError):
    """The resource does not exist, or the caller may not know that it does."""


class Forbidden(GatewayError):
    """The caller is known but its role or identity does not allow this action."""


class Conflict(GatewayError):
    """The request contradicts something already accepted (an LRN or certificate number reused)."""


class Unprocessable(GatewayError):
    """The body is well formed but says something this request cannot do (an amendment with another LRN)."""


class UnsupportedMediaType(GatewayError):
    """The body is in a format this endpoint does not read."""


class RetryLater(GatewayError):
    """Not now: the answer carries Retry-After."""

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class Overloaded(RetryLater):
    """The gateway cannot take more work now (e.g. its outbox backlog is over the bound): retry later."""


class RateLimited(RetryLater):
    """This API key made more requests than its rate limit allows: retry later."""
