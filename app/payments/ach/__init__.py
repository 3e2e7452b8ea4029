"""NACHA (ACH) files: read bank return and change files, write PPD debit files.

Standard library only: no database and no web, so the package can be tested alone.
Amounts are integer cents in the files and in ``*_cents`` fields, and ``Decimal``
dollars in the ``amount`` and ``*_total`` properties.
"""

from app.payments.ach.codes import (
    CHANGE_CODES,
    RETURN_CODES,
    ChangeCode,
    ReturnCode,
    corrected_fields,
    return_code,
)
from app.payments.ach.errors import AchError, AchFormatError, AchInputError
from app.payments.ach.models import (
    AchFile,
    Addenda,
    Batch,
    BatchControl,
    BatchHeader,
    ContestedReturn,
    DishonoredReturn,
    EntryDetail,
    FileControl,
    FileHeader,
    NocAddenda,
    OtherAddenda,
    PaymentAddenda,
    ReturnAddenda,
)
from app.payments.ach.reader import read_ach
from app.payments.ach.routing import aba_check_digit, is_valid_routing_number
from app.payments.ach.validate import Issue, validate_ach
from app.payments.ach.writer import (
    RETRY_DESCRIPTION,
    DebitBatch,
    DebitEntry,
    OffsetAccount,
    Originator,
    iter_ppd_debits,
    write_ppd_debits,
)

__all__ = [
    "CHANGE_CODES",
    "RETRY_DESCRIPTION",
    "RETURN_CODES",
    "AchError",
    "AchFile",
    "AchFormatError",
    "AchInputError",
    "Addenda",
    "Batch",
    "BatchControl",
    "BatchHeader",
    "ChangeCode",
    "ContestedReturn",
    "DebitBatch",
    "DebitEntry",
    "DishonoredReturn",
    "EntryDetail",
    "FileControl",
    "FileHeader",
    "Issue",
    "NocAddenda",
    "OffsetAccount",
    "Originator",
    "OtherAddenda",
    "PaymentAddenda",
    "ReturnAddenda",
    "ReturnCode",
    "aba_check_digit",
    "corrected_fields",
    "is_valid_routing_number",
    "iter_ppd_debits",
    "read_ach",
    "return_code",
    "validate_ach",
    "write_ppd_debits",
]
