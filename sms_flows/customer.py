"""The customer conversation: a text from a customer's phone becomes one account request.

STOP and START are handled before this (``sms_flows.consent_keywords``). The tree::

    HELP                                  → program, support phone, how to opt out
    not a verified contact of an account  → how to register (the denial is audited);
                                            LEAK, OUTAGE → the office number to report it
    YES / NO                              → answer the pending question (sms_flows.confirmations)
    BAL, PAY, AUTOPAY, AUTOPAY OFF, BILL, USAGE, LEAK, OUTAGE
        on several accounts, none named   → how to name one ("BAL 4567")
        otherwise                         → the keyword's handler
    anything else                         → a short list of keywords

A number that is an unverified contact of some account gets the same reply as a number
on no account, so a stranger learns nothing about either.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.audit.service import record
from app.i18n import normalize_language
from app.messaging.consent import masked_phone
from app.messaging.identity import verified_accounts
from sms_flows import autopay, confirmations, lookups, replies, reports
from sms_flows.inbound import Request, Text
from sms_flows.keywords import Keyword, classify

log = logging.getLogger(__name__)

Handler = Callable[[Session, Request], str]

HANDLERS: dict[Keyword, Handler] = {
    Keyword.BAL: lookups.balance,
    Keyword.PAY: confirmations.ask_pay,
    Keyword.AUTOPAY: autopay.autopay_status,
    Keyword.AUTOPAY_OFF: autopay.ask_turn_off,
    Keyword.BILL: lookups.bill_link,
    Keyword.USAGE: lookups.usage,
    Keyword.LEAK: reports.report_problem,
    Keyword.OUTAGE: reports.report_problem,
}

#: The word to text for each keyword, by language, for replies that show an example.
KEYWORD_WORDS: dict[str, dict[Keyword, str]] = {
    "en": {
        Keyword.BAL: "BAL",
        Keyword.PAY: "PAY",
        Keyword.AUTOPAY: "AUTOPAY",
        Keyword.AUTOPAY_OFF: "AUTOPAY OFF",
        Keyword.BILL: "BILL",
        Keyword.USAGE: "USAGE",
        Keyword.LEAK: "LEAK",
        Keyword.OUTAGE: "OUTAGE",
    },
    "es": {
        Keyword.BAL: "SALDO",
        Keyword.PAY: "PAGAR",
        Keyword.AUTOPAY: "AUTOPAGO",
        Keyword.AUTOPAY_OFF: "AUTOPAGO NO",
        Keyword.BILL: "FACTURA",
        Keyword.USAGE: "CONSUMO",
        Keyword.LEAK: "FUGA",
        Keyword.OUTAGE: "CORTE",
    },
}

# Runs of four or more digits: the last 4 of an account number, or all of it.
_DIGITS = re.compile(r"\d{4,}")


def reply(session: Session, text: Text) -> str:
    """Return the reply to a customer's text; every text gets one."""
    accounts = verified_accounts(session, text.sender)
    default = normalize_language(accounts[0].customer.language if accounts else None)
    classification = classify(text.body, default)
    keyword, language = classification.keyword, classification.language

    if keyword is Keyword.HELP:
        return replies.render("help", language)
    if not accounts:
        return _not_registered(session, text, keyword, language)
    if keyword in (Keyword.YES, Keyword.NO):
        return confirmations.answer(session, text, keyword, language, accounts)
    handler = HANDLERS.get(keyword) if keyword is not None else None
    if keyword is None or handler is None:
        return replies.render("unknown", language)
    account = choose_account(accounts, text.body)
    if account is None:
        word = KEYWORD_WORDS[language][keyword]
        endings = [other.number[-4:] for other in accounts]
        return replies.render("choose_account", language, word=word, endings=endings)
    return handler(session, Request(text, keyword, language, account))


def choose_account(accounts: list[Account], body: str) -> Account | None:
    """Return the account a text is about: the only one, or the one its digits name.

    Digits name an account when they are its whole number or its last 4 digits. None
    means the text must name one of several accounts, or named none or two of them.
    """
    if len(accounts) == 1:
        return accounts[0]
    tokens = _DIGITS.findall(body)
    named = [
        account
        for account in accounts
        if any(token == account.number or token == account.number[-4:] for token in tokens)
    ]
    return named[0] if len(named) == 1 else None


def _not_registered(session: Session, text: Text, keyword: Keyword | None, language: str) -> str:
    record(
        session,
        actor=text.actor,
        action="sms.unregistered",
        outcome="denied",
        arguments={"message_sid": text.message_sid},
    )
    log.info("text %s from an unregistered number %s", text.message_sid, masked_phone(text.sender))
    # A leak or an outage cannot wait for the number to be added, so it goes to the office.
    report = keyword in (Keyword.LEAK, Keyword.OUTAGE)
    return replies.render("not_registered", language, report=report)
