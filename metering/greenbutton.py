"""Parse Green Button "Download My Data" files (NAESB ESPI resources in an Atom feed).

A feed is a flat list of Atom entries, each holding one ESPI resource. They are
tied together by links: a UsagePoint's `related` links lead to its MeterReadings
and LocalTimeParameters, and a MeterReading's lead to its ReadingType and its
IntervalBlocks. A `related` href matches an entry whose `self` link equals it or
whose `up` link equals it (the collection the entry belongs to). An entry whose
`self` href lies under another's (`.../UsagePoint/1/MeterReading/01` under
`.../UsagePoint/1`) is also taken as linked to it, as the ESPI REST paths nest.

Elements are matched by local name, so the default-namespace style and the
`espi:`, `atom:` or `ns:` prefixed styles parse alike. Parsing goes through
defusedxml, which rejects entity expansion and external references.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - only for the Element type and TreeBuilder
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from metering.espi_time import local_time_zone
from metering.register_csv import split_physical_lines
from metering.types import IntervalRead, ReadFileError, RowError

__all__ = [
    "SERVICE_KINDS",
    "UOM_UNITS",
    "GreenButtonFeed",
    "MeterReading",
    "UsagePoint",
    "parse_green_button",
]

# ESPI ServiceKind codes (UsagePoint/ServiceCategory/kind).
SERVICE_KINDS = {
    0: "electricity",
    1: "gas",
    2: "water",
    3: "time",
    4: "heat",
    5: "refuse",
    6: "sewerage",
    7: "rates",
    8: "tvLicence",
    9: "internet",
}

# ESPI UnitSymbolKind codes (ReadingType/uom) -> (unit symbol, extra power of ten).
# Wh and W are converted to kWh and kW. Codes not listed become "uom:NNN".
UOM_UNITS: dict[int, tuple[str, int]] = {
    38: ("kW", -3),
    42: ("m3", 0),
    61: ("VA", 0),
    63: ("VAr", 0),
    71: ("VAh", 0),
    72: ("kWh", -3),
    73: ("VArh", 0),
    119: ("ft3", 0),
    128: ("gal", 0),
    132: ("BTU", 0),
    134: ("L", 0),
    169: ("therm", 0),
}

_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class MeterReading:
    """A MeterReading of a usage point, with the unit and scale from its ReadingType.

    `uom` is the ESPI UnitSymbolKind code and `unit` the symbol it maps to (None when
    the ReadingType or its uom is missing). `interval_length` is in seconds.
    """

    id: str
    title: str | None
    uom: int | None
    unit: str | None
    power_of_ten_multiplier: int | None
    interval_length: int | None
    reading_count: int


@dataclass
class UsagePoint:
    """One metered service point in a feed, with its intervals and rejected readings.

    `intervals` merges the readings of all of its MeterReadings, ordered by start.
    NOTE: an interval does not record its MeterReading, so a net-metered point with
    delivered and received MeterReadings mixes both directions in `intervals`.
    """

    id: str
    title: str | None
    service_kind: str | None
    local_zone: tzinfo | None
    intervals: list[IntervalRead] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    meter_readings: list[MeterReading] = field(default_factory=list)


@dataclass
class GreenButtonFeed:
    """A parsed feed. `errors` lists problems not tied to one usage point."""

    usage_points: list[UsagePoint] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse_green_button(data: bytes) -> GreenButtonFeed:
    """Parse a Green Button Atom feed into usage points with UTC interval reads.

    Raises ReadFileError when the bytes are not well-formed XML, use forbidden XML
    features (entities, external references) or are not an Atom feed.
    """
    document = _Document.parse(data)
    return _FeedReader(document).read()


class _LineTrackingBuilder(ET.TreeBuilder):
    """TreeBuilder that records the first and last source line of every element."""

    def __init__(self) -> None:
        super().__init__()
        self.expat: Any = None
        self.first_lines: dict[int, int] = {}
        self.last_lines: dict[int, int] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag, attrs)
        self.first_lines[id(element)] = self.expat.CurrentLineNumber
        return element

    def end(self, tag: str) -> ET.Element:
        element = super().end(tag)
        self.last_lines[id(element)] = self.expat.CurrentLineNumber
        return element


@dataclass
class _Document:
    root: ET.Element
    data: bytes
    first_lines: dict[int, int]
    last_lines: dict[int, int]
    _source_lines: list[str] | None = None

    @classmethod
    def parse(cls, data: bytes) -> _Document:
        builder = _LineTrackingBuilder()
        parser = DefusedXMLParser(target=builder)
        # NOTE: reads the expat parser behind defusedxml's pure-Python XMLParser to get
        # line numbers. It is an attribute of xml.etree.ElementTree.XMLParser.
        builder.expat = parser.parser
        try:
            parser.feed(data)
            root = parser.close()
        except ET.ParseError as error:
            raise ReadFileError(f"The Green Button file is not well-formed XML: {error}.") from None
        except DefusedXmlException as error:
            raise ReadFileError(
                f"The Green Button file uses a forbidden XML feature ({error}). "
                "Export it again without a DTD or entity declarations."
            ) from None
        return cls(root, data, builder.first_lines, builder.last_lines)

    def line_of(self, element: ET.Element) -> int:
        return self.first_lines.get(id(element), 0)

    def raw_text(self, element: ET.Element) -> str:
        """Return the element's source lines, stripped of indentation and joined."""
        if self._source_lines is None:
            self._source_lines = split_physical_lines(self.data.decode("utf-8", errors="replace"))
        first = self.first_lines.get(id(element), 0)
        last = self.last_lines.get(id(element), first)
        if first <= 0:
            return ""
        return "".join(line.strip() for line in self._source_lines[first - 1 : last])


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    return next((child for child in element if _local(child.tag) == name), None)


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _text(element: ET.Element | None, *path: str) -> str | None:
    """Return the stripped text at a path of local names below `element`, or None."""
    for name in path:
        element = _child(element, name)
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


@dataclass
class _Entry:
    element: ET.Element
    position: int
    self_href: str | None
    up_href: str | None
    related: list[str]
    atom_id: str | None
    title: str | None
    resources: list[ET.Element]

    def resources_named(self, name: str) -> list[ET.Element]:
        return [resource for resource in self.resources if _local(resource.tag) == name]


def _read_entry(element: ET.Element, position: int) -> _Entry:
    self_href = up_href = None
    related: list[str] = []
    for link in _children(element, "link"):
        href = (link.get("href") or "").strip()
        rel = link.get("rel")
        if not href:
            continue
        if rel == "self":
            self_href = href
        elif rel == "up":
            up_href = href
        elif rel == "related":
            related.append(href)
    content = _child(element, "content")
    resources = list(content) if content is not None else []
    return _Entry(
        element=element,
        position=position,
        self_href=self_href,
        up_href=up_href,
        related=related,
        atom_id=_text(element, "id"),
        title=_text(element, "title"),
        resources=resources,
    )


class _FeedReader:
    def __init__(self, document: _Document) -> None:
        self.document = document
        root = document.root
        if _local(root.tag) == "feed":
            elements = list(_children(root, "entry"))
        elif _local(root.tag) == "entry":
            elements = [root]
        else:
            raise ReadFileError(
                f"The Green Button file's root element is <{_local(root.tag)}>, "
                "expected an Atom <feed>. Check that the file is an ESPI Atom export."
            )
        self.entries = [_read_entry(element, i) for i, element in enumerate(elements)]
        self.by_self: dict[str, _Entry] = {}
        self.by_up: dict[str, list[_Entry]] = {}
        # Entries by every ancestor path of their self href: "a/b/c" is under "a" and "a/b".
        self.by_ancestor: dict[str, list[_Entry]] = {}
        for entry in self.entries:
            if entry.self_href is not None:
                self.by_self.setdefault(entry.self_href, entry)
                segments = entry.self_href.rstrip("/").split("/")
                for end in range(1, len(segments)):
                    ancestor = "/".join(segments[:end])
                    self.by_ancestor.setdefault(ancestor, []).append(entry)
            if entry.up_href is not None:
                self.by_up.setdefault(entry.up_href, []).append(entry)
        self.used_blocks: set[int] = set()

    def read(self) -> GreenButtonFeed:
        feed = GreenButtonFeed()
        for entry in self.entries:
            for resource in entry.resources_named("UsagePoint"):
                feed.usage_points.append(self._read_usage_point(entry, resource))

        for entry in self.entries:
            if entry.resources_named("IntervalBlock") and entry.position not in self.used_blocks:
                feed.errors.append(
                    RowError(
                        line_number=self.document.line_of(entry.element),
                        raw=entry.self_href or entry.atom_id or "",
                        reason=(
                            f"IntervalBlock entry {entry.self_href or entry.atom_id!r} is not "
                            "linked to any UsagePoint through a MeterReading, so its readings "
                            "were skipped. Check the related links in the export."
                        ),
                    )
                )
        return feed

    def _linked(self, entry: _Entry, resource_name: str) -> list[_Entry]:
        """Return entries holding `resource_name` that `entry` links to, in feed order."""
        found: dict[int, _Entry] = {}
        for href in entry.related:
            target = self.by_self.get(href)
            if target is not None:
                found[target.position] = target
            for member in self.by_up.get(href, []):
                found[member.position] = member
        if entry.self_href is not None:
            for descendant in self.by_ancestor.get(entry.self_href.rstrip("/"), []):
                found[descendant.position] = descendant
        return [
            found[position]
            for position in sorted(found)
            if found[position].resources_named(resource_name)
        ]

    def _read_usage_point(self, entry: _Entry, resource: ET.Element) -> UsagePoint:
        point = UsagePoint(
            id=entry.self_href or entry.atom_id or f"entry {entry.position + 1}",
            title=entry.title,
            service_kind=_service_kind(_text(resource, "ServiceCategory", "kind")),
            local_zone=None,
        )
        point.local_zone = self._local_zone(entry, point)

        for reading_entry in self._linked(entry, "MeterReading"):
            self._read_meter_reading(reading_entry, point)
        point.intervals.sort(key=lambda interval: interval.start)
        return point

    def _local_zone(self, entry: _Entry, point: UsagePoint) -> tzinfo | None:
        candidates = self._linked(entry, "LocalTimeParameters")
        if not candidates:
            every = [e for e in self.entries if e.resources_named("LocalTimeParameters")]
            # NOTE: an unlinked LocalTimeParameters is used only when it is the feed's only one.
            candidates = every if len(every) == 1 else []
        if not candidates:
            return None
        parameters_entry = candidates[0]
        parameters = parameters_entry.resources_named("LocalTimeParameters")[0]
        tz_offset = _text(parameters, "tzOffset")
        dst_offset = _text(parameters, "dstOffset") or "0"
        try:
            if tz_offset is None:
                raise ValueError("tzOffset is missing")
            return local_time_zone(
                int(tz_offset),
                int(dst_offset),
                _text(parameters, "dstStartRule"),
                _text(parameters, "dstEndRule"),
            )
        except ValueError as error:
            point.errors.append(
                RowError(
                    line_number=self.document.line_of(parameters),
                    raw=self.document.raw_text(parameters),
                    reason=(
                        f"LocalTimeParameters are invalid ({error}), so no local zone was set. "
                        "Pass the utility's zone when grouping these readings by day."
                    ),
                )
            )
            return None

    def _read_meter_reading(self, entry: _Entry, point: UsagePoint) -> None:
        meter_reading = entry.resources_named("MeterReading")[0]
        name = entry.self_href or entry.atom_id or f"entry {entry.position + 1}"
        blocks = [
            (block_entry, block)
            for block_entry in self._linked(entry, "IntervalBlock")
            for block in block_entry.resources_named("IntervalBlock")
        ]
        for block_entry, _ in blocks:
            self.used_blocks.add(block_entry.position)

        reading_type = _child(meter_reading, "ReadingType")
        if reading_type is None:
            linked_types = self._linked(entry, "ReadingType")
            if linked_types:
                reading_type = linked_types[0].resources_named("ReadingType")[0]

        reading_count = sum(len(list(_children(block, "IntervalReading"))) for _, block in blocks)
        scale = _reading_scale(reading_type)
        point.meter_readings.append(
            MeterReading(
                id=name,
                title=entry.title,
                uom=_optional_int(_text(reading_type, "uom")),
                unit=None if isinstance(scale, str) else scale[0],
                power_of_ten_multiplier=_optional_int(_text(reading_type, "powerOfTenMultiplier")),
                interval_length=_optional_int(_text(reading_type, "intervalLength")),
                reading_count=reading_count,
            )
        )
        if isinstance(scale, str):
            if reading_count:
                point.errors.append(
                    RowError(
                        line_number=self.document.line_of(entry.element),
                        raw=name,
                        reason=(
                            f"MeterReading {name!r}: {scale} Its {reading_count} interval "
                            "readings were skipped. Export the feed again with its ReadingType."
                        ),
                    )
                )
            return

        unit, exponent = scale
        for _, block in blocks:
            for reading in _children(block, "IntervalReading"):
                outcome = _read_interval(reading, unit, exponent)
                if isinstance(outcome, IntervalRead):
                    point.intervals.append(outcome)
                else:
                    point.errors.append(
                        RowError(
                            line_number=self.document.line_of(reading),
                            raw=self.document.raw_text(reading),
                            reason=outcome,
                        )
                    )


def _optional_int(text: str | None) -> int | None:
    return int(text) if text is not None and _INTEGER.fullmatch(text) else None


def _service_kind(code: str | None) -> str | None:
    if code is None:
        return None
    if _INTEGER.fullmatch(code) and int(code) in SERVICE_KINDS:
        return SERVICE_KINDS[int(code)]
    return f"kind:{code}"


def _reading_scale(reading_type: ET.Element | None) -> tuple[str, int] | str:
    """Return (unit, power of ten to apply to raw values), or why there is none."""
    if reading_type is None:
        return "it has no ReadingType, so the unit of its values is unknown."
    uom = _text(reading_type, "uom")
    if uom is None or not _INTEGER.fullmatch(uom):
        uom_text = "missing" if uom is None else repr(uom)
        return f"its ReadingType uom is {uom_text}, so the unit of its values is unknown."
    multiplier = _text(reading_type, "powerOfTenMultiplier") or "0"
    if not _INTEGER.fullmatch(multiplier):
        return f"its ReadingType powerOfTenMultiplier {multiplier!r} is not an integer."
    unit, extra_exponent = UOM_UNITS.get(int(uom), (f"uom:{int(uom)}", 0))
    return unit, int(multiplier) + extra_exponent


def _read_interval(reading: ET.Element, unit: str, exponent: int) -> IntervalRead | str:
    """Return the interval for one IntervalReading element, or why it was rejected."""
    period = _child(reading, "timePeriod")
    if period is None:
        return "IntervalReading has no timePeriod. Each reading needs a start and a duration."

    fields = {
        "timePeriod start": _text(period, "start"),
        "timePeriod duration": _text(period, "duration"),
        "value": _text(reading, "value"),
    }
    for label, text in fields.items():
        if text is None:
            return f"IntervalReading {label} is missing. Each reading needs it."
        if not _INTEGER.fullmatch(text):
            return (
                f"IntervalReading {label} {text!r} is not a whole number. ESPI writes times "
                "as integer epoch seconds and values as integers scaled by the ReadingType."
            )
    start_seconds = int(fields["timePeriod start"] or "")
    duration = int(fields["timePeriod duration"] or "")
    if duration <= 0:
        return f"IntervalReading timePeriod duration {duration} is not positive."

    value = Decimal(int(fields["value"] or "")).scaleb(exponent)
    if exponent > 0:  # Keep whole numbers in plain notation (5000, not 5E+3).
        value = value.quantize(Decimal(1))
    qualities = [
        quality.text.strip()
        for quality_holder in _children(reading, "ReadingQuality")
        for quality in _children(quality_holder, "quality")
        if quality.text and quality.text.strip()
    ]
    try:
        start = datetime.fromtimestamp(start_seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return f"IntervalReading timePeriod start {start_seconds} is out of range."
    return IntervalRead(
        start=start,
        seconds=duration,
        value=value,
        unit=unit,
        quality=",".join(qualities) if qualities else None,
    )
