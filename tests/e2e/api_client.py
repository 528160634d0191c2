"""A small client of the gateway so that end-to-end tests read like a user's story."""

from typing import Any

import httpx

from tests.support.in_process import CARRIER_KEY, CUSTOMS_OFFICER_KEY, NPPO_KEY, TRADER_KEY
from tests.support.waiting import eventually


class GatewayClient:
    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=10)

    async def close(self) -> None:
        await self._http.aclose()

    async def lodge(self, declaration: dict[str, Any], *, correlation_id: str | None = None) -> str:
        headers = TRADER_KEY | ({"X-Correlation-ID": correlation_id} if correlation_id else {})
        response = await self._http.post("/v1/declarations", json=declaration, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def deliver(self, certificate: dict[str, Any]) -> str:
        response = await self._http.post("/v1/certificates", json=certificate, headers=NPPO_KEY)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def declaration(self, declaration_id: str) -> dict[str, Any]:
        response = await self._http.get(f"/v1/declarations/{declaration_id}", headers=TRADER_KEY)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_for_status(self, declaration_id: str, status: str, within: float = 60) -> dict[str, Any]:
        seen: list[str] = []

        async def reached() -> dict[str, Any] | None:
            body = await self.declaration(declaration_id)
            seen[:] = [body["clearance"]["status"]]
            return body if seen == [status] else None

        try:
            return await eventually(reached, within=within, what=f"{declaration_id} to be {status}")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}; its status was {seen}") from None

    async def wait_for_decisions(self, declaration_id: str, *agencies: str, within: float = 60) -> dict[str, Any]:
        """The declaration once each of `agencies` has decided on it."""

        async def decided() -> dict[str, Any] | None:
            body = await self.declaration(declaration_id)
            return body if {decision["agency"] for decision in body["decisions"]} >= set(agencies) else None

        return await eventually(decided, within=within, what=f"{', '.join(agencies)} to decide on {declaration_id}")

    async def pay(self, declaration_id: str, amount: str, reference: str) -> dict[str, Any]:
        body = {"amount": {"value": amount, "currency": "GBP"}, "reference": reference}
        return await self._post(f"/v1/declarations/{declaration_id}/payments", body, TRADER_KEY, 201)

    async def inspect(self, declaration_id: str, **result: Any) -> dict[str, Any]:
        return await self._post(f"/v1/declarations/{declaration_id}/inspections", result, CUSTOMS_OFFICER_KEY, 201)

    async def amend(self, declaration_id: str, declaration: dict[str, Any]) -> dict[str, Any]:
        body = declaration | {"function_code": "4"}
        return await self._post(f"/v1/declarations/{declaration_id}/amendments", body, TRADER_KEY, 201)

    async def cancel(self, declaration_id: str, reason: str) -> dict[str, Any]:
        return await self._post(f"/v1/declarations/{declaration_id}/cancellation", {"reason": reason}, TRADER_KEY, 200)

    async def correct(self, declaration_id: str, declaration: dict[str, Any], reason: str) -> dict[str, Any]:
        body = {"reason": reason, "declaration": declaration | {"function_code": "4"}}
        return await self._post(f"/v1/declarations/{declaration_id}/corrections", body, TRADER_KEY, 201)

    async def arrive(self, declaration_id: str, location: str) -> dict[str, Any]:
        return await self._post(f"/v1/declarations/{declaration_id}/arrival", {"location": location}, CARRIER_KEY, 201)

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str], expected: int) -> dict[str, Any]:
        response = await self._http.post(path, json=body, headers=headers)
        assert response.status_code == expected, response.text
        answer: dict[str, Any] = response.json()
        return answer
