"""A wildlife authority checking CITES permits: an agency joined to the single window by data and events alone.

It imports nothing from the single window's code. It reads the declarations topic as schemas/events/ describes
it (DeclarationSubmitted, DeclarationAmended, DeclarationCancelled; CloudEvents in Kafka binary mode) and
answers every declaration version naming it in `required_agencies` with an AgencyDecisionMade on the decisions
topic. The gateway's routing table sends it live animals (HS 0106) and goods citing a CITES document; another
agency's officer may refer it any other declaration (DeclarationReferred), which it then decides the same way.
A referral of a version it has already answered changes nothing: its decision rests on the permits cited.

    python examples/agencies/wildlife.py --bootstrap 127.0.0.1:19092 [--topic-prefix P] [--group wildlife]

Delivery is at least once: offsets are committed after the decision is acknowledged by the broker (acks=all),
and a redelivered declaration gets a decision with the same `ce_id` (a UUIDv5 of the input's), which the
gateway deduplicates.
"""

import argparse
import json
import logging
import signal
import uuid
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer

AGENCY = "wildlife"
RULES_VERSION = "cites-2026.1"
PERMITS = frozenset({"C400", "C401"})  # CITES import permit, export permit or re-export certificate (D.E. 2/3)
LISTED_PREFIXES = ("0106",)  # live animals other than livestock: reptiles, birds, primates...
NOT_HELD = frozenset({"UA", "XW"})  # a permit declared unavailable or waived is no permit
DECISION_TYPE = "org.singlewindow.AgencyDecisionMade.v1"
DECISION_SCHEMA = "urn:singlewindow:schema:AgencyDecisionMade:v1"
LODGED_TYPES = {"org.singlewindow.DeclarationSubmitted.v1", "org.singlewindow.DeclarationAmended.v1"}
REFERRED_TYPE = "org.singlewindow.DeclarationReferred.v1"
NAMESPACE = uuid.UUID("5b0f4c1e-8f6d-4a53-9a52-8d1f3e0c7a11")  # this agency's own namespace for output ids

log = logging.getLogger(AGENCY)


def permits_of(documents: list[dict[str, Any]]) -> list[str]:
    return [
        doc["id"]
        for doc in documents
        if f"{doc['category_code']}{doc['type_code']}" in PERMITS and doc.get("status") not in NOT_HELD
    ]


def decide(declaration: dict[str, Any]) -> tuple[str, list[dict[str, str]], dict[str, Any]]:
    """Outcome, reasons and details for one declaration version: every listed item needs a permit."""
    header_permits = permits_of(declaration.get("documents", []))
    listed = [
        item
        for item in declaration["goods_items"]
        if item["commodity_code"].startswith(LISTED_PREFIXES) or permits_of(item.get("documents", []))
    ]
    if not listed:
        reason = {"code": "NO_CITES_GOODS", "text": "no goods item is a CITES-listed species"}
        return "not_concerned", [reason], {}
    missing = [item["sequence"] for item in listed if not (permits_of(item.get("documents", [])) or header_permits)]
    permits = sorted({p for item in listed for p in permits_of(item.get("documents", []))} | set(header_permits))
    if missing:
        text = f"goods items {', '.join(map(str, missing))}: CITES-listed and no permit (C400 or C401) cited"
        return "held", [{"code": "CITES_PERMIT_MISSING", "text": text}], {"permits": permits, "missing": missing}
    return "released", [{"code": "CITES_PERMITS_CITED", "text": f"permits {', '.join(permits)}"}], {"permits": permits}


def headers_of(message: Message) -> dict[str, str]:
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {key: value.decode() if isinstance(value, bytes) else value for key, value in pairs if value is not None}


def answer(message: Message, producer: Producer, decisions_topic: str) -> None:
    headers = headers_of(message)
    kind = headers.get("ce_type")
    if kind not in LODGED_TYPES and kind != REFERRED_TYPE:
        return  # cancellations, payments, corrections: nothing to answer
    lodged = json.loads(message.value() or b"{}")
    if AGENCY not in lodged["required_agencies"]:
        return
    if kind == REFERRED_TYPE and (lodged["referred_to"] != AGENCY or lodged["already_required"]):
        return
    outcome, reasons, details = decide(lodged["declaration"])
    now = datetime.now(UTC).isoformat()
    decision = {
        "agency": AGENCY,
        "declaration_id": lodged["declaration_id"],
        "declaration_version": lodged["version"],
        "sequence": lodged["version"],  # one decision per version: the sequence grows with the version
        "outcome": outcome,
        "reasons": reasons,
        "details": details,
        "rules_version": RULES_VERSION,
        "decided_at": now,
    }
    attributes = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid5(NAMESPACE, f"{headers['ce_id']}|{AGENCY}")),
        "ce_source": AGENCY,
        "ce_type": DECISION_TYPE,
        "ce_time": now,
        "ce_subject": lodged["declaration_id"],
        "ce_dataschema": DECISION_SCHEMA,
        "ce_correlationid": headers.get("ce_correlationid", headers["ce_id"]),
        "content-type": "application/json",
    }
    producer.produce(
        decisions_topic,
        key=lodged["declaration_id"].encode(),
        value=json.dumps(decision).encode(),
        headers=[(name, value.encode()) for name, value in attributes.items()],
    )
    if producer.flush(30) != 0:
        raise RuntimeError("the broker did not acknowledge the decision within 30 s")
    log.info("declaration %s version %s: %s", lodged["declaration_id"], lodged["version"], outcome)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic-prefix", default="")
    parser.add_argument("--group", default=AGENCY)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"{args.topic_prefix}{args.group}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "enable.idempotence": True})
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    consumer.subscribe([f"{args.topic_prefix}declarations"])
    log.info("wildlife authority consuming %sdeclarations", args.topic_prefix)
    try:
        while not stopping:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", error)
                continue
            answer(message, producer, f"{args.topic_prefix}decisions")
            consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
