"""Notifications: who hears of a clearance change, what they are told, and how webhooks are signed and retried.

Webhooks follow the Standard Webhooks scheme (standardwebhooks.com): headers `webhook-id`, `webhook-timestamp`
and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`; the key is the secret's bytes
after its `whsec_` prefix, base64-decoded. Receivers refuse a timestamp too far from their clock, which stops
replays."""

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from services.contract.events import ClearanceState
from services.gateway.domain.callers import Role
from services.gateway.domain.clearance import Clearance

SECRET_PREFIX = "whsec_"
CLEARANCE_CHANGED = "clearance.changed"
CARRIER_STATES = frozenset({ClearanceState.RELEASED, ClearanceState.REFUSED, ClearanceState.CANCELLED})
"""What a carrier hears about goods it presented: whether it may move them, never the trade details."""


@dataclass(frozen=True, order=True)
class Recipient:
    role: Role
    subject: str

    def __str__(self) -> str:
        return f"{self.role.value}:{self.subject}"


@dataclass(frozen=True)
class Notice:
    recipient: Recipient
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Consignment:
    """The parts of a declaration and its arrival that say who is told what."""

    declaration_id: str
    lrn: str
    version: int
    declarant_id: str
    importer_id: str | None
    carrier: str | None
    """The carrier or terminal that reported the goods presented, once they have."""
    transport_reference: str | None
    location: str | None

    @property
    def traders(self) -> list[Recipient]:
        """The declarant and the importer, once each."""
        return [
            Recipient(Role.TRADER, trader)
            for trader in sorted({self.declarant_id, self.importer_id or self.declarant_id})
        ]


def clearance_notices(consignment: Consignment, clearance: Clearance, at: datetime) -> list[Notice]:
    """Traders (declarant and importer) hear every transition; the carrier that presented the goods hears
    whether it may move them (released, refused, cancelled)."""
    trader_data = {
        "declaration_id": consignment.declaration_id,
        "lrn": consignment.lrn,
        "declaration_version": consignment.version,
        "state": clearance.state.value,
        "status": clearance.status.value,
        "reasons": [reason.model_dump() for reason in clearance.reasons],
        "at": at.isoformat(),
    }
    notices = [Notice(trader, CLEARANCE_CHANGED, trader_data) for trader in consignment.traders]
    if consignment.carrier is not None and clearance.state in CARRIER_STATES:
        notices.append(carrier_notice(consignment, clearance.state, at))
    return notices


def carrier_notice(consignment: Consignment, state: ClearanceState, at: datetime) -> Notice:
    assert consignment.carrier is not None
    data = {
        "declaration_id": consignment.declaration_id,
        "transport_reference": consignment.transport_reference,
        "location": consignment.location,
        "state": state.value,
        "status": state.status.value,
        "at": at.isoformat(),
    }
    return Notice(Recipient(Role.CARRIER, consignment.carrier), CLEARANCE_CHANGED, data)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one delivery attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def retry_delay(attempt: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """Wait after the `attempt`-th failure (1, 2, ...): doubling from `base`, never more than `cap`."""
    doubled: timedelta = base * (2 ** min(attempt - 1, 30))
    return min(cap, doubled)


def should_disable(failures: Iterable[datetime], now: datetime, *, limit: int, window: timedelta) -> bool:
    """True when `limit` attempts or more failed within `window` before `now`."""
    return sum(1 for at in failures if now - window <= at <= now) >= limit


@dataclass(frozen=True)
class TargetPolicy:
    """Where webhooks may point: schemes and hosts an operator allows. `*.example.org` allows subdomains."""

    schemes: frozenset[str]
    hosts: frozenset[str]

    def problem(self, url: str) -> str | None:
        """Why `url` may not be a webhook target, or None when it may."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 -- raises ValueError on a bad port
        except ValueError as exc:
            return f"not a valid URL: {exc}"
        if parts.scheme not in self.schemes:
            allowed = ", ".join(sorted(self.schemes)) or "none"
            return f"scheme {parts.scheme or '(none)'} is not allowed (allowed: {allowed})"
        if not host:
            return "the URL has no host"
        if parts.username is not None or parts.password is not None:
            return "credentials in the URL are not allowed; the signature authenticates the gateway"
        if parts.fragment:
            return "a fragment is not allowed"
        if not self.allows_host(host):
            return f"host {host} is not on the webhook allow-list"
        return None

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if _is_ip(host):
            return host in self.hosts
        return any(
            host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
            for allowed in (entry.lower() for entry in self.hosts)
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
