"""Headless Chromium against a served app: search, open the account, open its bill."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session

from app.main import create_app
from tests.web.support import BilledCity, dollars, stored_bill

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing; run scripts/ensure-chromium to install it",
    ),
]


@pytest.fixture
def served_app(db_url: str) -> Iterator[str]:
    """Serve the app with uvicorn in a thread on a free 127.0.0.1 port and yield its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    assert server.started, "uvicorn did not start within 5 seconds"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_browser_search_account_bill(
    billed_city: BilledCity, served_app: str, session: Session, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    number = billed_city.special_cases["changeout"]
    bill = stored_bill(session, number)
    screenshot = tmp_path / "bill.png"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)

            page.goto(served_app + "/")
            page.get_by_role("searchbox").fill(number)
            page.get_by_role("button", name="Search").click()
            page.wait_for_url(re.compile(r"/accounts\?q="))
            page.get_by_role("link", name=number, exact=True).click()

            page.wait_for_url(f"**/accounts/{number}")
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Account {number}")
            page.get_by_role("link", name="2026-11-01 to 2026-11-30").click()

            page.wait_for_url(f"**/accounts/{number}/bills/{bill.id}")
            shown_total = page.get_by_test_id("bill-total").inner_text()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert shown_total == dollars(bill.total)
    assert screenshot.stat().st_size > 0
