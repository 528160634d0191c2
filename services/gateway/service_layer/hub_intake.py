"""Taking the certificates the IPPC ePhyto Hub holds for this country: each waiting envelope is pulled, stored as
the HTTP intake stores a certificate (same parser, same service function, as the NPPO of the envelope's From
country), committed, and only then acknowledged. One that cannot be taken is kept as a dead letter with the reason
and reported failed to the Hub. One gateway instance polls at a time (a lease); while the Hub fails, polls back off.
"""

import hashlib
import logging
import time
import uuid
from typing import Any

from sqlalchemy import Row

from services.contract.clock import Clock
from services.contract.events import Topic
from services.contract.lease import Lease, LeasedLoop
from services.contract.logs import correlated, correlation_id
from services.contract.metrics import HUB_ENVELOPES
from services.contract.outbox import Transactions
from services.gateway.adapters.ephyto_xml import (
    CertificateXmlError,
    HubEnvelope,
    ParsedCertificate,
    parse_certificate_xml,
)
from services.gateway.adapters.hub_client import HubClient, HubError, PulledEnvelope
from services.gateway.adapters.safe_xml import read_in_turn
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.errors import GatewayError
from services.gateway.service_layer import certificates

log = logging.getLogger(__name__)
HUB_CALLER_LABEL = "IPPC ePhyto Hub"
# Records of a dead letter are ids of the outbox: the same envelope refused twice (its failure report got lost) is
# kept once.
_DEAD_LETTERS = uuid.UUID("6b1f3c52-2d0e-4d43-9a55-0d6f3f1f5a01")
# A dead letter goes through Kafka, whose default record limit is 1 MiB: a larger envelope keeps its start (and the
# Hub keeps the whole of it for the exporting NPPO).
MAX_DEAD_LETTER_BYTES = 900_000


class HubIntake:
    def __init__(
        self,
        *,
        client: HubClient,
        transactions: Transactions,
        lease: Lease,
        clock: Clock,
        source: str,
        poll_seconds: float,
        retry_max_seconds: float,
        max_document_bytes: int,
    ) -> None:
        self._client = client
        self._transactions = transactions
        self._lease = lease
        self._clock = clock
        self._source = source
        self._poll_seconds = poll_seconds
        self._retry_max = retry_max_seconds
        self._max_bytes = max_document_bytes
        self._failures = 0
        self._resume_at = float("-inf")
        self.last_error: str | None = None
        self._loop = LeasedLoop(lease=lease, what="ePhyto Hub intake", poll_seconds=poll_seconds, work=self.poll)

    def stop(self) -> None:
        self._loop.stop()

    async def run(self) -> None:
        try:
            await self._loop.run()
        finally:
            await self._client.close()

    async def poll(self) -> int:
        """One round: every waiting envelope taken (stored and acknowledged, or kept and reported failed); how many.

        While the Hub fails, rounds are skipped for a pause that doubles from the poll interval up to the maximum;
        what was not acknowledged stays waiting on the Hub and is taken by a later round.
        """
        if time.monotonic() < self._resume_at:
            return 0
        taken = 0
        try:
            for header in await self._client.waiting_envelopes():
                if not await self._lease.acquire():
                    break  # another instance holds the lease now: it carries on
                taken += await self._take(header)
        except HubError as exc:
            self._failures += 1
            pause = min(self._poll_seconds * 2**self._failures, self._retry_max)
            self._resume_at = time.monotonic() + pause
            self.last_error = str(exc)
            log.warning("%s; %d envelope(s) taken this round; next attempt in %.1f s", exc, taken, pause)
            return taken
        self._failures, self.last_error = 0, None
        return taken

    async def _take(self, header: HubEnvelope) -> int:
        number = header.hub_delivery_number
        if not number:
            log.error(
                "ePhyto Hub: a waiting envelope (certificate %s from %s) has no hubDeliveryNumber; it cannot be pulled",
                header.nppo_certificate_number,
                header.from_country,
            )
            return 0
        with correlated(str(uuid.uuid4())):
            pulled = await self._client.pull(number)
            if pulled is None:
                log.warning("ePhyto Hub: envelope %s is no longer waiting", number)
                return 0
            HUB_ENVELOPES.labels("pulled").inc()
            try:
                parsed = await read_in_turn(parse_certificate_xml, pulled.document, max_bytes=self._max_bytes)
                row, created = await self._store(parsed, header)
            except CertificateXmlError as exc:
                await self._refuse(pulled, header, str(exc))
                return 1
            except GatewayError as exc:  # not its NPPO's certificate, or its number taken by another content
                await self._refuse(pulled, header, exc.detail)
                return 1
            await self._client.acknowledge(number)  # only now: the certificate and its event are committed
            HUB_ENVELOPES.labels("acknowledged").inc()
            log.info(
                "ePhyto Hub envelope %s: certificate %s %s %s (%s), acknowledged",
                number,
                row.issuing_country,
                row.number,
                "stored" if created else "was already stored",
                row.id,
                extra={"hub_delivery_number": number, "certificate_id": row.id},
            )
            return 1

    async def _store(self, parsed: ParsedCertificate, header: HubEnvelope) -> tuple[Row[Any], bool]:
        sender = (parsed.envelope.from_country if parsed.envelope else None) or header.from_country or ""
        caller = Caller(role=Role.NPPO, subject=sender.upper(), label=HUB_CALLER_LABEL)
        async with self._transactions.begin() as transaction:
            return await certificates.receive(
                transaction,
                certificate=parsed.certificate,
                caller=caller,
                correlation_id=correlation_id.get() or "",
                now=self._clock(),
                source=self._source,
                document=parsed.document,
            )

    async def _refuse(self, pulled: PulledEnvelope, header: HubEnvelope, reason: str) -> None:
        """Keep the envelope as a dead letter of the certificates topic, committed, then report it failed."""
        number, document = pulled.hub_delivery_number, pulled.document
        digest = hashlib.sha256(document).hexdigest()
        kept = document[:MAX_DEAD_LETTER_BYTES]
        headers = [
            ("dlq_source", "ephyto-hub"),
            ("dlq_hub_delivery_number", number),
            ("dlq_nppo_certificate_number", header.nppo_certificate_number or ""),
            ("dlq_from", header.from_country or ""),
            ("dlq_correlation_id", correlation_id.get() or ""),
            ("dlq_sha256", digest),
        ]
        if len(kept) < len(document):
            headers.append(("dlq_truncated_from_bytes", str(len(document))))
        async with self._transactions.begin() as transaction:
            await transaction.dead_letter(
                record_id=f"hub-{uuid.uuid5(_DEAD_LETTERS, f'{number}:{digest}')}",
                topic=Topic.CERTIFICATES,
                key=number.encode(),
                value=kept,
                reason=reason,
                headers=headers,
            )
        log.error(
            "ePhyto Hub envelope %s refused and kept as a dead letter: %s",
            number,
            reason,
            extra={"hub_delivery_number": number, "dead_letter_topic": "certificates.dlq"},
        )
        answer = await self._client.report_failure(number, reason)
        HUB_ENVELOPES.labels("failed").inc()
        log.info("ePhyto Hub envelope %s reported failed%s", number, f": the Hub says {answer!r}" if answer else "")
