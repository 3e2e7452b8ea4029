"""Read the fields of BAI2 records: amounts, counts, dates, times and funds types."""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal

from app.payments.remittance._text import cents_to_dollars, mask_last4
from app.payments.remittance.bai2_model import (
    Bai2Summary,
    Bai2Transaction,
    FundsAvailability,
)
from app.payments.remittance.bai2_records import FieldReader, Record

_SIMPLE_FUNDS_TYPES = frozenset({"", "0", "1", "2", "Z"})
_END_OF_DAY = frozenset({"2400", "9999"})
_TYPE_CODE = re.compile(r"\d{3}")
_UNSIGNED_CENTS = re.compile(r"\+?\d+")
_SIGNED_CENTS = re.compile(r"[+-]?\d+")
_COUNT = re.compile(r"\d+")
_DATE = re.compile(r"\d{6}")
_TIME = re.compile(r"(\d{2})(\d{2})|(\d{2}):(\d{2})(?::(\d{2}))?")
# Debtor and creditor account tags some banks put in the text ("DACT: 8348572423").
_ACCOUNT_TAG = re.compile(r"\b([DC]ACT:\s*)(\d{5,})\b")


class Problems:
    """The problems found while reading one record's fields."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def add(self, code: str, message: str) -> None:
        self.entries.append((code, message))

    def __bool__(self) -> bool:
        return bool(self.entries)


def read_transaction(
    record: Record,
    account_number: str,
    currency: str | None,
    as_of_date: date | None,
    problems: Problems,
) -> Bai2Transaction | None:
    """Read a 16 record, or return None after adding its problems."""
    reader = FieldReader(record.segments)

    type_code = reader.next_or_blank()
    if not _TYPE_CODE.fullmatch(type_code):
        problems.add("bai2_invalid_type_code", f"type code {type_code!r} is not three digits")
    amount_text = reader.next_or_blank()
    cents: int | None = None
    if _UNSIGNED_CENTS.fullmatch(amount_text):
        cents = int(amount_text)
    else:
        problems.add(
            "bai2_invalid_amount",
            f"amount {amount_text!r} is not a whole number of cents without a sign",
        )
    funds = _read_funds(reader, problems)
    bank_reference = reader.next_or_blank() or None
    customer_reference = reader.next_or_blank() or None
    text_parts = tuple(mask_account_tags(part) for part in reader.rest_as_text() if part)

    if problems or cents is None:
        return None
    return Bai2Transaction(
        line_number=record.line_number,
        account_number=account_number,
        currency=currency,
        as_of_date=as_of_date,
        type_code=type_code,
        amount=cents_to_dollars(cents),
        funds=funds,
        bank_reference=bank_reference,
        customer_reference=customer_reference,
        text=" ".join(text_parts) or None,
        text_parts=text_parts,
        raw=mask_account_tags(record.raw),
    )


def read_summaries(reader: FieldReader, problems: Problems) -> tuple[tuple[Bai2Summary, ...], int]:
    """Read the summaries of an 03 record and the sum of their amounts in cents.

    Some banks write an empty field before the "/" or a blank summary (",,,,"). An
    empty type code is skipped one field at a time, so both read correctly.
    """
    summaries: list[Bai2Summary] = []
    total = 0
    while (type_code := reader.next()) is not None:
        if not type_code:
            continue
        if not _TYPE_CODE.fullmatch(type_code):
            problems.add(
                "bai2_invalid_type_code",
                f"summary type code {type_code!r} is not three digits, so the summaries "
                "from there on were skipped",
            )
            break
        cents = read_cents(reader.next_or_blank(), f"amount of summary {type_code}", problems)
        item_count = read_count(
            reader.next_or_blank(), f"item count of summary {type_code}", problems
        )
        funds = _read_funds(reader, problems)
        if cents is not None:
            total += cents
        summaries.append(
            Bai2Summary(
                type_code=type_code,
                amount=cents_to_dollars(cents) if cents is not None else None,
                item_count=item_count,
                funds=funds,
            )
        )
    return tuple(summaries), total


def _read_funds(reader: FieldReader, problems: Problems) -> FundsAvailability:
    funds_type = reader.next_or_blank().upper()
    if funds_type in _SIMPLE_FUNDS_TYPES:
        return FundsAvailability(type=funds_type)
    if funds_type == "V":
        return FundsAvailability(
            type="V",
            value_date=read_date(reader.next_or_blank(), "value date", problems),
            value_time=read_time(reader.next_or_blank(), "value time", problems),
        )
    if funds_type == "S":
        amounts = [
            read_cents(reader.next_or_blank(), f"{label} amount", problems)
            for label in ("immediate", "one-day", "two-or-more-day")
        ]
        immediate, one_day, later = (
            cents_to_dollars(cents) if cents is not None else None for cents in amounts
        )
        return FundsAvailability(
            type="S", immediate=immediate, one_day=one_day, two_or_more_days=later
        )
    if funds_type == "D":
        return _read_distributions(reader, problems)
    problems.add(
        "bai2_invalid_funds_type",
        f"funds type {funds_type!r} is not one of 0, 1, 2, V, S, D or Z",
    )
    return FundsAvailability(type=funds_type)


def _read_distributions(reader: FieldReader, problems: Problems) -> FundsAvailability:
    count = read_count(reader.next_or_blank(), "number of distributions", problems)
    distributions: list[tuple[int, Decimal]] = []
    for _ in range(count or 0):
        days = read_count(reader.next_or_blank(), "days of a distribution", problems)
        cents = read_cents(reader.next_or_blank(), "amount of a distribution", problems)
        if days is not None and cents is not None:
            distributions.append((days, cents_to_dollars(cents)))
    return FundsAvailability(type="D", distributions=tuple(distributions))


def read_cents(text: str, label: str, problems: Problems) -> int | None:
    """Read a signed amount in cents, or None when the field is blank."""
    if not text:
        return None
    if not _SIGNED_CENTS.fullmatch(text):
        problems.add("bai2_invalid_amount", f"{label} {text!r} is not a whole number of cents")
        return None
    return int(text)


def read_count(text: str, label: str, problems: Problems) -> int | None:
    if not text:
        return None
    if not _COUNT.fullmatch(text):
        problems.add("bai2_invalid_count", f"{label} {text!r} is not a whole number")
        return None
    return int(text)


def read_date(text: str, label: str, problems: Problems) -> date | None:
    """Read YYMMDD. Years 69 to 99 are 1969 to 1999 and 00 to 68 are 2000 to 2068."""
    if not text:
        return None
    if _DATE.fullmatch(text):
        year = int(text[:2])
        year += 1900 if year >= 69 else 2000
        try:
            return date(year, int(text[2:4]), int(text[4:6]))
        except ValueError:
            pass
    problems.add("bai2_invalid_date", f"{label} {text!r} is not a date in YYMMDD form")
    return None


def read_time(text: str, label: str, problems: Problems) -> time | None:
    """Read HHMM, or HH:MM[:SS] as some banks write it. 2400 and 9999 mean end of day."""
    if not text:
        return None
    if text in _END_OF_DAY:
        return time.max
    match = _TIME.fullmatch(text)
    if match:
        hour, minute = match.group(1) or match.group(3), match.group(2) or match.group(4)
        second = match.group(5) or "0"
        try:
            return time(int(hour), int(minute), int(second))
        except ValueError:
            pass
    problems.add("bai2_invalid_time", f"{label} {text!r} is not a time in HHMM form")
    return None


def mask_account_tags(text: str) -> str:
    """Mask the bank account numbers that follow a DACT: or CACT: tag to their last four.

    NOTE: BAI2 text is free-form, so an account number written any other way stays in
    `text` and `raw` as the bank sent it.
    """
    return _ACCOUNT_TAG.sub(lambda match: match.group(1) + (mask_last4(match.group(2)) or ""), text)
