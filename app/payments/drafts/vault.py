"""Encryption of bank routing and account numbers at rest (Fernet from ``cryptography``).

Whole bank files are sealed the same way before they are stored. The key comes from
``UPM_BANK_DATA_KEY`` or, failing that, the key file named by
``UPM_BANK_DATA_KEY_FILE``. Several comma-separated keys rotate: the first encrypts and
every one of them decrypts. Fernet authenticates as well as encrypts, so a tampered
value fails to decrypt instead of drafting the wrong account.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.errors import DomainError
from app.settings import Settings, get_settings


class VaultUnavailable(DomainError):
    code = "bank_key_missing"
    http_status = 500


def _keys(settings: Settings) -> list[str]:
    raw = settings.bank_data_key
    if not raw and settings.bank_data_key_file.exists():
        raw = settings.bank_data_key_file.read_text().strip()
    keys = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not keys:
        raise VaultUnavailable(
            "no key to encrypt bank numbers: set UPM_BANK_DATA_KEY, or run "
            "`upm keys bank-data` to create the key file "
            f"{settings.bank_data_key_file}"
        )
    return keys


def cipher(settings: Settings | None = None) -> MultiFernet:
    return _cipher_for(tuple(_keys(settings or get_settings())))


@lru_cache(maxsize=4)
def _cipher_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise VaultUnavailable(
            "the bank data key is not a Fernet key (32 url-safe base64 bytes); create one "
            "with `upm keys bank-data`"
        ) from error


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise VaultUnavailable(
            "a stored bank number does not decrypt with the configured keys; add the old "
            "key after the new one in UPM_BANK_DATA_KEY"
        ) from error


def seal_bank_numbers(routing: str, number: str) -> str:
    """Encrypt a routing and account number together; one token halves the work of a
    draft file, which decrypts every enrolled account."""
    return encrypt(f"{routing}:{number}")


def open_bank_numbers(token: str) -> tuple[str, str]:
    """Return the routing and account number sealed by ``seal_bank_numbers``."""
    routing, _, number = decrypt(token).partition(":")
    return routing, number


def seal_bytes(data: bytes) -> bytes:
    """Encrypt a whole file (a NACHA file, a bank file) for storage in the database."""
    return cipher().encrypt(data)


def open_bytes(token: bytes) -> bytes:
    try:
        return cipher().decrypt(token)
    except InvalidToken as error:
        raise VaultUnavailable(
            "a stored bank file does not decrypt with the configured keys; add the old key "
            "after the new one in UPM_BANK_DATA_KEY"
        ) from error


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (mode 0600): bank files carry account numbers."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def create_key_file(path: Path) -> bool:
    """Write a new key to ``path`` (mode 0600) unless one is there; return whether it did."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    return True
