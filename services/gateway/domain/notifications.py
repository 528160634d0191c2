"""Notifications: who hears of a clearance change, what they are told, how webhooks are signed and retried, and
where they may point.

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


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CARRYING_IPV4 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
"""IPv6 ranges whose last 32 bits are an IPv4 address the packet reaches: NAT64, and IPv4-compatible addresses."""


class TargetRefused(Exception):
    """The webhook target policy does not allow calling this target (any more); the message says why."""


@dataclass(frozen=True)
class TargetPolicy:
    """Where webhooks may point: schemes and hosts an operator allows. `*.example.org` allows subdomains. A host
    name is called only at the public addresses it resolves to; an address that is not public (loopback, private,
    link-local, unique local...) only when the allow-list names that address itself."""

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

    def check(self, url: str) -> str:
        """The host of `url` when the policy allows `url` as a target; TargetRefused saying why not."""
        problem = self.problem(url)
        if problem is not None:
            raise TargetRefused(problem)
        host = urlsplit(url).hostname
        assert host is not None  # problem() refuses a URL without one
        return host

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        address = _ip(host)
        if address is not None:
            return _unmapped(address) in self.listed_addresses
        return any(
            host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
            for allowed in (entry.lower() for entry in self.hosts)
        )

    @property
    def listed_addresses(self) -> frozenset[IpAddress]:
        """The IP addresses the allow-list names itself."""
        return frozenset(_unmapped(address) for address in map(_ip, self.hosts) if address is not None)

    def addresses_to_call(self, host: str, addresses: Iterable[IpAddress]) -> list[IpAddress]:
        """Of the addresses `host` resolves to now, those a delivery may connect to: the public ones, and any other
        that the allow-list names itself. TargetRefused when none is left."""
        resolved = list(dict.fromkeys(addresses))
        if not resolved:
            raise TargetRefused(f"host {host} resolves to no address")
        listed = self.listed_addresses
        reachable = [address for address in resolved if _is_public(address) or _unmapped(address) in listed]
        if not reachable:
            found = ", ".join(str(address) for address in resolved)
            raise TargetRefused(
                f"host {host} resolves to {found}: not a public address, and not an address on the webhook allow-list"
            )
        return reachable


def _ip(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _unmapped(address: IpAddress) -> IpAddress:
    """An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address it maps: the socket reaches that one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_public(address: IpAddress) -> bool:
    """Globally reachable, and so is any IPv4 address the IPv6 address carries (mapped, NAT64, 6to4)."""
    address = _unmapped(address)
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.sixtofour
        if carried is None and any(address in network for network in _CARRYING_IPV4):
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return carried is None or _is_public(carried)
    return True
