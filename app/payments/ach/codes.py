"""Return reason codes (addenda 99) and change codes (addenda 98) that a biller meets.

``may_represent`` is true only for R01 and R09: NACHA lets an originator send those
entries again, at most twice, with the entry description "RETRY PYMT".
``stops_drafting`` marks codes that mean the authorization or the account is bad, so
the customer's bank draft must stop until they give a new authorization or account.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReturnCode:
    code: str
    description: str
    may_represent: bool = False
    stops_drafting: bool = False


@dataclass(frozen=True, slots=True)
class ChangeCode:
    """A notification-of-change code and the entry fields its corrected data replaces."""

    code: str
    description: str
    corrects: tuple[str, ...]


def _returns(*items: ReturnCode) -> dict[str, ReturnCode]:
    return {item.code: item for item in items}


RETURN_CODES: dict[str, ReturnCode] = _returns(
    ReturnCode("R01", "Insufficient funds", may_represent=True),
    ReturnCode("R02", "Account closed", stops_drafting=True),
    ReturnCode("R03", "No account, or the account cannot be located", stops_drafting=True),
    ReturnCode("R04", "Invalid account number structure", stops_drafting=True),
    ReturnCode("R05", "Consumer account debited with a corporate SEC code", stops_drafting=True),
    ReturnCode("R06", "Returned at the ODFI's request"),
    ReturnCode("R07", "Authorization revoked by the customer", stops_drafting=True),
    ReturnCode("R08", "Payment stopped", stops_drafting=True),
    ReturnCode("R09", "Uncollected funds", may_represent=True),
    ReturnCode(
        "R10", "Customer says the originator is unknown or not authorized", stops_drafting=True
    ),
    ReturnCode("R11", "Customer says the entry does not match the authorization"),
    ReturnCode("R12", "Account sold to another bank", stops_drafting=True),
    ReturnCode("R13", "Invalid ACH routing number", stops_drafting=True),
    ReturnCode("R14", "Representative payee deceased or unable to act", stops_drafting=True),
    ReturnCode("R15", "Beneficiary or account holder deceased", stops_drafting=True),
    ReturnCode("R16", "Account frozen, or returned per OFAC instruction", stops_drafting=True),
    ReturnCode("R17", "File record edit criteria, or entry suspected of fraud"),
    ReturnCode("R18", "Improper effective entry date"),
    ReturnCode("R19", "Amount field error"),
    ReturnCode("R20", "Non-transaction account", stops_drafting=True),
    ReturnCode("R21", "Invalid company identification"),
    ReturnCode("R22", "Invalid individual ID number"),
    ReturnCode("R23", "Credit entry refused by the receiver"),
    ReturnCode("R24", "Duplicate entry"),
    ReturnCode("R25", "Addenda error"),
    ReturnCode("R26", "Mandatory field error"),
    ReturnCode("R27", "Trace number error"),
    ReturnCode("R28", "Routing number check digit error", stops_drafting=True),
    ReturnCode("R29", "Corporate customer says the entry is not authorized", stops_drafting=True),
    ReturnCode("R31", "Permissible return entry (CCD and CTX only)"),
    ReturnCode("R37", "Source document presented for payment"),
    ReturnCode("R38", "Stop payment on the source document", stops_drafting=True),
    ReturnCode("R39", "Improper source document"),
    ReturnCode("R51", "Item related to an RCK entry is ineligible"),
    ReturnCode("R52", "Stop payment on an item related to an RCK entry", stops_drafting=True),
    ReturnCode("R61", "Misrouted return (dishonored return)"),
    ReturnCode("R62", "Return of an erroneous or reversing debit (dishonored return)"),
    ReturnCode("R67", "Duplicate return (dishonored return)"),
    ReturnCode("R68", "Untimely return (dishonored return)"),
    ReturnCode("R69", "Field error in the return (dishonored return)"),
    ReturnCode("R70", "Return not requested or not accepted (dishonored return)"),
    ReturnCode("R71", "Misrouted dishonored return (contested)"),
    ReturnCode("R72", "Untimely dishonored return (contested)"),
    ReturnCode("R73", "The original return was timely (contested)"),
    ReturnCode("R74", "The return was corrected (contested)"),
    ReturnCode("R75", "The return was not a duplicate (contested)"),
    ReturnCode("R76", "The return had no errors (contested)"),
    ReturnCode("R77", "R62 dishonored return not accepted (contested)"),
    ReturnCode("R80", "IAT entry coding error"),
    ReturnCode("R81", "Non-participant in the IAT program"),
    ReturnCode("R82", "Invalid foreign receiving bank identification"),
    ReturnCode("R83", "Foreign receiving bank unable to settle"),
    ReturnCode("R84", "Entry not processed by the gateway"),
    ReturnCode("R85", "Incorrectly coded outbound international payment"),
)

CHANGE_CODES: dict[str, ChangeCode] = {
    item.code: item
    for item in (
        ChangeCode("C01", "Incorrect DFI account number", ("dfi_account_number",)),
        ChangeCode("C02", "Incorrect routing number", ("rdfi_routing",)),
        ChangeCode(
            "C03",
            "Incorrect routing number and DFI account number",
            ("rdfi_routing", "dfi_account_number"),
        ),
        ChangeCode("C04", "Incorrect individual or company name", ("individual_name",)),
        ChangeCode("C05", "Incorrect transaction code", ("transaction_code",)),
        ChangeCode(
            "C06",
            "Incorrect DFI account number and transaction code",
            ("dfi_account_number", "transaction_code"),
        ),
        ChangeCode(
            "C07",
            "Incorrect routing number, DFI account number and transaction code",
            ("rdfi_routing", "dfi_account_number", "transaction_code"),
        ),
        ChangeCode("C09", "Incorrect individual identification number", ("individual_id",)),
        ChangeCode("C13", "Addenda format error", ("addenda",)),
        ChangeCode(
            "C14", "Incorrect SEC code for an outbound international payment", ("sec_code",)
        ),
    )
}

# Column ranges (0-based, end exclusive) inside the 29-character corrected data field.
# NOTE: the splits for C03, C06 and C07 are not yet checked against a real bank's NOC file.
_CORRECTED_DATA_SLICES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "C01": (("dfi_account_number", 0, 17),),
    "C02": (("rdfi_routing", 0, 9),),
    "C03": (("rdfi_routing", 0, 9), ("dfi_account_number", 12, 29)),
    "C04": (("individual_name", 0, 22),),
    "C05": (("transaction_code", 0, 2),),
    "C06": (("dfi_account_number", 0, 17), ("transaction_code", 20, 22)),
    "C07": (("rdfi_routing", 0, 9), ("dfi_account_number", 9, 26), ("transaction_code", 26, 28)),
    "C09": (("individual_id", 0, 22),),
    "C13": (("addenda", 0, 29),),
    "C14": (("sec_code", 0, 3),),
}


def corrected_fields(change_code: str, corrected_data: str) -> dict[str, str]:
    """Split an addenda 98's corrected data into the entry fields it replaces.

    Returns a mapping such as ``{"dfi_account_number": "1918171614"}`` with values
    stripped. Raises KeyError for a change code not in ``CHANGE_CODES``.
    """
    slices = _CORRECTED_DATA_SLICES[change_code]
    padded = corrected_data.ljust(29)
    return {name: padded[start:end].strip() for name, start, end in slices}


def return_code(code: str) -> ReturnCode:
    """Look up a return reason code. An unknown code gets a neutral entry, not an error.

    A code missing from ``RETURN_CODES`` may not be re-presented and does not stop
    drafting by itself, so a person should review it.
    """
    known = RETURN_CODES.get(code)
    if known is not None:
        return known
    return ReturnCode(code, "Return reason code not in the table")
