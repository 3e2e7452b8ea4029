"""Settings: the one place that reads the environment (prefix ``UPM_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "upm.sqlite3"


class Settings(BaseSettings):
    """Every setting of upm; the README's settings table lists the same fields."""

    model_config = SettingsConfigDict(env_prefix="UPM_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    redis_url: str | None = None
    utility_name: str = "City of Riverbend Utilities"
    timezone: str = "America/Chicago"
    public_base_url: str = "http://127.0.0.1:8000"
    currency: str = "USD"
    bill_due_days: int = 21
    bill_run_chunk_size: int = 1000
    log_level: str = "WARNING"

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

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"UPM_CURRENCY={value!r} is not an ISO 4217 code such as 'USD'")
        return value.upper()

    @field_validator("bill_due_days", "bill_run_chunk_size")
    @classmethod
    def _check_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"{value} must be a whole number of at least 1")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
