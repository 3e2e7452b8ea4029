"""Settings: the one place that reads the environment (prefix ``UPM_``)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "upm.sqlite3"


class Settings(BaseSettings):
    """Every setting of upm; the README and docs/payments.md list the same fields."""

    model_config = SettingsConfigDict(env_prefix="UPM_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    redis_url: str | None = None
    utility_name: str = "City of Riverbend Utilities"
    timezone: str = "America/Chicago"
    public_base_url: str = "http://127.0.0.1:8000"
    currency: str = "USD"
    bill_due_days: int = 21
    bill_run_chunk_size: int = 1000

    # Read validation (VEE) limits, each explained in docs/vee.md.
    vee_high_usage_ratio: Decimal = Decimal(3)
    vee_low_usage_ratio: Decimal = Decimal("0.25")
    vee_zero_consumption_days: int = 25
    vee_gap_days: int = 45
    vee_spike_ratio: Decimal = Decimal(5)

    #: A bill run estimates a missing closing read (and the bill marks it "estimated") instead
    #: of listing the account as a ``no_closing_read`` exception.
    estimate_missing_reads: bool = True
    log_level: str = "WARNING"

    # Payments: how a payment is applied, and the fees for money that comes back.
    payment_application: str = "oldest_first"
    returned_payment_fee: Decimal = Decimal("25.00")
    dispute_fee: Decimal = Decimal("15.00")
    #: Charged to the account each time a work order ends unable to complete; 0.00 is none.
    trip_fee: Decimal = Decimal("0.00")
    autopay_retry_days: str = "2,5"
    draft_max_returns: int = 2
    draft_lead_days: int = 1

    # The working calendar for work orders (``holidays`` country and subdivision codes).
    holiday_country: str = "US"
    holiday_subdivision: str | None = None
    closure_dates: str = ""
    workday_end_hour: int = 17

    # Stripe. ``stripe_api_base`` points the SDK at localstripe in tests and the demo.
    stripe_secret_key: str | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secrets: str | None = None
    stripe_api_base: str | None = None
    stripe_js_url: str = "https://js.stripe.com/v3/"
    payment_link_hours: int = 72

    # Twilio texts to and from field crews. ``twilio_api_base`` points the SDK at a fake
    # Messages API in tests and the demo; unset, the SDK uses Twilio's own address.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str | None = None
    #: The number customers text for billing (balance, pay, bill); crews text it too.
    #: Unset, ``twilio_from_number`` is the billing number.
    twilio_billing_number: str | None = None
    #: The number outage, leak and usage alerts come from; unset, the billing number.
    twilio_alerts_number: str | None = None
    #: Peers (IP addresses or networks, comma-separated) whose X-Forwarded-Proto and
    #: X-Forwarded-Host are trusted when a Twilio signature is checked. Empty: none, and
    #: the signed URL is always ``public_base_url`` and the path.
    twilio_trusted_proxies: str = ""

    # Customers by phone and text.
    #: The office number the IVR transfers to and texts name for help.
    office_phone: str = "+15125550100"
    office_open: dt.time = dt.time(8, 0)
    office_close: dt.time = dt.time(17, 0)
    #: The unique name of the Stripe Pay Connector in the Twilio console, which the IVR's
    #: ``<Pay>`` charges new cards through.
    twilio_pay_connector: str = "Default"
    #: The largest amount a caller may key in to pay by phone (the amount due is not capped).
    max_phone_payment: Decimal = Decimal("2000.00")
    #: No customer text is sent between these local times, except emergency alerts.
    quiet_hours_start: dt.time = dt.time(21, 0)
    quiet_hours_end: dt.time = dt.time(8, 0)
    #: The payment due reminder goes out this many days before the due date, at this time.
    reminder_days_before_due: int = 2
    reminder_time: dt.time = dt.time(8, 0)
    #: Minutes a "Reply YES to pay" text stays valid.
    sms_confirm_minutes: int = 10
    #: Hours a texted link to a bill (``/bill/<token>``) opens the bill.
    bill_link_hours: int = 72

    # The staff Slack bot (HTTP mode). ``slack_api_base`` points the Web API client at a
    # fake Slack in tests; ``slack_alerts_channel`` is a channel id such as C0123ABCD.
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_api_base: str = "https://slack.com/api/"
    slack_alerts_channel: str | None = None
    #: App-level token (xapp-…) for Socket Mode, for a utility with no public URL.
    slack_app_token: str | None = None

    #: Folder watched for meter read files (docs/read-formats.md); unset, no folder is watched.
    read_drop_dir: Path | None = None

    # Modbus meters polled by the ``modbus.poll_devices`` task (docs/modbus.md).
    #: Seconds between polls of every enabled Modbus device.
    modbus_poll_seconds: int = 900
    #: Devices polled at the same time.
    modbus_concurrency: int = 10
    #: Seconds one attempt to read a device may take.
    modbus_timeout_seconds: float = 3.0
    #: Attempts after a device's first one fails, each after twice the previous wait.
    modbus_retries: int = 2
    #: Seconds before the first retry.
    modbus_backoff_seconds: float = 0.5
    #: Failed polls in a row after which a device is flagged unreachable and staff alerted.
    modbus_unreachable_after: int = 3

    # Customer e-mail. ``smtp_url`` is smtp://host:port, smtps://… for implicit TLS, or
    # smtp://user:password@host:port?starttls=1; unset, e-mails are stored but not sent.
    smtp_url: str | None = None
    smtp_from: str = "alerts@riverbend.example"

    # Leak detection: open a leak-investigation work order for each major or critical
    # leak episode, unless one is already open at the premise.
    leak_work_orders: bool = False

    # Bank drafts: the Fernet key that encrypts bank numbers, and our NACHA origin.
    bank_data_key: str | None = None
    bank_data_key_file: Path = PROJECT_ROOT / "var" / "bank-data.key"
    ach_destination_routing: str = "071000301"
    ach_destination_name: str = "FEDERAL RESERVE BANK"
    ach_origin_id: str = "1234567890"
    ach_origin_name: str = "RIVERBEND UTILITIES"
    ach_company_id: str = "1234567890"

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"UPM_TIMEZONE={value!r} is not an IANA time zone; use a name such as "
                "'America/Chicago'"
            ) from exc
        return value

    @field_validator("twilio_trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        for part in filter(None, (piece.strip() for piece in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as error:
                raise ValueError(
                    f"UPM_TWILIO_TRUSTED_PROXIES entry {part!r} is not an IP address or "
                    "network; list them separated by commas, such as 10.0.0.5,10.1.0.0/16"
                ) from error
        return value

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"UPM_CURRENCY={value!r} is not an ISO 4217 code such as 'USD'")
        return value.upper()

    @field_validator("payment_application")
    @classmethod
    def _check_application(cls, value: str) -> str:
        allowed = ("oldest_first", "fees_first", "fees_last")
        if value not in allowed:
            raise ValueError(
                f"UPM_PAYMENT_APPLICATION={value!r} is not one of {', '.join(allowed)}"
            )
        return value

    @field_validator("autopay_retry_days")
    @classmethod
    def _check_retry_days(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() and int(part) > 0 for part in parts):
            raise ValueError(
                f"UPM_AUTOPAY_RETRY_DAYS={value!r} must list whole days after the due date, "
                "such as '2,5'"
            )
        return ",".join(parts)

    @field_validator("closure_dates")
    @classmethod
    def _check_closures(cls, value: str) -> str:
        for part in filter(None, (piece.strip() for piece in value.split(","))):
            try:
                dt.date.fromisoformat(part)
            except ValueError as error:
                raise ValueError(
                    f"UPM_CLOSURE_DATES entry {part!r} is not a date in YYYY-MM-DD form; "
                    "list dates separated by commas, such as 2026-12-24,2026-12-31"
                ) from error
        return value

    @field_validator("returned_payment_fee", "dispute_fee", "trip_fee")
    @classmethod
    def _check_fee(cls, value: Decimal) -> Decimal:
        if value < 0 or value != value.quantize(Decimal("0.01")):
            raise ValueError(f"fee {value} must be zero or more, in whole cents")
        return value

    @field_validator("max_phone_payment")
    @classmethod
    def _check_limit(cls, value: Decimal) -> Decimal:
        if value <= 0 or value != value.quantize(Decimal("0.01")):
            raise ValueError(
                f"UPM_MAX_PHONE_PAYMENT {value} must be more than zero, in whole cents"
            )
        return value

    @field_validator(
        "bill_due_days",
        "bill_run_chunk_size",
        "draft_max_returns",
        "payment_link_hours",
        "reminder_days_before_due",
        "sms_confirm_minutes",
        "bill_link_hours",
        "modbus_poll_seconds",
        "modbus_concurrency",
        "modbus_unreachable_after",
    )
    @classmethod
    def _check_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"{value} must be a whole number of at least 1")
        return value

    @field_validator("modbus_timeout_seconds", "modbus_backoff_seconds", "modbus_retries")
    @classmethod
    def _check_modbus_timing(cls, value: float, info: ValidationInfo) -> float:
        name = f"UPM_{(info.field_name or '').upper()}"
        if info.field_name == "modbus_timeout_seconds" and value <= 0:
            raise ValueError(f"{name}={value} must be more than 0 seconds, such as 3.0")
        if value < 0:
            raise ValueError(f"{name}={value} must be zero or more")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> dt.date:
        """Return today's date in the utility's time zone (a bill's due date is local)."""
        return dt.datetime.now(self.zone).date()

    @property
    def billing_number(self) -> str | None:
        """The number customers text for billing; the general from-number when unset."""
        return self.twilio_billing_number or self.twilio_from_number

    @property
    def alerts_number(self) -> str | None:
        """The number alerts are sent from; the billing number when unset."""
        return self.twilio_alerts_number or self.billing_number

    @property
    def trusted_proxies(self) -> list[str]:
        return [part.strip() for part in self.twilio_trusted_proxies.split(",") if part.strip()]

    @property
    def retry_days(self) -> list[int]:
        """Days after the due date on which a declined autopay charge is tried again."""
        return [int(part) for part in self.autopay_retry_days.split(",") if part]

    @property
    def webhook_secrets(self) -> list[str]:
        """Stripe signing secrets; two during a rotation, comma-separated."""
        raw = self.stripe_webhook_secrets or ""
        return [part.strip() for part in raw.split(",") if part.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
