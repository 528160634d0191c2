"""Customs tables: declarations it assessed, its decisions, payments, corrections, and the outbox and inbox."""

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, UniqueConstraint

from services.contract.database import UtcDateTime, messaging_tables

metadata = MetaData()

declarations = Table(
    "customs_declarations",
    metadata,
    Column("declaration_id", String(26), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("declaration", JSON, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime, nullable=True),
)

decisions = Table(
    "customs_decisions",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("declaration_id", String(26), nullable=False),
    Column("declaration_version", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("lane", String(16), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("hits", JSON, nullable=False),
    Column("reasons", JSON, nullable=True),
    Column("details", JSON, nullable=True),
    Column("profile_version", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    UniqueConstraint("declaration_id", "sequence", name="uq_customs_decisions_sequence"),
)

payments = Table(
    "customs_payments",
    metadata,
    Column("payment_id", String(26), primary_key=True),
    Column("declaration_id", String(26), nullable=False, index=True),
    Column("amount", String(24), nullable=False),  # decimal text: exact on every database
    Column("currency", String(3), nullable=False),
    Column("national_amount", String(24), nullable=False),
    Column("reference", String(70), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

corrections = Table(
    "customs_corrections",
    metadata,
    Column("correction_id", String(26), primary_key=True),
    Column("declaration_id", String(26), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("released_version", Integer, nullable=False),
    Column("declaration", JSON, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("difference", String(24), nullable=True),  # decimal text, national currency
    Column("details", JSON, nullable=False),
    Column("assessed_at", UtcDateTime, nullable=False),
)

messaging = messaging_tables(metadata)
outbox, inbox, leases = messaging
