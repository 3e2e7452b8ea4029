"""SMS segment counts, each expected value counted by hand.

The Spanish cases rely on these GSM 03.38 facts: the default alphabet contains ñ, Ñ, ü,
Ü, é, É, à, ¡ and ¿, but not á, í, ó, ú, Á, Í, Ó, Ú or È. The extension table contains
form feed, ^ { } \\ [ ~ ] | and €.
"""

from __future__ import annotations

import pytest

from sms_flows.segments import GSM7_BASIC, GSM7_EXTENSION, SegmentCount, count_segments


def test_gsm7_tables_match_standard() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes less the escape code
    assert len(GSM7_EXTENSION) == 10
    assert GSM7_BASIC.isdisjoint(GSM7_EXTENSION)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", SegmentCount("GSM-7", 1, 0), id="empty"),
        pytest.param("a" * 160, SegmentCount("GSM-7", 1, 160), id="gsm-160"),
        pytest.param("a" * 161, SegmentCount("GSM-7", 2, 161), id="gsm-161"),
        pytest.param("a" * 306, SegmentCount("GSM-7", 2, 306), id="gsm-153x2"),
        pytest.param("a" * 307, SegmentCount("GSM-7", 3, 307), id="gsm-153x2-plus-1"),
        pytest.param("line one\r\nline two", SegmentCount("GSM-7", 1, 18), id="crlf-is-gsm"),
    ],
)
def test_gsm7_lengths(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 80 euro signs are 160 septets, so they still fit one segment.
        pytest.param("€" * 80, SegmentCount("GSM-7", 1, 160), id="extension-fills-160"),
        pytest.param("a" * 159 + "€", SegmentCount("GSM-7", 2, 161), id="extension-makes-161"),
        # 76 euro signs fill 152 septets, so the 77th moves to segment two.
        pytest.param("€" * 80 + "a", SegmentCount("GSM-7", 2, 161), id="extension-run"),
        # 151 + 2 fills segment one exactly, and 153 fill segment two.
        pytest.param(
            "a" * 151 + "€" + "a" * 153, SegmentCount("GSM-7", 2, 306), id="pair-ends-segment"
        ),
        # The pair would straddle septets 153 and 154, so it opens segment two, which
        # then contains 2 + 151 septets, and the last 'a' needs segment three.
        pytest.param(
            "a" * 152 + "€" + "a" * 152, SegmentCount("GSM-7", 3, 306), id="pair-not-split"
        ),
        pytest.param("{x}", SegmentCount("GSM-7", 1, 5), id="braces"),
        pytest.param("\f", SegmentCount("GSM-7", 1, 2), id="form-feed"),
    ],
)
def test_gsm7_extension_characters(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ñ, ¿ and ¡ are in the default alphabet.
        pytest.param("¿Señor Muñoz? ¡Pague ya!", SegmentCount("GSM-7", 1, 24), id="n-tilde"),
        # É and ü are in the default alphabet.
        pytest.param("Éste es el pingüino", SegmentCount("GSM-7", 1, 19), id="u-umlaut"),
        # ó, á, ú and Á are not, so the whole message is UCS-2 and ¿ costs one code unit.
        pytest.param("Él pagó", SegmentCount("UCS-2", 1, 7), id="o-acute"),
        pytest.param("¿Cuál es mi saldo?", SegmentCount("UCS-2", 1, 18), id="a-acute"),
        pytest.param("Ñandú", SegmentCount("UCS-2", 1, 5), id="u-acute"),
        pytest.param("Á", SegmentCount("UCS-2", 1, 1), id="capital-a-acute"),
        # 70 characters of GSM text plus one á: 71 code units.
        pytest.param("ñ" * 70 + "á", SegmentCount("UCS-2", 2, 71), id="one-accent-flips"),
    ],
)
def test_spanish_text(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("á" * 70, SegmentCount("UCS-2", 1, 70), id="ucs2-70"),
        pytest.param("á" * 71, SegmentCount("UCS-2", 2, 71), id="ucs2-71"),
        pytest.param("á" * 134, SegmentCount("UCS-2", 2, 134), id="ucs2-67x2"),
        pytest.param("á" * 135, SegmentCount("UCS-2", 3, 135), id="ucs2-67x2-plus-1"),
        # Characters outside GSM-7 that are easy to miss.
        pytest.param("it\u2019s", SegmentCount("UCS-2", 1, 4), id="curly-apostrophe"),
        pytest.param("a\tb", SegmentCount("UCS-2", 1, 3), id="tab"),
        pytest.param("`", SegmentCount("UCS-2", 1, 1), id="backtick"),
    ],
)
def test_ucs2_lengths(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # U+1F4A7 DROPLET is a surrogate pair, two code units.
        pytest.param("\U0001f4a7", SegmentCount("UCS-2", 1, 2), id="one-emoji"),
        pytest.param("\U0001f4a7" * 35, SegmentCount("UCS-2", 1, 70), id="emoji-fill-70"),
        # 33 emoji (66 units) fit a segment of 67, so 36 need two.
        pytest.param("\U0001f4a7" * 36, SegmentCount("UCS-2", 2, 72), id="emoji-36"),
        # One emoji makes otherwise GSM text UCS-2: 100 + 2 units.
        pytest.param("a" * 100 + "\U0001f4a7", SegmentCount("UCS-2", 2, 102), id="emoji-flips"),
        # 65 + 2 fills segment one exactly, and 67 fill segment two.
        pytest.param(
            "á" * 65 + "\U0001f4a7" + "á" * 67,
            SegmentCount("UCS-2", 2, 134),
            id="pair-ends-segment",
        ),
        # The pair would straddle units 67 and 68, so it opens segment two, which then
        # contains 2 + 65 units, and the last á needs segment three.
        pytest.param(
            "á" * 66 + "\U0001f4a7" + "á" * 66,
            SegmentCount("UCS-2", 3, 134),
            id="pair-not-split",
        ),
    ],
)
def test_emoji_surrogate_pairs(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected
