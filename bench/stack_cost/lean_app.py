"""The submission's work on bare ASGI and sqlite3: the API key look-up, the declaration validated by the contract's
model, its canonical hash, the routing table's agencies, its event and audit digest as the gateway makes them, and
the same rows in the gateway's own tables (migrated and seeded by the gateway's code at start), in one write
transaction. No middleware, dependency injection or SQLAlchemy on the way; its answer is a short JSON, not the full
view. A measuring app, not the product: a floor for what the same work costs in Python on this machine."""

import hashlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import orjson
from sqlalchemy.engine import make_url
from ulid import ULID

from bench.stack_cost.asgi import Receive, Scope, Send, answer, api_key, body_of
from services.contract.cloudevents import Envelope
from services.contract.database import create_engine, upgrade
from services.contract.declaration import Declaration
from services.contract.rules_file import load_rules
from services.gateway.bootstrap import MIGRATIONS
from services.gateway.domain.routing import RoutingTable
from services.gateway.service_layer import api_keys
from services.gateway.service_layer.declarations import dumped_hash, submitted_event
from services.gateway.settings import GatewaySettings

settings = GatewaySettings()
routing = load_rules(settings.routing_table, RoutingTable)
database = str(make_url(settings.database_url).database)
_KEY = "SELECT role, subject FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL"
_DECLARATION = (
    "INSERT INTO declarations (id, declarant_id, importer_id, lrn, version, body, body_hash, required_agencies, "
    "routing_version, status, state, status_reasons, correlation_id, submitted_at, updated_at) "
    "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, 'submitted', 'submitted', '[]', '', ?, ?) ON CONFLICT DO NOTHING RETURNING id"
)
_VERSION = (
    "INSERT INTO declaration_versions (declaration_id, version, body, changed, lodged_at) VALUES (?, 1, ?, '[]', ?)"
)
_TIMELINE = (
    "INSERT INTO timeline (declaration_id, at, kind, agency, detail) VALUES (?, ?, 'submitted', NULL, ?) RETURNING id"
)
_OUTBOX = 'INSERT INTO outbox (event_id, topic, "key", headers, value, created_at) VALUES (?, ?, ?, ?, ?, ?)'
_AUDIT = (
    "INSERT INTO audit_log (recorded_at, actor, action, subject, event_id, correlation_id, digest) "
    "VALUES (?, ?, 'DeclarationSubmitted', ?, ?, '', ?)"
)
connection: sqlite3.Connection | None = None


def _stored(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@asynccontextmanager
async def _migrated() -> AsyncIterator[None]:
    global connection
    engine = create_engine(settings.database_url)
    await upgrade(engine, MIGRATIONS)
    if settings.dev_keys_file is not None:
        async with engine.begin() as seeding:
            await api_keys.seed(seeding, api_keys.read_key_file(settings.dev_keys_file), datetime.now(UTC))
    await engine.dispose()
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    yield
    connection.close()


async def _lifespan(receive: Receive, send: Send) -> None:
    running = _migrated()
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await running.__aenter__()
            await send({"type": "lifespan.startup.complete"})
        else:
            await running.__aexit__(None, None, None)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    assert connection is not None, "the lifespan opens the database"
    if scope["method"] != "POST" or scope["path"] != "/v1/declarations":
        await answer(send, 404, b"{}")
        return
    body = await body_of(receive)
    connection.execute("BEGIN")
    caller = connection.execute(_KEY, (api_keys.hash_key(api_key(scope)),)).fetchone()
    connection.execute("COMMIT")
    if caller is None or caller[0] != "trader":
        await answer(send, 401, b'{"detail":"a trader key is required"}')
        return
    declaration = Declaration.model_validate(orjson.loads(body), extra="forbid")
    dumped = declaration.model_dump(mode="json")
    now, declaration_id, text = datetime.now(UTC), str(ULID()), orjson.dumps(dumped).decode()
    required = routing.required_agencies(declaration)
    event = submitted_event(declaration_id, declaration, required, routing, now)
    envelope = Envelope(data=event, source="gateway", correlation_id=declaration_id)
    headers = orjson.dumps(envelope.attributes()).decode()
    at = _stored(now)
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = (declaration_id, caller[1], declaration.importer.id, declaration.lrn, text, dumped_hash(dumped))
        inserted = connection.execute(
            _DECLARATION, (*row, orjson.dumps(required).decode(), routing.version, at, at)
        ).fetchone()
        if inserted is None:
            raise LookupError("the LRN was used before")
        connection.execute(_VERSION, (declaration_id, text, at))
        entry = connection.execute(_TIMELINE, (declaration_id, at, orjson.dumps({"version": 1}).decode())).fetchone()
        topic = settings.topic(event.topic)
        connection.execute(_OUTBOX, (envelope.id, topic, envelope.key(), headers, envelope.value(), at))
        digest = hashlib.sha256(envelope.value()).hexdigest()
        connection.execute(_AUDIT, (at, f"trader:{caller[1]}", declaration_id, envelope.id, digest))
        connection.execute("COMMIT")
    except LookupError as taken:
        connection.execute("ROLLBACK")
        await answer(send, 409, orjson.dumps({"detail": str(taken)}))
        return
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    view = {"id": declaration_id, "lrn": declaration.lrn, "version": 1, "required_agencies": required}
    view["timeline"] = [{"id": entry[0], "kind": "submitted", "at": now.isoformat()}]
    await answer(send, 201, orjson.dumps(view), f"/v1/declarations/{declaration_id}")
