"""Write Green Button "Download My Data" files (NAESB ESPI resources in an Atom feed).

The feed holds one UsagePoint per service, one MeterReading per meter with its
ReadingType, one IntervalBlock per local day and a LocalTimeParameters entry built
from the utility's zone. Entries are tied together by `self`, `up` and `related`
links in the REST path layout that `metering.greenbutton.parse_green_button` reads.

IntervalReading times are UTC epoch seconds. Each value is written as an integer
and scaled by the ReadingType's `powerOfTenMultiplier`, chosen per MeterReading so
that every Decimal value is reproduced exactly.
"""

from __future__ import annotations

import calendar
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

# Only builds and serializes a tree of our own values; nothing untrusted is parsed here.
from xml.etree.ElementTree import Element, SubElement, indent, tostring  # noqa: S405

from metering.estimation import ESTIMATED_QUALITY
from metering.types import IntervalRead

__all__ = [
    "ESPI_UNITS",
    "SERVICE_KIND_CODES",
    "ExportMeterReading",
    "ExportUsagePoint",
    "LocalTimeRules",
    "espi_scale",
    "local_time_rules",
    "write_green_button",
]

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
ESPI_NAMESPACE = "http://naesb.org/espi"

#: ESPI ServiceKind codes (UsagePoint/ServiceCategory/kind) of the metered services.
SERVICE_KIND_CODES = {"electric": 0, "gas": 1, "water": 2}

#: ReadingType commodity codes (CIM CommodityKind) of the metered services.
_COMMODITY_CODES = {"electric": 1, "gas": 7, "water": 9}

#: Our unit -> (ESPI UnitSymbolKind code, power of ten from our unit to the ESPI unit).
#: ESPI has no ccf or kgal, so those are written as ft3 and gal, and kWh as Wh.
ESPI_UNITS: dict[str, tuple[int, int]] = {
    "kWh": (72, 3),
    "kW": (38, 3),
    "gal": (128, 0),
    "kgal": (128, 3),
    "ft3": (119, 0),
    "ccf": (119, 2),
    "m3": (42, 0),
    "therm": (169, 0),
}

#: ESPI QualityOfReading 8, "estimated using reference day".
# NOTE: storage does not record which method made an estimate, so every estimate is
# written as 8 even when it was interpolated (ESPI code 9).
ESPI_ESTIMATED_QUALITY = "8"

#: A DstRuleType meaning "no daylight saving time".
_NO_DST_RULE = "FFFFFFFF"
_LAST_OCCURRENCE = 7


@dataclass(frozen=True)
class ExportMeterReading:
    """The intervals of one meter, all in `unit`."""

    title: str
    unit: str
    intervals: Sequence[IntervalRead]


@dataclass(frozen=True)
class ExportUsagePoint:
    """One service at a premise: `service` is electric, gas or water."""

    title: str
    service: str
    meter_readings: Sequence[ExportMeterReading]


@dataclass(frozen=True)
class LocalTimeRules:
    """ESPI LocalTimeParameters: offsets in seconds and DST rules as 8 hex digits."""

    tz_offset: int
    dst_offset: int
    dst_start_rule: str
    dst_end_rule: str


def espi_scale(unit: str, values: Sequence[Decimal]) -> tuple[int, int, list[int]]:
    """Return (uom, powerOfTenMultiplier, integers) that encode `values` exactly.

    The multiplier is 0 (whole Wh, gal, ft3 ...) unless a value has finer digits,
    and then it is the exponent of the finest digit. Raises ValueError for a unit
    that ESPI cannot express.
    """
    if unit not in ESPI_UNITS:
        raise ValueError(
            f"unit {unit!r} has no ESPI unit code; the export supports "
            f"{', '.join(sorted(ESPI_UNITS))}"
        )
    uom, shift = ESPI_UNITS[unit]
    scaled = [value.scaleb(shift) for value in values]
    exponent = min((_finest_exponent(value) for value in scaled), default=0)
    power = min(0, exponent)
    integers = []
    for value in scaled:
        whole = value.scaleb(-power)
        integers.append(int(whole))
        assert whole == int(whole), f"{value} does not scale to an integer at 10^{power}"
    return uom, power, integers


def _finest_exponent(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int), f"{value} is not a finite number"
    return exponent


def local_time_rules(zone: tzinfo, year: int) -> LocalTimeRules:
    """Describe `zone`'s offsets and DST changes in `year` as ESPI LocalTimeParameters.

    The start rule is written in standard wall time and the end rule in daylight wall
    time, as `metering.espi_time` reads them. A change in the last seven days of its
    month becomes "last such weekday", any other "n-th such weekday".
    """
    changes = _offset_changes(zone, year)
    if len(changes) != 2:
        # A zone without DST is written with its fixed offset.
        # NOTE: so is a year in which the zone changed its rules (one offset change or
        # three), at the offset in force on 1 January, though that is wrong part of the year.
        offset = _offset_at(zone, datetime(year, 1, 1, tzinfo=UTC))
        return LocalTimeRules(int(offset.total_seconds()), 0, _NO_DST_RULE, _NO_DST_RULE)

    offsets = [_offset_at(zone, instant) for instant in changes]
    standard = min(offsets)
    daylight = max(offsets)
    start_instant, end_instant = changes if offsets[0] == daylight else (changes[1], changes[0])
    start_wall = (start_instant + standard).replace(tzinfo=None)
    end_wall = (end_instant + daylight).replace(tzinfo=None)
    return LocalTimeRules(
        tz_offset=int(standard.total_seconds()),
        dst_offset=int((daylight - standard).total_seconds()),
        dst_start_rule=_dst_rule(start_wall),
        dst_end_rule=_dst_rule(end_wall),
    )


def _offset_at(zone: tzinfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _offset_changes(zone: tzinfo, year: int) -> list[datetime]:
    """Return the UTC instants in `year` at which `zone`'s offset changes, to the second."""
    changes = []
    instant = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    previous = _offset_at(zone, instant)
    while instant < end:
        following = instant + step
        offset = _offset_at(zone, following)
        if offset != previous:
            changes.append(_first_instant_with(zone, instant, following, offset))
            previous = offset
        instant = following
    return changes


def _first_instant_with(
    zone: tzinfo, before: datetime, after: datetime, offset: timedelta
) -> datetime:
    """Bisect to the first second after `before` at which `zone` has `offset`."""
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if _offset_at(zone, middle) == offset:
            after = middle
        else:
            before = middle
    return after


def _dst_rule(wall: datetime) -> str:
    """Encode a naive local wall time as an ESPI DstRuleType for that weekday of the month."""
    days_in_month = calendar.monthrange(wall.year, wall.month)[1]
    if wall.day + 7 > days_in_month:
        operator = _LAST_OCCURRENCE
    else:
        # Operators 2 to 6 are the first to fifth occurrence in the month.
        operator = (wall.day - 1) // 7 + 2
    seconds = wall.minute * 60 + wall.second
    raw = (
        (wall.month << 28)
        | (operator << 25)
        | (wall.isoweekday() << 17)
        | (wall.hour << 12)
        | seconds
    )
    return f"{raw:08X}"


def write_green_button(
    usage_points: Sequence[ExportUsagePoint],
    *,
    zone: tzinfo,
    retail_customer_id: str,
    title: str,
    generated_at: datetime,
) -> bytes:
    """Write the usage points as a Green Button Atom feed, UTF-8 encoded.

    `retail_customer_id` names the customer in the resource paths, so pass an opaque
    id, not an account number. Intervals are grouped into one IntervalBlock per local
    day in `zone`, so a spring-forward day's block lasts 23 hours and a fall-back
    day's 25. Raises ValueError for a unit without an ESPI code.

    The feed, usage point and meter reading titles are written as given, so the
    caller translates them. Other entries are titled with their ESPI resource name,
    or an IntervalBlock with its ISO date, which need no translation.
    """
    writer = _FeedWriter(retail_customer_id, generated_at)
    feed = writer.feed(title)

    first_starts = [
        interval.start
        for point in usage_points
        for reading in point.meter_readings
        for interval in reading.intervals[:1]
    ]
    year = min(first_starts).astimezone(zone).year if first_starts else generated_at.year
    local_time_href = writer.local_time_parameters(feed, local_time_rules(zone, year))

    for point_number, point in enumerate(usage_points, start=1):
        point_href = f"{writer.customer_root}/UsagePoint/{point_number}"
        writer.usage_point(feed, point, point_href, local_time_href)
        for reading_number, reading in enumerate(point.meter_readings, start=1):
            writer.meter_reading(
                feed, point.service, reading, f"{point_href}/MeterReading/{reading_number}", zone
            )
    indent(feed, space="  ")
    return tostring(feed, encoding="utf-8", xml_declaration=True)


class _FeedWriter:
    """Builds Atom entries whose ids are stable for the same customer and paths."""

    def __init__(self, retail_customer_id: str, generated_at: datetime) -> None:
        self.resource_root = "/espi/1_1/resource"
        self.customer_root = f"{self.resource_root}/RetailCustomer/{retail_customer_id}"
        self.updated = generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def feed(self, title: str) -> Element:
        feed = Element("feed", {"xmlns": ATOM_NAMESPACE, "xmlns:espi": ESPI_NAMESPACE})
        SubElement(feed, "id").text = _urn(self.customer_root)
        SubElement(feed, "title").text = title
        SubElement(feed, "updated").text = self.updated
        SubElement(feed, "link", {"rel": "self", "href": f"{self.customer_root}/UsagePoint"})
        return feed

    def entry(
        self, feed: Element, self_href: str, title: str, related: Sequence[str] = ()
    ) -> Element:
        """Append an entry linked to its collection; return its empty <content>."""
        entry = SubElement(feed, "entry")
        SubElement(entry, "id").text = _urn(self_href)
        SubElement(entry, "link", {"rel": "self", "href": self_href})
        SubElement(entry, "link", {"rel": "up", "href": self_href.rpartition("/")[0]})
        for href in related:
            SubElement(entry, "link", {"rel": "related", "href": href})
        SubElement(entry, "title").text = title
        content = SubElement(entry, "content")
        SubElement(entry, "published").text = self.updated
        SubElement(entry, "updated").text = self.updated
        return content

    def local_time_parameters(self, feed: Element, rules: LocalTimeRules) -> str:
        href = f"{self.resource_root}/LocalTimeParameters/1"
        content = self.entry(feed, href, "LocalTimeParameters")
        parameters = SubElement(content, "espi:LocalTimeParameters")
        # ESPI's schema orders these elements alphabetically.
        _text(parameters, "dstEndRule", rules.dst_end_rule)
        _text(parameters, "dstOffset", rules.dst_offset)
        _text(parameters, "dstStartRule", rules.dst_start_rule)
        _text(parameters, "tzOffset", rules.tz_offset)
        return href

    def usage_point(
        self, feed: Element, point: ExportUsagePoint, href: str, local_time_href: str
    ) -> None:
        content = self.entry(feed, href, point.title, [f"{href}/MeterReading", local_time_href])
        usage_point = SubElement(content, "espi:UsagePoint")
        category = SubElement(usage_point, "espi:ServiceCategory")
        _text(category, "kind", SERVICE_KIND_CODES[point.service])

    def meter_reading(
        self,
        feed: Element,
        service: str,
        reading: ExportMeterReading,
        href: str,
        zone: tzinfo,
    ) -> None:
        intervals = sorted(reading.intervals, key=lambda interval: interval.start)
        uom, power, integers = espi_scale(reading.unit, [i.value for i in intervals])
        reading_type_href = f"{self.resource_root}/ReadingType/{_urn(href).rpartition(':')[2]}"
        content = self.entry(
            feed, href, reading.title, [f"{href}/IntervalBlock", reading_type_href]
        )
        SubElement(content, "espi:MeterReading")
        self._reading_type(feed, reading_type_href, service, intervals, uom, power)

        days: dict[date, list[tuple[IntervalRead, int]]] = {}
        for interval, integer in zip(intervals, integers, strict=True):
            days.setdefault(interval.start.astimezone(zone).date(), []).append((interval, integer))
        for block_number, (day, readings) in enumerate(sorted(days.items()), start=1):
            self._interval_block(feed, f"{href}/IntervalBlock/{block_number}", day, readings, zone)

    def _reading_type(
        self,
        feed: Element,
        href: str,
        service: str,
        intervals: Sequence[IntervalRead],
        uom: int,
        power: int,
    ) -> None:
        content = self.entry(feed, href, "ReadingType")
        reading_type = SubElement(content, "espi:ReadingType")
        _text(reading_type, "accumulationBehaviour", 4)  # deltaData: usage per interval
        _text(reading_type, "commodity", _COMMODITY_CODES[service])
        _text(reading_type, "flowDirection", 1)  # forward: delivered to the customer
        lengths = Counter(interval.seconds for interval in intervals)
        if lengths:
            _text(reading_type, "intervalLength", lengths.most_common(1)[0][0])
        if service == "electric":
            _text(reading_type, "kind", 12)  # energy
        _text(reading_type, "powerOfTenMultiplier", power)
        _text(reading_type, "uom", uom)

    def _interval_block(
        self,
        feed: Element,
        href: str,
        day: date,
        readings: Sequence[tuple[IntervalRead, int]],
        zone: tzinfo,
    ) -> None:
        content = self.entry(feed, href, day.isoformat())
        block = SubElement(content, "espi:IntervalBlock")
        day_start = _local_midnight(day, zone)
        day_end = _local_midnight(day + timedelta(days=1), zone)
        _time_period(block, "interval", day_start, int((day_end - day_start).total_seconds()))
        for interval, integer in readings:
            reading = SubElement(block, "espi:IntervalReading")
            for code in _espi_qualities(interval.quality):
                quality = SubElement(reading, "espi:ReadingQuality")
                _text(quality, "quality", code)
            _time_period(reading, "timePeriod", interval.start, interval.seconds)
            _text(reading, "value", integer)


def _espi_qualities(quality: str | None) -> list[str]:
    """Return the QualityOfReading codes for a stored quality.

    Codes kept from an imported Green Button file ("8" or "8,14") are written back
    as they came. Other stored qualities than our estimate have no ESPI code.
    """
    if quality == ESTIMATED_QUALITY:
        return [ESPI_ESTIMATED_QUALITY]
    if quality is None:
        return []
    codes = quality.split(",")
    return codes if all(code.isdigit() for code in codes) else []


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _time_period(parent: Element, name: str, start: datetime, seconds: int) -> None:
    period = SubElement(parent, f"espi:{name}")
    _text(period, "duration", seconds)
    _text(period, "start", int(start.timestamp()))


def _text(parent: Element, name: str, value: object) -> None:
    SubElement(parent, f"espi:{name}").text = str(value)


def _urn(href: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, href)}"
