r"""Count SMS segments the way Twilio and the carriers do.

Pure module: no I/O; the standard library and ``regex`` (grapheme clusters).

Encoding
    A message is GSM-7 when every character is in the GSM 03.38 default
    alphabet (1 septet) or its extension table (2 septets: ESC + char).
    Any other character makes the *whole* message UCS-2, where each
    character costs its UTF-16 code units (2 for anything outside the BMP,
    e.g. most emoji).

Segments
    A message that fits in one segment (160 septets / 70 code units) is sent
    as is. Longer messages are concatenated: every part carries a 6-octet
    User Data Header, leaving 153 septets / 67 code units. Parts are filled
    greedily with whole atoms, so a part ends early when the next atom would
    not fit. Atoms are what Twilio never cuts (its segment calculator,
    TwilioDevEd/message-segment-calculator, src/libs/SegmentedMessage.ts):

    - GSM-7: a character; an extension character and its ESC are one atom
      of 2 septets, so the pair is never split.
    - UCS-2: an extended grapheme cluster (Unicode's UAX #29, the ``regex``
      package's ``\X``): a letter and its combining marks, an Indic conjunct,
      a Hangul syllable of jamo, an emoji with its skin tone, ZWJ sequence or
      variation selector, a flag. CR LF counts as two atoms, as in Twilio's
      calculator. A cluster longer than a part (67 units: only stacked
      combining marks get there) cannot fit anywhere whole; its code points
      become the atoms (a surrogate pair is never cut). Twilio's calculator
      puts such a cluster alone in an over-full segment instead, which no
      carrier can send.

    Greedy filling with whole atoms gives the fewest parts that keep every
    atom whole. Where the calculator's grapheme library (grapheme-splitter
    1.0.4, Unicode 10's rules) ends a cluster earlier than UAX #29 does today
    (Indic conjuncts, rule GB9c of Unicode 15.1; ZWJ emoji newer than
    Unicode 10), the bridge keeps today's cluster whole and may count one
    segment more than the calculator.

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

import itertools
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

import regex

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


_CLUSTER = regex.compile(r"\X")
_ASTRAL = regex.compile(r"[^\x00-\uffff]")  # a code point UTF-16 writes as a surrogate pair


def _ucs2_width(atom: str) -> int:
    return len(atom.encode("utf-16-le")) // 2


def _gsm7_atoms(text: str) -> tuple[list[str], list[int]]:
    return list(text), [2 if ch in GSM7_EXTENSION else 1 for ch in text]


def _ucs2_atoms(text: str, per_part: int) -> tuple[list[str], list[int]]:
    """The pieces a part boundary may fall between, with their UTF-16 units (module docstring)."""
    atoms: list[str] = _CLUSTER.findall(text)
    widths = [len(atom) for atom in atoms]  # code points; one more unit per surrogate pair:
    ends = list(accumulate(widths))
    for match in _ASTRAL.finditer(text):
        widths[bisect_right(ends, match.start())] += 1
    if "\r\n" in text or max(widths) > per_part:
        atoms = [
            piece
            for cluster in atoms
            for piece in (cluster if cluster == "\r\n" or _ucs2_width(cluster) > per_part else [cluster])
        ]
        widths = [_ucs2_width(atom) for atom in atoms]
    return atoms, widths


def _cuts(widths: list[int], per_part: int) -> list[int]:
    """Greedy filling: the atom index each part after the first starts at."""
    reach = list(accumulate(widths, initial=0))  # reach[i]: the units of atoms[:i]
    cuts: list[int] = []
    start = 0
    while reach[-1] - reach[start] > per_part:
        start = bisect_right(reach, reach[start] + per_part) - 1  # every atom fits a part: start moves on
        cuts.append(start)
    return cuts


def _segmentation(text: str) -> tuple[str, int, list[str], list[int]]:
    """(encoding, units, atoms, cuts) of `text`; no cuts when it fits one segment."""
    encoding = _encoding(text)
    single, per_part = _LIMITS[encoding]
    units = len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION) if encoding == GSM7 else _ucs2_width(text)
    if units <= single:  # one segment: no need to find the atoms
        return encoding, units, [text], []
    atoms, widths = _gsm7_atoms(text) if encoding == GSM7 else _ucs2_atoms(text, per_part)
    return encoding, units, atoms, _cuts(widths, per_part)


def split(text: str) -> list[str]:
    """The parts as they would be sent; ``"".join(split(t)) == t``."""
    _, _, atoms, cuts = _segmentation(text)
    bounds = [0, *cuts, len(atoms)]
    return ["".join(atoms[begin:end]) for begin, end in itertools.pairwise(bounds)]


def segment(text: str) -> Segmentation:
    encoding, units, _, cuts = _segmentation(text)
    return Segmentation(encoding, len(cuts) + 1, units)


def smart_encode(text: str) -> str:
    """Replace well-known Unicode look-alikes with GSM-7 characters."""
    return text.translate(_SMART_TABLE)
