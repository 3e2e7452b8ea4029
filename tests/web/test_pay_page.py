"""The hosted card page of a payment link, in headless Chromium and over HTTP.

Stripe.js is localstripe's fake one, served by the localstripe server. That fake never
sends the card to localstripe. Its ``confirmCardPayment`` only opens a 3-D Secure prompt
and then requests that localstripe finish the 3-D Secure step of the PaymentIntent. So to
pay, the test makes the PaymentMethod from the card typed into the page and confirms the
PaymentIntent with it at localstripe, as the real Stripe.js does. A 3-D Secure test card
then waits for the prompt, which the browser completes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import stripe
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.ledger.models import EntryKind
from app.ledger.service import account_balance
from app.main import create_app
from app.payments import channels
from app.payments.cards.models import PaymentLink
from app.payments.models import Payment, PaymentChannel, PaymentStatus
from app.settings import get_settings
from tests.app.factories import City
from tests.payments.conftest import (  # noqa: F401 - fixtures used below
    localstripe,
    localstripe_url,
    stripe_settings,
)
from tests.payments.helpers import assert_ledger_invariants, entries_of, issue_bill
from tests.web.test_browser import (  # noqa: F401 - served_app is a fixture used below
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    served_app,
)

BILL_TOTAL = Decimal("88.12")
#: Stripe's test card that needs 3-D Secure and then succeeds.
THREE_D_SECURE_CARD = "4000002500003155"
GOOD_CARD = "4242424242424242"
CLIENT_SECRET = re.compile(r"pi_\w+_secret_\w+")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing; run scripts/ensure-chromium to install it",
)


@dataclass(frozen=True)
class OpenLink:
    account_id: int
    link_id: int
    token: str
    url: str


@pytest.fixture
def pay_settings(localstripe: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """Load Stripe.js from localstripe instead of js.stripe.com; return localstripe's URL."""
    monkeypatch.setenv("UPM_STRIPE_JS_URL", f"{localstripe}/js.stripe.com/v3/")
    get_settings.cache_clear()
    return localstripe


@pytest.fixture
def served_pay_app(pay_settings: str, served_app: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """Serve the app and make payment links point at it; return its URL."""
    monkeypatch.setenv("UPM_PUBLIC_BASE_URL", served_app)
    get_settings.cache_clear()
    return served_app


@pytest.fixture
def page() -> Iterator[Any]:
    """Yield a page of headless Chromium that closes after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            new_page = browser.new_page()
            new_page.set_default_timeout(TIMEOUT_MS)
            yield new_page
        finally:
            browser.close()


@pytest.fixture
def client(pay_settings: str) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def open_link(factory: sessionmaker[Session], language: str = "en") -> OpenLink:
    """Bill an account 88.12 and text it a payment link for the amount due."""
    with factory() as session:
        city = City(session)
        account, _ = city.account()
        account.customer.language = language
        issue_bill(session, city, account, str(BILL_TOTAL))
        link, url = channels.start_payment_link(
            session, account_id=account.id, channel=PaymentChannel.SMS,
            idempotency_key="SM100:link", actor="sms",
        )
        session.commit()
        return OpenLink(account.id, link.id, link.token, url)


def localstripe_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_upm", base_addresses={"api": get_settings().stripe_api_base}
    )


def intent_of(factory: sessionmaker[Session], link_id: int) -> str:
    with factory() as session:
        intent_ref = session.get_one(PaymentLink, link_id).payment_intent_ref
    assert intent_ref is not None, "the page did not create the link's PaymentIntent"
    return intent_ref


def confirm_as_stripe_js(intent_ref: str, card: dict[str, Any]) -> str:
    """Confirm the PaymentIntent with the typed card as Stripe.js would; return its status.

    localstripe does not implement confirming with a ``payment_method``, so the method
    is set on the PaymentIntent first and the PaymentIntent is confirmed without it.
    """
    client = localstripe_client()
    method = client.v1.payment_methods.create(params={"type": "card", "card": card})
    client.v1.payment_intents.update(intent_ref, params={"payment_method": method.id})
    return str(client.v1.payment_intents.confirm(intent_ref).status)


def link_payment(session: Session, link_id: int) -> Payment:
    link = session.get_one(PaymentLink, link_id)
    assert link.payment_id is not None
    return session.get_one(Payment, link.payment_id)


def submit_card(page: Any, button: str, prompt_answer: str) -> None:
    """Press the page's pay button, then answer localstripe's 3-D Secure prompt."""
    page.get_by_role("button", name=button).click()
    page.get_by_role("button", name=prompt_answer).click()


def fill_card(page: Any, number: str) -> dict[str, Any]:
    """Type a card into localstripe's fake card element; return the card it holds."""
    fields = {"number": number, "exp_month": "12", "exp_year": "30", "cvc": "123",
              "postal_code": "78701"}
    for name, value in fields.items():
        page.locator(f"#card input[placeholder={name}]").fill(value)
    return dict(page.evaluate("card.value.card"))


@pytest.mark.browser
@needs_chromium
def test_pay_page_pays_once(
    page: Any, served_pay_app: str, session_factory: sessionmaker[Session]
) -> None:
    from playwright.sync_api import expect

    opened = open_link(session_factory)
    assert opened.url == f"{served_pay_app}/pay/{opened.token}"

    page.goto(opened.url)
    expect(page).to_have_title("Pay $88.12 · City of Riverbend Utilities")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay $88.12")
    card = fill_card(page, THREE_D_SECURE_CARD)
    assert card == {"number": THREE_D_SECURE_CARD, "exp_month": "12", "exp_year": "2030",
                    "cvc": "123"}
    status = confirm_as_stripe_js(intent_of(session_factory, opened.link_id), card)
    assert status == "requires_action"

    submit_card(page, "Pay $88.12", "Complete authentication")

    page.wait_for_url(f"**/pay/{opened.token}/done")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    with session_factory() as session:
        payment = link_payment(session, opened.link_id)
        assert payment.status == PaymentStatus.SUCCEEDED
        assert payment.channel == PaymentChannel.SMS
        assert len(session.scalars(select(Payment)).all()) == 1
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1
        assert account_balance(session, opened.account_id) == Decimal("0.00")
        assert_ledger_invariants(session)
    expect(page.locator("#outcome")).to_have_text(
        f"We received your payment of $88.12. Receipt number {payment.id}."
    )

    page.goto(opened.url)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This payment link was already paid"
    )
    with session_factory() as session:
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1


@pytest.mark.browser
@needs_chromium
def test_pay_page_in_spanish(
    page: Any, served_pay_app: str, session_factory: sessionmaker[Session]
) -> None:
    from playwright.sync_api import expect

    opened = open_link(session_factory, language="es")

    page.goto(opened.url)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pagar $88.12")
    card = fill_card(page, THREE_D_SECURE_CARD)
    confirm_as_stripe_js(intent_of(session_factory, opened.link_id), card)

    submit_card(page, "Pagar $88.12", "Complete authentication")

    page.wait_for_url(f"**/pay/{opened.token}/done")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gracias")
    expect(page.locator("#outcome")).to_contain_text("Recibimos su pago de $88.12.")
    with session_factory() as session:
        assert link_payment(session, opened.link_id).status == PaymentStatus.SUCCEEDED


@pytest.mark.browser
@needs_chromium
def test_failed_authentication_posts_nothing(
    page: Any, served_pay_app: str, session_factory: sessionmaker[Session]
) -> None:
    from playwright.sync_api import expect

    opened = open_link(session_factory)

    page.goto(opened.url)
    card = fill_card(page, THREE_D_SECURE_CARD)
    confirm_as_stripe_js(intent_of(session_factory, opened.link_id), card)
    submit_card(page, "Pay $88.12", "Fail authentication")

    # localstripe's fake Stripe.js reports no error here and the page moves on, so the
    # done page must read the failure from Stripe.
    page.wait_for_url(f"**/pay/{opened.token}/done")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payment not completed")
    expect(page.locator("#outcome")).to_have_text(
        "Your payment of $88.12 did not go through. Nothing was charged."
    )
    with session_factory() as session:
        assert link_payment(session, opened.link_id).status == PaymentStatus.PENDING
        assert entries_of(session, EntryKind.PAYMENT) == []
        assert account_balance(session, opened.account_id) == BILL_TOTAL


@pytest.mark.browser
@needs_chromium
def test_pay_page_shows_stripe_error(
    page: Any, served_pay_app: str, session_factory: sessionmaker[Session]
) -> None:
    from playwright.sync_api import expect

    opened = open_link(session_factory)

    page.goto(opened.url)
    fill_card(page, GOOD_CARD)
    # Nothing confirms the PaymentIntent with the card first, so localstripe rejects the
    # 3-D Secure step with an error that the page must show.
    submit_card(page, "Pay $88.12", "Complete authentication")

    expect(page.get_by_role("alert")).to_have_text(re.compile(r"\S"))
    expect(page.get_by_role("button", name="Pay $88.12")).to_be_enabled()
    assert page.url == opened.url
    with session_factory() as session:
        assert link_payment(session, opened.link_id).status == PaymentStatus.PENDING
        assert entries_of(session, EntryKind.PAYMENT) == []


def test_done_posts_once_without_browser(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    opened = open_link(session_factory)
    assert client.get(f"/pay/{opened.token}").status_code == 200
    card = {"number": GOOD_CARD, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    assert confirm_as_stripe_js(intent_of(session_factory, opened.link_id), card) == "succeeded"

    # Paid at Stripe but not yet posted here, the link already shows as paid.
    revisit = client.get(f"/pay/{opened.token}")
    first = client.get(f"/pay/{opened.token}/done")
    second = client.get(f"/pay/{opened.token}/done")

    assert revisit.status_code == 409
    assert "This payment link was already paid" in revisit.text
    assert first.status_code == 200
    assert "<h1>Thank you</h1>" in first.text
    assert second.text == first.text
    with session_factory() as session:
        assert link_payment(session, opened.link_id).status == PaymentStatus.SUCCEEDED
        assert len(entries_of(session, EntryKind.PAYMENT)) == 1
        assert account_balance(session, opened.account_id) == Decimal("0.00")
        assert_ledger_invariants(session)


def test_reload_keeps_payment_intent(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    opened = open_link(session_factory)

    first = client.get(f"/pay/{opened.token}")
    second = client.get(f"/pay/{opened.token}")

    intent_ref = intent_of(session_factory, opened.link_id)
    assert CLIENT_SECRET.findall(first.text) == CLIENT_SECRET.findall(second.text)
    assert CLIENT_SECRET.findall(first.text)[0].startswith(f"{intent_ref}_secret_")
    with session_factory() as session:
        assert len(session.scalars(select(Payment)).all()) == 1


def test_expired_link_is_explained(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    opened = open_link(session_factory)
    with session_factory() as session:
        link = session.get_one(PaymentLink, opened.link_id)
        link.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.commit()

    english = client.get(f"/pay/{opened.token}")
    spanish = client.get(f"/pay/{opened.token}?lang=es")

    assert english.status_code == 409
    assert "<h1>This payment link has expired</h1>" in english.text
    assert "Ask us for a new link, or pay another way." in english.text
    assert spanish.status_code == 409
    assert "<h1>Este enlace de pago ha vencido</h1>" in spanish.text
    with session_factory() as session:
        assert session.get_one(PaymentLink, opened.link_id).payment_intent_ref is None


@pytest.mark.parametrize("path", ["/pay/no-such-token", "/pay/no-such-token/done"])
def test_unknown_token_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert "<h1>Payment link not found</h1>" in response.text
    assert '<html lang="en">' in response.text


@pytest.mark.parametrize(
    ("customer_language", "query", "heading"),
    [
        ("en", "", "Pay $88.12"),
        ("es", "", "Pagar $88.12"),
        ("en", "?lang=es", "Pagar $88.12"),
        ("es", "?lang=en", "Pay $88.12"),
        ("es", "?lang=fr", "Pay $88.12"),
    ],
)
def test_page_language(
    client: TestClient, session_factory: sessionmaker[Session],
    customer_language: str, query: str, heading: str,
) -> None:
    opened = open_link(session_factory, language=customer_language)

    response = client.get(f"/pay/{opened.token}{query}")

    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.text
