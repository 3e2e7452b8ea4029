"""Payments: application, Stripe, bank drafts, lockbox and the counter."""
