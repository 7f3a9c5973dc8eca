"""Regenerate expected.json: Twilio's segment calculator's counts for the corpus texts.

    python tests/data/segments/make_expected.py CALCULATOR_JS

CALCULATOR_JS is docs/scripts/segmentsCalculator.js of a checkout of
github.com/TwilioDevEd/message-segment-calculator (the browser build of the npm
package sms-segments-calculator; not part of this repository). Needs node.

A corpus text is `count` consecutive lines of one *.txt file here, from line
`start` on (wrapping round), joined by `separator`. For each candidate text
node runs the calculator twice: as published (`twilio_calculator`: its
grapheme library, grapheme-splitter 1.0.4, follows Unicode 10's rules), and
with its graphemes replaced by today's UAX #29 clusters from the `regex`
package (`twilio_calculator_on_uax29_clusters`: Twilio's own segment building
on the bridge's rule). `code_point_split` is the count of the bridge's rule
before clusters (a part could end between any two code points), for the
record. Kept: every text where the three disagree, and an even sample of the
others.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import regex

HERE = Path(__file__).resolve().parent
MAX_SEGMENTS = 10  # the most issue 24 lets a combined SMS take
SAMPLE = 16  # texts kept per file (and separator) where all counts agree
COUNTS = ("twilio_calculator", "twilio_calculator_on_uax29_clusters", "code_point_split")

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("\f^{}\\[~]|€")

ABOUT = "SMS segment counts of texts built from the *.txt files here, by Twilio's calculator: see make_expected.py"

# Runs the calculator on each text of stdin's JSON list [[text, uax29_clusters], ...].
NODE_SCRIPT = r"""
const fs = require('fs'), vm = require('vm');
const context = {};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8') + ';this.SM = SegmentedMessage;', context);
const SM = context.SM.SegmentedMessage || context.SM;
const out = JSON.parse(fs.readFileSync(0, 'utf8')).map(([text, clusters]) => {
  const message = new SM(text);
  const published = message.segmentsCount;
  message.graphemes = clusters;
  message.encodedChars = message._encodeChars(clusters);
  message.segments = message._buildSegments(message.encodedChars);
  return [message.encodingName, published, message.segmentsCount];
});
process.stdout.write(JSON.stringify(out));
"""


def lines_of(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]


def uax29_clusters(text: str) -> list[str]:
    clusters: list[str] = []
    for cluster in regex.findall(r"\X", text):
        clusters.extend(["\r", "\n"] if cluster == "\r\n" else [cluster])
    return clusters


def code_point_segments(text: str) -> int:
    gsm = all(ch in GSM7 or ch in GSM7_EXTENSION for ch in text)
    widths = [(2 if ch in GSM7_EXTENSION else 1) if gsm else len(ch.encode("utf-16-le")) // 2 for ch in text]
    single, per_part = (160, 153) if gsm else (70, 67)
    if sum(widths) <= single:
        return 1
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts


def candidates(name: str, lines: list[str], separator: str) -> list[dict[str, object]]:
    found = []
    for start in range(len(lines)):
        for count in range(1, len(lines) + 1):
            text = separator.join(lines[(start + i) % len(lines)] for i in range(count))
            if code_point_segments(text) > MAX_SEGMENTS:
                break
            found.append({"file": name, "start": start, "count": count, "separator": separator, "text": text})
    return found


def main(calculator_js: str) -> None:
    texts = []
    for path in sorted(HERE.glob("*.txt")):
        separators = ["\n", "\r\n"] if path.name in {"emoji.txt", "latin.txt", "combining.txt"} else ["\n"]
        for separator in separators:
            texts.append(candidates(path.name, lines_of(path), separator))
    flat = [entry for group in texts for entry in group]
    request = json.dumps([[e["text"], uax29_clusters(str(e["text"]))] for e in flat])
    result = subprocess.run(
        ["node", "-e", NODE_SCRIPT, calculator_js], input=request, capture_output=True, text=True, check=True
    )
    for entry, (encoding, published, on_uax29) in zip(flat, json.loads(result.stdout), strict=True):
        text = str(entry.pop("text"))
        entry["encoding"] = encoding
        entry["units"] = (
            sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
            if encoding == "GSM-7"
            else len(text.encode("utf-16-le")) // 2
        )
        entry.update(
            twilio_calculator=published,
            twilio_calculator_on_uax29_clusters=on_uax29,
            code_point_split=code_point_segments(text),
        )
    kept = []
    for group in texts:
        differ = [e for e in group if len({e[key] for key in COUNTS}) > 1]
        agree = [e for e in group if e not in differ]
        step = max(1, len(agree) // SAMPLE)
        kept += differ + agree[::step][:SAMPLE]
    rows = ",\n".join(json.dumps(entry, ensure_ascii=False) for entry in kept)
    (HERE / "expected.json").write_text(f'{{"about": {json.dumps(ABOUT)},\n"texts": [\n{rows}\n]}}\n', encoding="utf-8")
    print(f"{len(kept)} texts of {len(flat)} candidates")


if __name__ == "__main__":
    main(sys.argv[1])
