"""``/upm adjust <account> <amount> <reason>``: propose an adjustment for a supervisor."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from app.accounts.service import get_account_by_number
from app.errors import InvalidInput
from app.payments.channels import look_up
from chatops.approvals import REJECT, create_request, request_blocks
from chatops.context import CommandContext, Reply
from chatops.models import ApprovalKind

#: Largest adjustment proposed in Slack; bigger corrections go through the office.
MAX_AMOUNT = Decimal("10000.00")


def parse_amount(text: str) -> Decimal:
    try:
        amount = Decimal(text.replace("$", "").replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(
            f"amount {text!r} is not a number; write it like 25.00 or -12.50",
            code="amount_invalid",
        ) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(
            f"amount {text!r} must be whole cents, like 25.00", code="amount_invalid"
        )
    if amount == 0 or abs(amount) > MAX_AMOUNT:
        raise InvalidInput(
            f"amount {text} must be nonzero and at most {MAX_AMOUNT} either way",
            code="amount_invalid",
        )
    return amount


def handle(context: CommandContext, arguments: str) -> Reply:
    words = arguments.split(maxsplit=2)
    if len(words) < 3 or not words[2].strip():
        raise InvalidInput(
            "usage: `/upm adjust <account> <amount> <reason>`, such as "
            "`/upm adjust 100000017 -15.00 leak credit`",
            code="usage",
        )
    account = get_account_by_number(context.session, words[0])
    amount = parse_amount(words[1])
    reason = " ".join(words[2].split())[:200]
    owed = look_up(context.session, account.id)
    approval = create_request(
        context,
        ApprovalKind.ADJUSTMENT,
        {
            "account_id": account.id,
            "account": account.number,
            "amount": str(amount),
            "reason": reason,
        },
        {"balance": str(owed.balance)},
    )
    what = "credit" if amount < 0 else "charge"
    summary = (
        f"*Adjustment #{approval.id}*: a {what} of ${abs(amount)} to account "
        f"{account.number} ({account.customer.name}), balance now ${owed.balance}.\n"
        f"Reason: {reason}\nProposed by {context.staff.name}; a supervisor approves or rejects."
    )
    return Reply(
        text=f"Adjustment request #{approval.id} posted for a supervisor's approval.",
        channel_text=summary,
        channel_blocks=request_blocks(approval, summary, decline=REJECT),
    )
