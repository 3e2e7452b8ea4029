"""Storing a bank file whole, once, before anything is parsed from it."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_ignoring_duplicates, utcnow
from app.payments.bankfiles.models import BankFile, BankFileKind
from app.payments.drafts import vault


def store_file(
    session: Session, *, kind: BankFileKind, filename: str, content: bytes, actor: str
) -> tuple[BankFile, bool]:
    """Store the file unless its SHA-256 is known; return it and whether it is new.

    The unique hash is the claim: a second import of the same bytes, even one running
    at the same moment on PostgreSQL, waits for the first and then finds it stored.
    """
    digest = hashlib.sha256(content).hexdigest()
    row = {
        "kind": kind,
        "filename": filename[:255],
        "sha256": digest,
        "content": vault.seal_bytes(content),
        "imported_by": actor,
        "imported_at": utcnow(),
        "item_count": 0,
        "posted_count": 0,
        "suspense_count": 0,
        "error_count": 0,
    }
    is_new = insert_ignoring_duplicates(session, BankFile, [row], ["sha256"]) == 1
    bank_file = session.scalar(select(BankFile).where(BankFile.sha256 == digest))
    assert bank_file is not None
    return bank_file, is_new
