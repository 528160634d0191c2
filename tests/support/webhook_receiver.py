"""A real HTTP server on loopback that receives webhooks and checks their signatures as the README tells a
receiver to (Standard Webhooks), written from that description rather than from the gateway's code."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import QuietHandler, http_server

TOLERANCE_SECONDS = 300


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def notice(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class Receiver:
    url: str
    answer_status: int = 204
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answering(self, status: int) -> None:
        self.answer_status = status

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """True when one of the v1 signatures matches and the timestamp is recent (a replay is refused)."""
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    signatures = [s.split(",", 1) for s in headers["webhook-signature"].split()]
    return any(
        version == "v1" and hmac.compare_digest(base64.b64decode(value), expected) for version, value in signatures
    )


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, time.time()))
                status = receiver.answer_status
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

    with http_server(Handler, "webhook-receiver") as base:
        receiver.url = f"{base}/hooks/single-window"
        yield receiver
