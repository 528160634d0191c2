"""Who may call what: the role-by-endpoint table is the application's, API key specs fit their role, and the
per-key token buckets."""

from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import ValidationError

from services.gateway.domain.callers import Grant, Role
from services.gateway.domain.rate_limits import TokenBuckets
from services.gateway.entrypoints.access import (
    PUBLIC,
    TABLE,
    UngatedRoute,
    default_gateway,
    markdown,
    operations,
    operations_of,
)
from services.gateway.entrypoints.http import create_app
from services.gateway.service_layer.api_keys import KeySpec


def test_the_committed_table_is_the_applications() -> None:
    """A new route changes the generated table: CI fails until docs/access.md is regenerated and reviewed."""
    assert TABLE.read_text() == markdown(default_gateway())


def test_every_operation_of_the_api_has_a_row() -> None:
    gateway = default_gateway()
    spec = create_app(gateway).openapi()
    documented = {(method.upper(), path) for path, methods in spec["paths"].items() for method in methods}
    assert {(operation.method, operation.path) for operation in operations(gateway) if operation.documented} == (
        documented
    )


def test_the_routes_outside_the_api_document_have_rows_too() -> None:
    undocumented = {operation.path for operation in operations(default_gateway()) if not operation.documented}
    assert undocumented == {
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/dashboard",
        "/dashboard/{name}",
    }


def test_a_route_without_a_gate_is_one_listed_public_with_its_reason_and_ops_ones_can_be_closed() -> None:
    table = operations(default_gateway())
    public = {(operation.method, operation.path): operation.why_public for operation in table if operation.gate is None}
    assert public == PUBLIC
    assert all(PUBLIC.values())
    closed = default_gateway()
    closed.settings = closed.settings.model_copy(update={"ops_public": False})
    gates = {operation.path: operation.gate for operation in operations(closed)}
    for path in ("/health", "/ready", "/metrics"):
        gate = gates[path]
        assert gate is not None
        assert (gate.roles, gate.grants) == ((Role.OPERATOR,), ())


async def _nothing(request: Request) -> Response:
    return Response()


def _on_the_app(app: FastAPI) -> None:
    app.add_api_route("/v1/forgotten", _nothing)


def _outside_the_document(app: FastAPI) -> None:
    app.add_api_route("/v1/forgotten", _nothing, include_in_schema=False)


def _in_a_router(app: FastAPI) -> None:
    router = APIRouter(prefix="/v1")
    router.add_api_route("/forgotten", _nothing)
    app.include_router(router)


def _as_a_starlette_route(app: FastAPI) -> None:
    app.add_route("/v1/forgotten", _nothing)


@pytest.mark.parametrize("add", [_on_the_app, _outside_the_document, _in_a_router, _as_a_starlette_route])
def test_a_route_with_no_gate_and_no_reason_to_be_public_stops_the_table(add: Callable[[FastAPI], None]) -> None:
    app = create_app(default_gateway())
    add(app)
    with pytest.raises(UngatedRoute, match="GET /v1/forgotten has no Gate"):
        list(operations_of(app))


class TestKeySpec:
    @pytest.mark.parametrize(
        ("role", "subject"),
        [
            (Role.TRADER, "GB123456789000"),
            (Role.NPPO, "NL"),
            (Role.OFFICER, "customs"),
            (Role.CARRIER, "GBDVR-FERRYPORT"),
            (Role.OPERATOR, ""),
        ],
    )
    def test_each_role_acts_for_its_kind_of_subject(self, role: Role, subject: str) -> None:
        assert KeySpec(role=role, subject=subject).subject == subject

    @pytest.mark.parametrize(
        ("role", "subject", "expected"),
        [
            (Role.TRADER, "", "trader identifier"),
            (Role.TRADER, "gb123", "trader identifier"),
            (Role.NPPO, "NLD", "country code"),
            (Role.OFFICER, "Customs", "agency code"),
            (Role.CARRIER, "", "carrier"),
            (Role.OPERATOR, "GB123456789000", "operator acts for no one"),
        ],
    )
    def test_a_subject_that_does_not_fit_the_role_is_refused(self, role: Role, subject: str, expected: str) -> None:
        with pytest.raises(ValidationError, match=expected):
            KeySpec(role=role, subject=subject)

    def test_grants_are_for_operators_only(self) -> None:
        assert KeySpec(role=Role.OPERATOR, grants=[Grant.TRADE_READ]).grants == [Grant.TRADE_READ]
        with pytest.raises(ValidationError, match="grants are for operator keys"):
            KeySpec(role=Role.OFFICER, subject="customs", grants=[Grant.TRADE_READ])


class TestTokenBuckets:
    def test_a_burst_passes_then_the_rate_holds(self) -> None:
        buckets = TokenBuckets(rate=2.0, burst=3)
        assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
        assert buckets.take("a", 0.0) == pytest.approx(0.5)
        assert buckets.take("a", 0.5) == 0.0  # one token came back in half a second
        assert buckets.take("a", 0.5) == pytest.approx(0.5)

    def test_keys_have_their_own_buckets(self) -> None:
        buckets = TokenBuckets(rate=1.0, burst=1)
        assert buckets.take("a", 0.0) == 0.0
        assert buckets.take("a", 0.0) > 0
        assert buckets.take("b", 0.0) == 0.0

    def test_a_refused_request_spends_nothing(self) -> None:
        buckets = TokenBuckets(rate=1.0, burst=1)
        buckets.take("a", 0.0)
        for _ in range(10):
            buckets.take("a", 0.5)
        assert buckets.take("a", 1.0) == 0.0

    def test_a_token_given_back_can_be_taken_again_but_never_beyond_the_burst(self) -> None:
        buckets = TokenBuckets(rate=0.001, burst=2)
        assert [buckets.take("a", 0.0) for _ in range(2)] == [0.0, 0.0]
        buckets.give_back("a")
        assert buckets.take("a", 0.0) == 0.0
        assert buckets.take("a", 0.0) > 0
        for _ in range(5):
            buckets.give_back("a")
        assert [buckets.take("a", 0.0) == 0.0 for _ in range(3)] == [True, True, False]
        buckets.give_back("never seen")  # a key with no bucket has a full one already
        assert buckets.take("never seen", 0.0) == 0.0

    def test_idle_keys_are_forgotten_beyond_the_bound_without_losing_anything(self) -> None:
        buckets = TokenBuckets(rate=1.0, burst=2, most_keys=2)
        buckets.take("idle", 0.0)
        buckets.take("busy", 9.0)
        buckets.take("new", 10.0)  # three keys: "idle" has had a full bucket since t=2
        assert buckets.take("idle", 10.0) == 0.0
        assert buckets.take("idle", 10.0) == 0.0
        assert buckets.take("idle", 10.0) > 0

    def test_retry_after_is_whole_seconds_and_never_zero(self) -> None:
        buckets = TokenBuckets(rate=10.0, burst=1)
        assert (buckets.retry_after(0.05), buckets.retry_after(1.2)) == (1, 2)
