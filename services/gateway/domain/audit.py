"""The audit trail's hash chain (pure): who did what and when, each record chained to the one before.

A record's hash is SHA-256 over the previous record's hash and the record's own fields, so editing, deleting or
reordering any record breaks every hash after it. Anchors (the head's position and hash, published outside the
database) catch what the chain alone cannot: a truncated tail, or a whole chain recomputed by a forger.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64
"""The 'previous hash' of the first record."""


@dataclass(frozen=True)
class AuditRecord:
    recorded_at: datetime
    actor: str
    """Who: `role:subject` of the API key (`officer:customs`), an agency's service, or `gateway` itself."""
    action: str
    """What: the event's type (DeclarationSubmitted, InspectionRecorded, AgencyDecisionMade...)."""
    subject: str
    """On what: the declaration id, or a certificate's issuing country and number."""
    event_id: str
    correlation_id: str
    digest: str
    """SHA-256 of the event as published: the record vouches for its content without holding it."""


@dataclass(frozen=True)
class Sealed:
    position: int
    record: AuditRecord
    previous: str
    hash: str


@dataclass(frozen=True)
class Anchor:
    position: int
    hash: str


def chain_hash(previous: str, position: int, record: AuditRecord) -> str:
    fields = [
        previous,
        position,
        record.recorded_at.isoformat(),
        record.actor,
        record.action,
        record.subject,
        record.event_id,
        record.correlation_id,
        record.digest,
    ]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


def seal(head: Sealed | None, records: Iterable[AuditRecord]) -> list[Sealed]:
    """Number and chain `records` after `head` (None: the chain is empty)."""
    position, previous = (0, GENESIS) if head is None else (head.position, head.hash)
    sealed = []
    for record in records:
        position += 1
        digest = chain_hash(previous, position, record)
        sealed.append(Sealed(position, record, previous, digest))
        previous = digest
    return sealed


def problems(trail: Sequence[Sealed], anchors: Iterable[Anchor]) -> list[str]:
    """Everything wrong with a trail read in position order, measured against the anchors published for it."""
    found: list[str] = []
    previous = GENESIS
    for expected, entry in enumerate(trail, start=1):
        if entry.position != expected:
            found.append(f"record {expected} is missing or out of order (found position {entry.position})")
            break
        if entry.previous != previous:
            found.append(f"record {entry.position} does not follow record {entry.position - 1}: the chain is broken")
        if chain_hash(entry.previous, entry.position, entry.record) != entry.hash:
            found.append(f"record {entry.position} was changed after it was sealed")
        previous = entry.hash
    hashes = {entry.position: entry.hash for entry in trail}
    for anchor in anchors:
        if anchor.position not in hashes:
            found.append(f"record {anchor.position}, anchored outside the database, is gone: the trail was truncated")
        elif hashes[anchor.position] != anchor.hash:
            found.append(f"record {anchor.position} differs from its anchor: the chain was rewritten")
    return found
