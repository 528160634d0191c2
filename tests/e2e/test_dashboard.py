"""The operator dashboard in a real headless Chromium (Debian's), driven by Playwright, against the services
running as processes: the page loads, takes a key, and shows the live figures after a submission."""

import shutil

import pytest

from deploy.stack import Stack
from tests.e2e.api_client import GatewayClient
from tests.support import payloads
from tests.support.artifacts import ARTIFACTS
from tests.support.in_process import OPERATOR_KEY, TRADER_KEY

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.async_api", reason="playwright is not installed (scripts/setup.sh does)")
CHROMIUM = shutil.which("chromium")
WITHIN_MS = 30_000  # the page refreshes every 5 s; a figure must show within a few refreshes


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it)")
async def test_the_dashboard_shows_live_figures_after_a_submission(stack: Stack, gateway: GatewayClient) -> None:
    url = stack.services[0].url
    problems: list[str] = []
    async with playwright.async_playwright() as driver:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 1800})
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            await page.goto(f"{url}/dashboard")
            assert await page.locator("#live").is_hidden()  # nothing shown without a key

            await page.fill("#key", TRADER_KEY["X-API-Key"])
            await page.click("button[type=submit]")
            await page.wait_for_selector("#status.error", timeout=WITHIN_MS)
            assert "an operator key is needed" in await page.locator("#status").inner_text()

            await page.fill("#key", OPERATOR_KEY["X-API-Key"])
            await page.click("button[type=submit]")
            await page.wait_for_selector("#live:not([hidden])", timeout=WITHIN_MS)
            for service in ("gateway", "customs", "phyto"):
                await page.wait_for_selector(f"#services .card.up[data-service={service}]", timeout=WITHIN_MS)
            before = int(await page.locator("#lodged-15").inner_text())

            roses = await gateway.lodge(payloads.declaration(payloads.certificate_number()))
            await gateway.wait_for_status(roses, "held")
            await page.wait_for_function(
                "n => Number(document.getElementById('lodged-15').textContent) > n", arg=before, timeout=WITHIN_MS
            )
            row = page.locator("#waiting tr", has_text=roses)
            await row.wait_for(timeout=WITHIN_MS)
            assert "phyto: held (CERTIFICATE_AWAITED)" in await row.inner_text()
            await page.locator("#mix-plot rect.bar-held").first.wait_for(timeout=WITHIN_MS)
            await page.locator("#study-agencies rect.bar-p50").first.wait_for(timeout=WITHIN_MS)
            assert "Declarations lodged" in await page.locator("#study-summary").inner_text()
            await page.locator("#lag tr", has_text="customs").first.wait_for(timeout=WITHIN_MS)
            assert "Kafka" in await page.locator("#broker").inner_text()
            assert "connected" in await page.locator("#broker").inner_text()

            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            await browser.close()
    assert not [p for p in problems if "401" not in p and "403" not in p], problems  # the trader key's refusal
