"""Import every model so the metadata and mappers are complete (Alembic, tests)."""

from app.accounts.models import Account, Contact, Customer
from app.audit.models import AuditEvent
from app.billing.models import (
    Bill,
    BillingCycle,
    BillLine,
    BillMeterSegment,
    BillRun,
    BillRunException,
)
from app.db import Base
from app.ledger.models import JournalEntry, LedgerAccount, Posting
from app.meters.models import (
    IntervalRead,
    Meter,
    MeterInstallation,
    Read,
    ReadImport,
    ReadImportError,
    Register,
)
from app.premises.models import Premise, ServiceAgreement
from app.tariffs.models import Tariff, TariffVersion

__all__ = [
    "Account",
    "AuditEvent",
    "Base",
    "Bill",
    "BillLine",
    "BillMeterSegment",
    "BillRun",
    "BillRunException",
    "BillingCycle",
    "Contact",
    "Customer",
    "IntervalRead",
    "JournalEntry",
    "LedgerAccount",
    "Meter",
    "MeterInstallation",
    "Posting",
    "Premise",
    "Read",
    "ReadImport",
    "ReadImportError",
    "Register",
    "ServiceAgreement",
    "Tariff",
    "TariffVersion",
]
