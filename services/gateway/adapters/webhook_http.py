"""Posting webhook deliveries over HTTP: the host resolved for the delivery to check its addresses, then the
request sent to a checked address (a second DNS answer cannot swap it) with TLS still verified against the host
name; no redirects followed, no proxies from the environment, the answer's body left unread."""

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import httpx

from services.gateway.domain.notifications import IpAddress


class DeliveryFailed(Exception):
    """The request did not get an HTTP answer (host not resolved, refused, timed out, TLS...)."""


class HttpSender:
    def __init__(self, timeout_seconds: float) -> None:
        self._timeout_seconds = timeout_seconds
        # Connections are made to an address; one kept after a TLS handshake for one host name must not carry
        # the next delivery to another host at the same address, so none is kept.
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def resolve(self, url: str) -> list[IpAddress]:
        """The addresses the host of `url` has now, in the resolver's order; an IP address host is its own."""
        host = _target(url).raw_host.decode("ascii")
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            async with asyncio.timeout(self._timeout_seconds):
                answers = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise DeliveryFailed(f"host {host} not resolved: {exc or type(exc).__name__}") from exc
        return [
            ipaddress.ip_address(str(sockaddr[0]))
            for family, *_, sockaddr in answers
            if family in (socket.AF_INET, socket.AF_INET6)
        ]

    async def __call__(self, url: str, body: bytes, headers: dict[str, str], addresses: Sequence[IpAddress]) -> int:
        """POST `body` for `url` to the first of `addresses` that takes the connection: the Host header and TLS
        (SNI and the certificate's name) are the URL's host. The answer's status code."""
        target = _target(url)
        named = {**headers, "host": target.netloc.decode("ascii")}
        extensions = {"sni_hostname": target.raw_host.decode("ascii")}
        unreachable: list[str] = []
        for address in addresses:
            try:
                pinned = target.copy_with(host=str(address))
                async with self._client.stream(
                    "POST", pinned, content=body, headers=named, extensions=extensions
                ) as response:
                    return response.status_code
            except httpx.ConnectError as exc:  # refused, unreachable, TLS failed: the next address may answer
                unreachable.append(f"{_described(exc)} (at {address})")
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                raise DeliveryFailed(f"{_described(exc)} (at {address})") from exc
        raise DeliveryFailed("; ".join(unreachable) or "no address to connect to")

    async def close(self) -> None:
        await self._client.aclose()


def _target(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:  # a URL httpx will not send to fails the delivery
        raise DeliveryFailed(_described(exc)) from exc


def _described(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
