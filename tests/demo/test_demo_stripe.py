"""The demo's own Stripe: where its files go, and localstripe started and stopped with it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import stripe

from app.demo.demo_stripe import PROJECT_ROOT, demo_files, demo_stripe, running_demo_stripe
from app.settings import Settings, get_settings


def test_files_next_to_sqlite(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo' / 'upm.sqlite3'}")

    state, store = demo_files(settings)

    assert state == tmp_path / "demo" / "demo-stripe.json"
    assert store == tmp_path / "demo" / "localstripe.pickle"


def test_files_named_for_postgres() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/upm_city")

    state, store = demo_files(settings)

    assert state == PROJECT_ROOT / "var" / "demo-stripe-upm_city.json"
    assert store == PROJECT_ROOT / "var" / "localstripe-upm_city.pickle"


def test_configured_stripe_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_STRIPE_SECRET_KEY", "sk_test_configured")
    get_settings.cache_clear()

    with demo_stripe(get_settings()) as started:
        assert started is None
        assert os.environ["UPM_STRIPE_SECRET_KEY"] == "sk_test_configured"


def test_demo_stripe_runs_for_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPM_DATABASE_URL", f"sqlite:///{tmp_path / 'upm.sqlite3'}")
    monkeypatch.delenv("UPM_STRIPE_SECRET_KEY", raising=False)
    monkeypatch.delenv("UPM_STRIPE_API_BASE", raising=False)
    get_settings.cache_clear()
    settings = get_settings()

    with demo_stripe(settings) as started:
        assert started is not None
        assert get_settings().stripe_api_base == started.api_base
        assert running_demo_stripe(settings) == started
        client = stripe.StripeClient(started.secret_key, base_addresses={"api": started.api_base})
        customer = client.v1.customers.create(params={"name": "Demo"})

    assert running_demo_stripe(settings) is None
    assert not (tmp_path / "demo-stripe.json").exists()
    assert "UPM_STRIPE_API_BASE" not in os.environ
    # The store outlives the process, so the next start knows the same customer.
    with demo_stripe(get_settings()) as again:
        assert again is not None
        client = stripe.StripeClient(again.secret_key, base_addresses={"api": again.api_base})
        assert client.v1.customers.retrieve(customer.id).name == "Demo"
