"""Count SMS segments the way Twilio and the carriers do.

Pure module: no I/O, standard library only.

Encoding
    A message is GSM-7 when every character is in the GSM 03.38 default
    alphabet (1 septet) or its extension table (2 septets: ESC + char).
    Any other character makes the *whole* message UCS-2, where each
    character costs its UTF-16 code units (2 for anything outside the BMP,
    e.g. most emoji).

Segments
    A message that fits in one segment (160 septets / 70 code units) is sent
    as is. Longer messages are concatenated: every part carries a User Data
    Header, leaving 153 septets / 67 code units. Parts are filled greedily
    and a character is never cut: an ESC+char pair or a surrogate pair that
    would straddle the boundary moves whole to the next part, ending the
    current part early (this is what Twilio does).

Empty text
    ``segment("")`` reports 1 segment of 0 units and ``split("")`` returns
    ``[""]``, matching Twilio's count for an empty body. (Twilio's API refuses
    to send an empty body anyway; callers should validate before sending.)

Smart encoding
    ``smart_encode`` replaces common Unicode look-alikes (curly quotes,
    dashes, ellipsis, exotic spaces, bullets...) with GSM-7 equivalents,
    like Twilio's Smart Encoding. It only touches characters in its table;
    anything else that is not GSM-7 still makes the message UCS-2.
    ``segment`` never applies it implicitly: call
    ``segment(smart_encode(text))`` when the messaging service has Smart
    Encoding turned on.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet in table order (0x1B, the escape, is omitted).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}
# Extension table: each costs 2 septets (ESC + char).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION

# (single-segment limit, per-part limit of a concatenated message)
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

_SMART_MAP = {
    **dict.fromkeys("‘’‚‛′‹›`´ʹʼˈ＇", "'"),
    **dict.fromkeys("“”„‟″«»＂", '"'),
    **dict.fromkeys("‐‑‒–—―−•", "-"),
    "…": "...",
    # no-break, en/em/thin/hair..., narrow no-break, math, ideographic spaces
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    # invisible: zero-width space, word joiner, byte-order mark
    **dict.fromkeys("\u200b\u2060\ufeff", ""),
}
_SMART_TABLE = str.maketrans(_SMART_MAP)


@dataclass(frozen=True)
class Segmentation:
    encoding: str  # GSM7 or UCS2
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2) in the whole text


def _encoding(text: str) -> str:
    return GSM7 if all(ch in _GSM7_ALL for ch in text) else UCS2


def _width(ch: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def split(text: str) -> list[str]:
    """The parts as they would be sent; ``"".join(split(t)) == t``."""
    encoding = _encoding(text)
    single, per_part = _LIMITS[encoding]
    widths = [_width(ch, encoding) for ch in text]
    if sum(widths) <= single:
        return [text]
    parts: list[str] = []
    start = used = 0
    for i, width in enumerate(widths):
        if used + width > per_part:  # would overflow or cut a pair: new part
            parts.append(text[start:i])
            start, used = i, 0
        used += width
    parts.append(text[start:])
    return parts


def segment(text: str) -> Segmentation:
    encoding = _encoding(text)
    units = sum(_width(ch, encoding) for ch in text)
    return Segmentation(encoding, len(split(text)), units)


def smart_encode(text: str) -> str:
    """Replace well-known Unicode look-alikes with GSM-7 characters."""
    return text.translate(_SMART_TABLE)
