"""Posting webhook deliveries over HTTP: no redirects followed, no proxies from the environment, the answer's
body left unread."""

import httpx


class DeliveryFailed(Exception):
    """The request did not get an HTTP answer (refused, timed out, TLS...)."""


class HttpSender:
    def __init__(self, timeout_seconds: float) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False, trust_env=False)

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST `body`; the answer's status code."""
        try:
            async with self._client.stream("POST", url, content=body, headers=headers) as response:
                return response.status_code
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # a URL httpx will not send to fails too
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc

    async def close(self) -> None:
        await self._client.aclose()
