"""Time zones built from ESPI (Green Button) LocalTimeParameters.

A LocalTimeParameters resource gives the standard offset from UTC (`tzOffset`,
seconds), the daylight-saving shift (`dstOffset`, seconds) and two rules,
`dstStartRule` and `dstEndRule`. Each rule is a 32-bit value written in hex
(NAESB ESPI DstRuleType, the same layout as IEEE 2030.5 DstRuleType):

    bits  0-11  seconds past the hour (0-3599)
    bits 12-16  hour (0-23)
    bits 17-19  day of week, 1 = Monday ... 7 = Sunday, 0 = not used
    bits 20-24  day of month, 1-31, 0 = not used
    bits 25-27  operator: 0 on the day of month, 1 on the first such weekday on
                or after the day of month, 2-6 on its first to fifth occurrence
                in the month, 7 on its last occurrence
    bits 28-31  month, 1-12

0xFFFFFFFF means no daylight saving. For example 360E2000 is the second Sunday
of March at 02:00, and B40E2000 the first Sunday of November at 02:00.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

__all__ = ["DST_RULE_DISABLED", "DstRule", "EspiLocalTime", "local_time_zone"]

DST_RULE_DISABLED = 0xFFFFFFFF

_OPERATOR_DAY_OF_MONTH = 0
_OPERATOR_WEEKDAY_ON_OR_AFTER = 1
_OPERATOR_LAST_OCCURRENCE = 7


@dataclass(frozen=True)
class DstRule:
    """A decoded DstRuleType: the local wall-clock moment of a DST change each year."""

    month: int
    operator: int
    day_of_month: int
    day_of_week: int
    hour: int
    seconds: int

    @classmethod
    def from_hex(cls, text: str) -> DstRule:
        """Decode a rule such as "360E2000". Raises ValueError for a malformed rule."""
        cleaned = text.strip()
        try:
            raw = int(cleaned, 16)
        except ValueError:
            raise ValueError(f"DST rule {text!r} is not a hexadecimal number") from None
        if not 0 <= raw <= 0xFFFFFFFF:
            raise ValueError(f"DST rule {text!r} does not fit in 32 bits")
        rule = cls(
            month=(raw >> 28) & 0xF,
            operator=(raw >> 25) & 0x7,
            day_of_month=(raw >> 20) & 0x1F,
            day_of_week=(raw >> 17) & 0x7,
            hour=(raw >> 12) & 0x1F,
            seconds=raw & 0xFFF,
        )
        rule._validate(text)
        return rule

    def _validate(self, text: str) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"DST rule {text!r} has month {self.month}, expected 1-12")
        if self.hour > 23 or self.seconds > 3599:
            raise ValueError(f"DST rule {text!r} has a time of day past 23:59:59")
        uses_day_of_month = self.operator in (_OPERATOR_DAY_OF_MONTH, _OPERATOR_WEEKDAY_ON_OR_AFTER)
        if uses_day_of_month and not 1 <= self.day_of_month <= 31:
            raise ValueError(
                f"DST rule {text!r} has day of month {self.day_of_month}, expected 1-31"
            )
        if self.operator != _OPERATOR_DAY_OF_MONTH and not 1 <= self.day_of_week <= 7:
            raise ValueError(
                f"DST rule {text!r} has day of week {self.day_of_week}, "
                "expected 1 (Monday) to 7 (Sunday)"
            )

    def wall_time(self, year: int) -> datetime:
        """Return the naive local wall-clock time at which the rule fires in `year`."""
        days_in_month = calendar.monthrange(year, self.month)[1]
        weekday = self.day_of_week - 1  # Python counts Monday as 0.
        if self.operator == _OPERATOR_DAY_OF_MONTH:
            day = min(self.day_of_month, days_in_month)
        elif self.operator == _OPERATOR_WEEKDAY_ON_OR_AFTER:
            day = min(self.day_of_month, days_in_month)
            day += (weekday - calendar.weekday(year, self.month, day)) % 7
        elif self.operator == _OPERATOR_LAST_OCCURRENCE:
            day = days_in_month
            day -= (calendar.weekday(year, self.month, day) - weekday) % 7
        else:
            occurrence = self.operator - 1
            first = 1 + (weekday - calendar.weekday(year, self.month, 1)) % 7
            day = first + 7 * (occurrence - 1)
            if day > days_in_month:  # No fifth occurrence this month: use the last one.
                day -= 7
        # A naive wall time on purpose: which offset applies is what the caller decides.
        midnight = datetime(year, self.month, day)  # noqa: DTZ001
        return midnight + timedelta(hours=self.hour, seconds=self.seconds)


class EspiLocalTime(tzinfo):
    """A fixed standard offset plus a yearly DST rule pair, as ESPI describes local time.

    The start rule is read as standard wall time and the end rule as daylight wall
    time, which is how the North American rules (02:00 both ways) are meant.
    Ambiguous and missing wall times follow PEP 495: `fold=0` picks the offset in
    force before the change.
    """

    def __init__(
        self, standard: timedelta, daylight_shift: timedelta, start: DstRule, end: DstRule
    ) -> None:
        self.standard = standard
        self.daylight_shift = daylight_shift
        self.start_rule = start
        self.end_rule = end

    def __repr__(self) -> str:
        return (
            f"EspiLocalTime(standard={self.standard}, daylight_shift={self.daylight_shift}, "
            f"start={self.start_rule}, end={self.end_rule})"
        )

    def _dst_wall_span(self, year: int) -> tuple[datetime, datetime]:
        """Return the wall times in `year` where DST is unambiguously in force."""
        start = self.start_rule.wall_time(year) + self.daylight_shift
        end = self.end_rule.wall_time(year) - self.daylight_shift
        return start, end

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return self.standard
        wall = dt.replace(tzinfo=None)
        start_change = self.start_rule.wall_time(wall.year)
        end_change = self.end_rule.wall_time(wall.year)
        daylight = self.standard + self.daylight_shift

        # Wall times skipped when clocks go forward, and repeated when they go back.
        if start_change <= wall < start_change + self.daylight_shift:
            return daylight if dt.fold else self.standard
        if end_change - self.daylight_shift <= wall < end_change:
            return self.standard if dt.fold else daylight

        span_start, span_end = self._dst_wall_span(wall.year)
        if span_start <= span_end:
            in_dst = span_start <= wall < span_end
        else:  # Southern hemisphere: DST spans the new year.
            in_dst = wall >= span_start or wall < span_end
        return daylight if in_dst else self.standard

    def dst(self, dt: datetime | None) -> timedelta:
        return self.utcoffset(dt) - self.standard

    def tzname(self, dt: datetime | None) -> str:
        offset = self.utcoffset(dt)
        return str(timezone(offset))

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=None)
        start_utc = self.start_rule.wall_time(utc.year) - self.standard
        end_utc = self.end_rule.wall_time(utc.year) - self.standard - self.daylight_shift
        if start_utc <= end_utc:
            in_dst = start_utc <= utc < end_utc
        else:
            in_dst = utc >= start_utc or utc < end_utc

        if in_dst:
            return (utc + self.standard + self.daylight_shift).replace(tzinfo=self)
        # The first standard-time hour after DST ends repeats a wall time: fold=1.
        fold = 1 if end_utc <= utc < end_utc + self.daylight_shift else 0
        return (utc + self.standard).replace(tzinfo=self, fold=fold)


def local_time_zone(
    tz_offset: int, dst_offset: int, start_rule: str | None, end_rule: str | None
) -> tzinfo:
    """Build the zone for a LocalTimeParameters resource (offsets in seconds).

    Without DST rules, with a rule of 0xFFFFFFFF or with a zero shift the result is
    a fixed-offset `datetime.timezone`. Raises ValueError for a malformed rule.
    """
    standard = timedelta(seconds=tz_offset)
    if start_rule is None or end_rule is None or dst_offset == 0:
        return timezone(standard)
    if DST_RULE_DISABLED in (_hex_or_none(start_rule), _hex_or_none(end_rule)):
        return timezone(standard)
    return EspiLocalTime(
        standard,
        timedelta(seconds=dst_offset),
        DstRule.from_hex(start_rule),
        DstRule.from_hex(end_rule),
    )


def _hex_or_none(text: str) -> int | None:
    try:
        return int(text.strip(), 16)
    except ValueError:
        return None
