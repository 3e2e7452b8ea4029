"""Fixtures for the demo's simulators: localstripe on 127.0.0.1 from the payment tests."""

from __future__ import annotations

from tests.payments.conftest import localstripe, localstripe_url, stripe_settings  # noqa: F401
