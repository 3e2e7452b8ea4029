"""SMS segment counting, kept here for the channel's imports; it lives in app.messaging."""

from __future__ import annotations

from app.messaging.segments import (
    AVOIDABLE_NON_GSM,
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_MULTI_SEGMENT,
    GSM7_SINGLE_SEGMENT,
    UCS2_MULTI_SEGMENT,
    UCS2_SINGLE_SEGMENT,
    Encoding,
    SegmentCount,
    avoidable_characters,
    count_segments,
)

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "GSM7_MULTI_SEGMENT",
    "GSM7_SINGLE_SEGMENT",
    "UCS2_MULTI_SEGMENT",
    "UCS2_SINGLE_SEGMENT",
    "AVOIDABLE_NON_GSM",
    "Encoding",
    "SegmentCount",
    "avoidable_characters",
    "count_segments",
]
