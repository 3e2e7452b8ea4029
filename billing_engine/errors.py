"""Domain errors raised by the billing engine.

Every error carries a stable ``code`` that callers can match on and a message for people
that names the offending value and the fix.
"""

from __future__ import annotations


class RatingError(ValueError):
    """Base class of the engine's domain errors."""

    code: str = "rating_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidTariff(RatingError):
    """A tariff document or URDB record that is inconsistent or malformed."""

    code = "invalid_tariff"


class UnsupportedTariffFeature(RatingError):
    """A URDB feature the engine cannot bill (coincident demand, kVA, ratchets, ...)."""

    code = "unsupported_tariff_feature"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnitConversionError(RatingError):
    """A quantity that cannot be converted between two units."""

    code = "unit_conversion"


class SuspectRead(RatingError):
    """A register read lower than the previous one that is not a plausible rollover."""

    code = "suspect_possible_meter_exchange"


class InvalidLoad(RatingError):
    """A load profile with a wrong length, a negative value or an unreadable row."""

    code = "invalid_load"
