"""Customs' and phyto's operations endpoints behind a bearer token (OPS_TOKEN_FILE), and the gateway's dashboard
asking them with it (PEER_OPS_TOKEN_FILE), over real HTTP."""

from pathlib import Path

import httpx
import pytest

from services.contract.serve import consumer_app
from services.gateway.bootstrap import bootstrap as bootstrap_gateway
from services.gateway.entrypoints.http import create_app as gateway_app
from tests.support.in_process import OPERATOR_KEY, System
from tests.support.serving import served

pytestmark = pytest.mark.integration
PATHS = ("/health", "/ready", "/metrics")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_operations_endpoints_with_a_token_file_need_its_token(system: System, tmp_path: Path) -> None:
    token_file = tmp_path / "ops-token"
    token_file.write_text("first-token-0123456789\n")
    for runtime in (system.customs.runtime, system.phyto.runtime):
        async with (
            served(consumer_app("service", runtime, token_file)) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            for path in PATHS:
                refused = await client.get(path)
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"] == "Bearer"
                assert "kafka" not in refused.text
                assert (await client.get(path, headers=bearer("first-token-0123456788"))).status_code == 401
                assert (await client.get(path, headers={"Authorization": "first-token-0123456789"})).status_code == 401
                assert (await client.get(path, headers=bearer("first-token-0123456789"))).status_code == 200
            token_file.write_text("second-token-0123456789")  # rotated: counts from the next request
            assert (await client.get("/metrics", headers=bearer("first-token-0123456789"))).status_code == 401
            assert (await client.get("/metrics", headers=bearer("second-token-0123456789"))).status_code == 200
            token_file.write_text("")  # an empty file lets no one in
            assert (await client.get("/metrics", headers=bearer("second-token-0123456789"))).status_code == 401
            token_file.write_text("first-token-0123456789\n")


async def test_without_a_token_file_the_operations_endpoints_are_public(system: System) -> None:
    async with (
        served(consumer_app("customs", system.customs.runtime, None)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        for path in PATHS:
            assert (await client.get(path)).status_code == 200


async def test_the_dashboard_asks_the_peers_with_their_token(system: System, tmp_path: Path) -> None:
    token_file = tmp_path / "ops-token"
    token_file.write_text("peer-token-0123456789")
    async with served(consumer_app("customs", system.customs.runtime, token_file)) as customs_url:
        peers = {"customs": f"{customs_url}/health"}
        for peer_token, answered in ((None, 401), (token_file, 200)):
            settings = system.gateway.settings.model_copy(
                update={"peer_health_urls": peers, "peer_ops_token_file": peer_token, "overview_cache_seconds": 0}
            )
            async with (
                served(gateway_app(bootstrap_gateway(settings))) as base_url,
                httpx.AsyncClient(base_url=base_url, timeout=30) as client,
            ):
                response = await client.get("/v1/operations/overview", headers=OPERATOR_KEY)
            assert response.status_code == 200, response.text
            (customs,) = response.json()["services"][1:]
            assert customs["name"] == "customs"
            assert customs["status"] == answered
            assert customs["ready"] is (answered == 200)
