"""Spec for chalicelib/core/segments.py: SMS segment counting as Twilio does it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.segments import GSM7, UCS2, Segmentation, segment, smart_encode, split

# Written out independently of the module, from GSM 03.38.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
LOOKALIKES = "‘’‚‛“”„‟–—‒−…\u00a0\u2009\u202f•«»‹›"
A, ZH, EMOJI = "a", "ж", "😀"  # 1 septet; 1 UTF-16 unit (non-GSM); 2 units

CASES = [
    # id, text, encoding, segments, units
    ("empty-is-one-segment", "", GSM7, 1, 0),
    ("gsm-1", A, GSM7, 1, 1),
    ("gsm-160", A * 160, GSM7, 1, 160),
    ("gsm-161", A * 161, GSM7, 2, 161),
    ("gsm-306", A * 306, GSM7, 2, 306),
    ("gsm-307", A * 307, GSM7, 3, 307),
    ("gsm-whole-alphabet", GSM_BASIC + GSM_EXTENSION, GSM7, 1, 127 + 20),
    ("ext-80-braces-160-septets", "{" * 80, GSM7, 1, 160),
    ("ext-81-braces", "{" * 81, GSM7, 2, 162),
    ("ext-euro-2-septets", "€", GSM7, 1, 2),
    ("ext-form-feed-2-septets", "\f", GSM7, 1, 2),
    ("ext-pair-ends-exactly-at-153", A * 151 + "{" + A * 153, GSM7, 2, 306),
    ("ext-pair-straddles-153", A * 152 + "{" + A * 152, GSM7, 3, 306),
    ("e-acute-stays-gsm", "café", GSM7, 1, 4),
    ("e-circumflex-forces-ucs2", "crêpe", UCS2, 1, 5),
    ("ucs2-70", ZH * 70, UCS2, 1, 70),
    ("ucs2-71", ZH * 71, UCS2, 2, 71),
    ("ucs2-134", ZH * 134, UCS2, 2, 134),
    ("ucs2-135", ZH * 135, UCS2, 3, 135),
    ("ucs2-makes-ext-char-1-unit", "{" * 69 + ZH, UCS2, 1, 70),
    ("emoji-forces-ucs2-2-units", EMOJI, UCS2, 1, 2),
    ("emoji-35-is-70-units", EMOJI * 35, UCS2, 1, 70),
    ("emoji-pair-ends-exactly-at-67", ZH * 65 + EMOJI + ZH * 67, UCS2, 2, 134),
    ("emoji-pair-straddles-67", ZH * 66 + EMOJI + ZH * 66, UCS2, 3, 134),
    ("smart-quotes-raw-are-ucs2", "“Hi” it’s", UCS2, 1, 9),
]


@pytest.mark.parametrize("text,encoding,segments,units", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_segment_table(text, encoding, segments, units):
    assert segment(text) == Segmentation(encoding, segments, units)


@pytest.mark.parametrize(
    "text,part_lengths",
    [
        ("", [0]),
        (A * 161, [153, 8]),
        (A * 152 + "{" + A * 152, [152, 152, 1]),  # '{' moves whole to part 2
        (ZH * 66 + EMOJI + ZH * 66, [66, 66, 1]),  # emoji moves whole to part 2
    ],
    ids=["empty", "gsm-161", "ext-pair-not-split", "surrogate-pair-not-split"],
)
def test_split_parts(text, part_lengths):
    assert [len(p) for p in split(text)] == part_lengths


@pytest.mark.parametrize(
    "raw,encoded",
    [
        ("“Hi” it’s", '"Hi" it\'s'),
        ("‘a’ ‚b‛ „c‟", "'a' 'b' \"c\""),
        ("1–2 — 3‒4 −5", "1-2 - 3-4 -5"),
        ("wait…", "wait..."),
        ("a\u00a0b\u2009c\u202fd", "a b c d"),
        ("• item", "- item"),
        ("«x» ‹y›", "\"x\" 'y'"),
        ("ê😀ж", "ê😀ж"),  # not in the table: untouched
        (GSM_BASIC + GSM_EXTENSION, GSM_BASIC + GSM_EXTENSION),
    ],
    ids=[
        "curly",
        "low-and-reversed",
        "dashes",
        "ellipsis",
        "spaces",
        "bullet",
        "guillemets",
        "others-untouched",
        "gsm-untouched",
    ],
)
def test_smart_encode(raw, encoded):
    assert smart_encode(raw) == encoded


def test_smart_quotes_become_gsm_only_after_smart_encode():
    text = "“Hi” it’s – ok…"
    assert segment(text).encoding == UCS2
    assert segment(smart_encode(text)) == Segmentation(GSM7, 1, 17)


# --- properties -----------------------------------------------------------

gsm_char = st.sampled_from(GSM_BASIC + GSM_EXTENSION)
gsm_text = st.text(gsm_char, max_size=500)
# Few distinct characters so long texts hit the part boundaries often.
mixed_text = st.text(st.sampled_from(A + "{€é" + ZH + EMOJI), max_size=400)
any_text = st.one_of(gsm_text, mixed_text, st.text(max_size=300))


def units_of(part, encoding):
    """Oracle independent of the module."""
    if encoding == GSM7:
        return len(part) + sum(ch in GSM_EXTENSION for ch in part)
    return len(part.encode("utf-16-le")) // 2


@given(any_text)
def test_parts_reassemble_and_match_count(text):
    parts = split(text)
    assert "".join(parts) == text
    assert len(parts) == segment(text).segments


@given(any_text)
def test_each_part_fits_and_only_ends_early_to_keep_a_pair(text):
    result, parts = segment(text), split(text)
    single, per_part = (160, 153) if result.encoding == GSM7 else (70, 67)
    sizes = [units_of(p, result.encoding) for p in parts]
    assert sum(sizes) == result.units == units_of(text, result.encoding)
    if len(parts) == 1:
        assert sizes[0] <= single
    else:
        assert result.units > single and all(0 < s <= per_part for s in sizes)
        for size, following in zip(sizes, parts[1:], strict=False):  # greedy: next char didn't fit
            assert size + units_of(following[0], result.encoding) > per_part


@given(gsm_text)
def test_gsm_text_never_reports_ucs2(text):
    assert segment(text).encoding == GSM7


@given(st.one_of(st.tuples(gsm_text, gsm_char), st.tuples(mixed_text.map(lambda t: t + ZH), st.characters())))
def test_appending_same_charset_never_decreases_segments(text_and_char):
    text, char = text_and_char
    before, after = segment(text), segment(text + char)
    assert after.encoding == before.encoding
    assert after.segments >= before.segments


@given(st.text(st.sampled_from(GSM_BASIC + GSM_EXTENSION + LOOKALIKES), max_size=300))
def test_smart_encode_turns_lookalikes_into_gsm(text):
    assert segment(smart_encode(text)).encoding == GSM7
