"""Gateway tables: declarations and their versions, corrections, decisions, the timeline, notifications and
webhooks, keys, outbox and inbox."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from services.contract.database import UtcDateTime, messaging_tables

metadata = MetaData()

declarations = Table(
    "declarations",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("declarant_id", String(17), nullable=False),
    Column("importer_id", String(17), nullable=True, index=True),
    Column("lrn", String(70), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("required_agencies", JSON, nullable=False),
    Column("routing_version", String(32), nullable=False),
    Column("status", String(32), nullable=False),  # the v1 summary of `state`
    Column("state", String(32), nullable=False, index=True),
    Column("status_reasons", JSON, nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("declarant_id", "lrn", name="uq_declarations_declarant_lrn"),
)

declaration_versions = Table(
    "declaration_versions",
    metadata,
    Column("declaration_id", String(26), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("body", JSON, nullable=False),
    Column("changed", JSON, nullable=False),  # dotted paths that differ from the version before
    Column("lodged_at", UtcDateTime, nullable=False),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("declaration_id", String(26), nullable=False),
    Column("number", Integer, nullable=False),
    Column("released_version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("changed", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_by", String(17), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("assessment", JSON, nullable=True),  # customs' CorrectionAssessed, when it has come
    Column("assessed_at", UtcDateTime, nullable=True),
    UniqueConstraint("declaration_id", "number", name="uq_corrections_declaration_number"),
)

certificate_references = Table(
    "certificate_references",
    metadata,
    Column("declaration_id", String(26), primary_key=True),
    Column("certificate_number", String(70), primary_key=True),
    Index("ix_certificate_references_number", "certificate_number"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("issuing_country", String(2), nullable=False),
    Column("number", String(70), nullable=False, index=True),
    Column("body", JSON, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("hub_delivery_number", String(70), nullable=True),
    Column("correlation_id", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # Claim check: the certificate's XML as the NPPO or the Hub delivered it (events carry parsed fields only).
    Column("document", LargeBinary, nullable=True),
    UniqueConstraint("issuing_country", "number", name="uq_certificates_country_number"),
)

agency_decisions = Table(
    "agency_decisions",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("declaration_id", String(26), nullable=False, index=True),
    Column("agency", String(32), nullable=False),
    Column("declaration_version", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("rules_version", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False, index=True),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("declaration_id", String(26), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("agency", String(32), nullable=True),
    Column("detail", JSON, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(36), primary_key=True),
    Column("declaration_id", String(26), nullable=False, index=True),
    Column("declaration_version", Integer, nullable=False),
    Column("agency", String(32), nullable=False),
    Column("code", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("certificate_number", String(70), nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("declaration_id", String(26), nullable=False),
    Column("amount", String(24), nullable=False),  # decimal text: exact on every database
    Column("currency", String(3), nullable=False),
    Column("reference", String(70), nullable=False),
    Column("recorded_by", String(17), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("declaration_id", "reference", name="uq_payments_declaration_reference"),
)

inspections = Table(
    "inspections",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("declaration_id", String(26), nullable=False, index=True),
    Column("agency", String(32), nullable=False),
    Column("declaration_version", Integer, nullable=False),
    Column("result", String(16), nullable=False),
    Column("findings", Text, nullable=True),
    Column("referred_to", String(32), nullable=True),
    Column("officer", String(255), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("pests_found", JSON, nullable=True),  # plant health: scientific names; null on older rows
    Column("action", String(32), nullable=True),  # plant health: treatment_ordered, destroyed, re_exported
    Column("treatment", Text, nullable=True),
)

arrivals = Table(
    "arrivals",
    metadata,
    Column("declaration_id", String(26), primary_key=True),  # goods are presented once
    Column("location", String(5), nullable=False),
    Column("transport_reference", String(70), nullable=True),
    Column("reported_by", String(32), nullable=False),
    Column("arrived_at", UtcDateTime, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("key_id", String(26), nullable=False, unique=True, index=True),
    Column("role", String(16), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("grants", JSON, nullable=True),  # an operator key's Grant values; null: none
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Notifications: one feed per recipient ("trader:GB123...", "carrier:GBDVR-..."), numbered 1, 2, ... in commit
# order (writers lock the recipient's head row), so server-sent events resume exactly after Last-Event-ID.
notification_heads = Table(
    "notification_heads",
    metadata,
    Column("recipient", String(64), primary_key=True),
    Column("last_sequence", BigInteger, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("recipient", String(64), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("id", String(26), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),  # the recipient whose notifications it receives
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("disabled_reason", Text, nullable=True),
    Column("deleted_at", UtcDateTime, nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("webhook_id", String(26), nullable=False, index=True),
    Column("recipient", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False),  # the notification delivered
    Column("state", String(16), nullable=False),  # pending, delivered or abandoned
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(26), nullable=False, index=True),
    Column("webhook_id", String(26), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    # Set when the sealer chains the record: its place in the trail and the hashes.
    Column("position", BigInteger, nullable=True, unique=True),
    Column("previous", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
)

messaging = messaging_tables(metadata)
outbox, inbox, leases = messaging
