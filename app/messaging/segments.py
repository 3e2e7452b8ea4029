"""Count the SMS segments that a text message needs.

A message that uses only the GSM 03.38 default alphabet is sent in GSM-7: one segment
carries 160 septets, and each segment of a multi-part message carries 153, because the
concatenation header takes the rest. Characters of the extension table are sent as an
escape septet plus one more, so they cost two septets, and the pair is never split
across segments. Any other character sends the whole message in UCS-2 (UTF-16 on
current phones): 70 code units in one segment, or 67 per segment of a multi-part
message. A character outside the Basic Multilingual Plane is a surrogate pair, two
code units that are never split.

NOTE: national language shift tables (such as the Spanish one) and a provider's
substitution of look-alike GSM characters (Twilio's Smart Encoding, for one) are not
modeled, so the count is what the message costs when sent exactly as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

#: The GSM 03.38 default alphabet, in table order, without the escape code at 0x1B.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

#: The GSM 03.38 extension table: each is sent as the escape septet plus one septet.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_SEGMENT = 160
GSM7_MULTI_SEGMENT = 153
UCS2_SINGLE_SEGMENT = 70
UCS2_MULTI_SEGMENT = 67


@dataclass(frozen=True)
class SegmentCount:
    """The encoding of a message, its segment count and the units it uses in total.

    ``units`` is septets for GSM-7 and UTF-16 code units for UCS-2.
    """

    encoding: Encoding
    segments: int
    units: int


def count_segments(text: str) -> SegmentCount:
    """Count the segments ``text`` needs as one SMS.

    An empty text counts as one segment of zero units, because the carrier still
    delivers one message.
    """
    gsm7_costs = _gsm7_costs(text)
    if gsm7_costs is not None:
        return _pack("GSM-7", gsm7_costs, GSM7_SINGLE_SEGMENT, GSM7_MULTI_SEGMENT)

    ucs2_costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return _pack("UCS-2", ucs2_costs, UCS2_SINGLE_SEGMENT, UCS2_MULTI_SEGMENT)


def _gsm7_costs(text: str) -> list[int] | None:
    """Return the septets of each character, or None when one is outside GSM-7."""
    costs: list[int] = []
    for char in text:
        if char in GSM7_BASIC:
            costs.append(1)
        elif char in GSM7_EXTENSION:
            costs.append(2)
        else:
            return None
    return costs


def _pack(encoding: Encoding, costs: list[int], single: int, multi: int) -> SegmentCount:
    """Fill segments in order so that no character's units are split between two."""
    units = sum(costs)
    if units <= single:
        return SegmentCount(encoding, 1, units)

    segments = 1
    used = 0
    for cost in costs:
        if used + cost > multi:
            segments += 1
            used = 0
        used += cost
    return SegmentCount(encoding, segments, units)


#: Characters outside GSM-7 that word processors and Babel put in text, each with the
#: GSM-7 character that reads the same. One of them sends a whole message as UCS-2.
AVOIDABLE_NON_GSM = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark, the curly apostrophe
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2026": "...",  # horizontal ellipsis
    "\u2022": "*",  # bullet
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space
    "\u2009": " ",  # thin space
    "\u200b": "",  # zero-width space
}


def avoidable_characters(text: str) -> list[str]:
    """Return the characters of ``text`` in ``AVOIDABLE_NON_GSM``, in order of appearance."""
    return [char for char in text if char in AVOIDABLE_NON_GSM]
