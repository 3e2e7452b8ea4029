"""Import every model so the metadata and mappers are complete (Alembic, tests)."""

from app.accounts.models import Account, Contact, Customer
from app.audit.models import AuditEvent
from app.billing.heat_factors import HeatFactor
from app.billing.models import (
    Bill,
    BillingCycle,
    BillLine,
    BillMeterSegment,
    BillRun,
    BillRunException,
)
from app.calls.models import Call, CallRequest
from app.db import Base
from app.inbound.models import InboundEvent
from app.ledger.models import JournalEntry, LedgerAccount, Posting
from app.messaging.email_models import EmailMessage
from app.messaging.models import OutboundMessage, SmsConsent
from app.meters.flags import MeterFlag
from app.meters.leak_models import LeakEpisode
from app.meters.models import (
    IntervalRead,
    Meter,
    MeterInstallation,
    Read,
    ReadImport,
    ReadImportError,
    Register,
)
from app.meters.validation_models import ReadFinding
from app.modbus.models import ModbusDevice, ModbusRejectedValue
from app.payments.autopay.models import AutopayAttempt, AutopayEnrollment
from app.payments.bankfiles.models import BankFile, BankFileError, SuspenseItem
from app.payments.cards.models import PaymentLink, SavedCard, StripeCustomer
from app.payments.counter.models import DrawerSession
from app.payments.drafts.models import BankAccount, DraftFile
from app.payments.models import Payment, PaymentNotice, PaymentStatusChange, Refund
from app.portal.models import BillLink
from app.premises.models import Premise, ServiceAgreement
from app.tariffs.models import Tariff, TariffVersion
from app.work_orders.dispatch import CrewMessage
from app.work_orders.inventory_models import EquipmentEntry, LaborEntry, Part, PartUse
from app.work_orders.models import Crew, CrewMember, Staff, WorkOrder, WorkOrderEvent
from chatops.models import SlackApproval
from sms_flows.models import SmsConversation

__all__ = [
    "Account",
    "AuditEvent",
    "AutopayAttempt",
    "AutopayEnrollment",
    "BankAccount",
    "BankFile",
    "BankFileError",
    "Base",
    "Bill",
    "BillingCycle",
    "BillLink",
    "BillLine",
    "BillMeterSegment",
    "BillRun",
    "BillRunException",
    "Call",
    "CallRequest",
    "Contact",
    "Crew",
    "CrewMember",
    "CrewMessage",
    "Customer",
    "DraftFile",
    "DrawerSession",
    "EmailMessage",
    "EquipmentEntry",
    "HeatFactor",
    "InboundEvent",
    "IntervalRead",
    "JournalEntry",
    "LaborEntry",
    "LeakEpisode",
    "LedgerAccount",
    "Meter",
    "MeterFlag",
    "MeterInstallation",
    "ModbusDevice",
    "ModbusRejectedValue",
    "OutboundMessage",
    "Part",
    "PartUse",
    "Payment",
    "PaymentLink",
    "PaymentNotice",
    "PaymentStatusChange",
    "Posting",
    "Premise",
    "Read",
    "ReadFinding",
    "ReadImport",
    "ReadImportError",
    "Refund",
    "Register",
    "SavedCard",
    "ServiceAgreement",
    "SlackApproval",
    "SmsConsent",
    "SmsConversation",
    "Staff",
    "StripeCustomer",
    "SuspenseItem",
    "Tariff",
    "TariffVersion",
    "WorkOrder",
    "WorkOrderEvent",
]
