"""Phyto tables: certificates, the declarations it must answer, their links, its decisions; outbox and inbox."""

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from services.contract.database import UtcDateTime, messaging_tables

metadata = MetaData()

certificates = Table(
    "certificates",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("issuing_country", String(2), nullable=False),
    Column("number", String(70), nullable=False, index=True),
    Column("status", String(4), nullable=False),
    Column("body", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("replaces", String(70), nullable=True, index=True),  # the number its ADRPN note names
    UniqueConstraint("issuing_country", "number", name="uq_phyto_certificates_country_number"),
)

declarations = Table(
    "declarations",
    metadata,
    Column("declaration_id", String(26), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("last_sequence", Integer, nullable=False),
    Column("inspection", JSON, nullable=True),  # the officer's result on the current version, once recorded
    Column("lodged_at", UtcDateTime, nullable=True),  # first version's lodgement; none for rows kept before 0004
)

declaration_certificates = Table(
    "declaration_certificates",
    metadata,
    Column("declaration_id", String(26), primary_key=True),
    Column("certificate_number", String(70), primary_key=True),
    Index("ix_declaration_certificates_number", "certificate_number"),
)

decisions = Table(
    "phyto_decisions",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("declaration_id", String(26), nullable=False),
    Column("declaration_version", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("mismatches", JSON, nullable=False),
    Column("requirements_version", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    UniqueConstraint("declaration_id", "sequence", name="uq_phyto_decisions_sequence"),
)

messaging = messaging_tables(metadata)
outbox, inbox, leases = messaging
