"""Helpers the command-line tests share."""

from __future__ import annotations


def flat(text: str) -> str:
    """Collapse all whitespace to single spaces, undoing rich's line wrapping."""
    return " ".join(text.split())
