"""Administrative letter (công văn) in the Decree 30/2020 layout.

The fields have no labels, only places: the authority block top left, "Số: .../..." under it,
"<place>, ngày .. tháng .. năm ...." top right, the "V/v ..." summary under the number, and
the signer's name at the bottom of the signature block. OCR often merges the left and right
columns of the header into one line, so the motto and the date are cut out of header lines.
"""

from __future__ import annotations

import re

from extraction.fields import Draft
from extraction.labels import Doc, Line, Piece, Value
from extraction.names import looks_like_name
from extraction.normalize import clean_value, find_date, norm_name, squash
from extraction.parsers.common import REPAIRED, label
from extraction.places import odd_words
from extraction.vocab import AUTHORITY_WORDS, restore

FIELDS = ["issuing_authority", "document_number", "issue_date", "subject", "signer"]
HEADER_LINES = 20
AMBIGUOUS_NUMBER = 0.6  # "181I/..." : the reviewer must say whether I is a 1 or debris

LABELS = [
    label("_motto", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"),
    label("_to", "Kính gửi"),
    label("_recipients", "Nơi nhận"),
]

_NUMBER = re.compile(r"(?<!\w)s[o0]\s*[:;.]?\s*([0-9oil]{1,6})\s*/\s*([0-9a-z][0-9a-z\-./]*)")
_SUBJECT = re.compile(r"(?<!\w)v\s*[/|l1]\s*[vy]\b\W*")
_DATE_WORDS = re.compile(r"ng\w{0,2}y\W{0,3}\S{1,3}\W{0,3}th\w{1,3}g")
# The signing authority's title; printed in capitals, which tells it from a mention in the body.
_SIGNING = re.compile(
    r"(?<!\w)((kt|tm|tl|ttl|q)\s*\.\s*\w+|(pho\s+)?(chu tich|giam doc|thu truong|bo truong|chanh van phong|"
    r"cuc truong|truong phong|vien truong|hieu truong|tong giam doc|truong ban))(?!\w)"
)


def _number(doc: Doc) -> tuple[str, Value, float] | None:
    """("181/UBND-KSTTHC", where it was read, quality) of the letter's number."""
    for i, line in enumerate(doc.lines[:HEADER_LINES]):
        m = _NUMBER.search(line.folded)
        if m is None:
            continue
        digits = line.text[m.start(1) : m.end(1)].replace("O", "0").replace("o", "0")
        rest = re.sub(r"\s+", "", line.text[m.start(2) : m.end(2)]).rstrip(".-/")
        quality = 1.0 if digits.isdigit() else AMBIGUOUS_NUMBER
        value = f"{digits}/{rest.upper()}"
        return value, doc.line_value(i, 1.0, m.start(1), m.end(2), text=value), quality
    return None


def _left_column(doc: Doc, i: int) -> tuple[str, int]:
    """A header line without the motto or the place and date of the right column, and where
    that left part ends."""
    text = doc.lines[i].text
    cuts = [h.start for h in doc.hits if h.line == i and h.key == "_motto"]
    m = _DATE_WORDS.search(doc.lines[i].folded)
    if m:
        place = text.rfind(",", 0, m.start())
        cuts.append(text.rfind(" ", 0, place) + 1 if place > 0 else m.start())
    end = min(cuts) if cuts else len(text)
    return clean_value(text[:end]), end


def _authority(doc: Doc, end: int) -> Value | None:
    pieces = []
    for i in range(end):
        text, stop = _left_column(doc, i)
        letters = [c for c in text if c.isalpha()]
        if len(letters) < 3 or sum(c.isupper() for c in letters) < 0.7 * len(letters):
            continue
        if odd_words(text) * 2 > len(text.split()):
            continue  # debris of the page's edge or of a stamp, not words of a name
        pieces.append(Piece(i, text, 0, stop))
    if not pieces:
        return None
    v = doc.make_value(pieces, 1.0)
    restored = [restore(p, AUTHORITY_WORDS) for p in v.parts]
    v.parts = [squash(" ".join(text for text, _ in restored))]
    if any(changed for _, changed in restored):
        v.confidence *= REPAIRED
    return v


def _issue_date(doc: Doc) -> tuple[str, Value] | None:
    for i, line in enumerate(doc.lines[:HEADER_LINES]):
        m = _DATE_WORDS.search(line.folded)
        if m:
            found = find_date(line.text[m.start():])
            if found:
                return found[0], doc.line_value(i, 1.0, m.start(), m.start() + found[2], text=found[0])
    return None


def _subject(doc: Doc) -> Value | None:
    for i, line in enumerate(doc.lines[:HEADER_LINES]):
        m = _SUBJECT.search(line.folded)
        if m is None:
            continue
        pieces = [Piece(i, line.text[m.end():], m.end(), len(line.text))]
        for j in range(i + 1, min(len(doc.lines), i + 4)):
            nxt = doc.lines[j]
            if any(h.line == j for h in doc.hits) or len(nxt.text) > 90 or find_date(nxt.text):
                break
            if _NUMBER.search(nxt.folded) or _DATE_WORDS.search(nxt.folded):
                break
            pieces.append(Piece(j, nxt.text, 0, len(nxt.text)))
        text = squash(" ".join(clean_value(p.text) for p in pieces)).rstrip(" .;,:")
        if not text:
            return None
        v = doc.make_value(pieces, 1.0)
        v.parts = [f"V/v {text}"]
        return v
    return None


def _trailing_name(text: str) -> str | None:
    words = clean_value(text).split()
    for n in (4, 3, 2, 5):
        if len(words) >= n and looks_like_name(" ".join(words[-n:])):
            return " ".join(words[-n:])
    return None


def _signer(doc: Doc) -> Value | None:
    titles = [
        i for i, line in enumerate(doc.lines)
        if any(line.text[m.start():m.end()].isupper() for m in _SIGNING.finditer(line.folded))
    ]
    if titles:
        for j in range(titles[-1] + 1, min(len(doc.lines), titles[-1] + 7)):
            if looks_like_name(clean_value(doc.lines[j].text)):
                return doc.line_value(j, 1.0)
        for j in range(titles[-1] + 1, min(len(doc.lines), titles[-1] + 7)):
            name = _trailing_name(doc.lines[j].text)
            if name:
                at = doc.lines[j].text.rfind(name)
                return doc.line_value(j, 0.6, at, at + len(name), text=name)
    # No signing title read: the last name-like line of the letter, at low confidence.
    for j in range(len(doc.lines) - 1, max(-1, len(doc.lines) - 8), -1):
        if looks_like_name(clean_value(doc.lines[j].text)):
            return doc.line_value(j, 0.0)
    return None


def parse(lines: list[Line]) -> Draft:
    doc = Doc(lines, LABELS)
    d = Draft("official_letter", list(FIELDS))
    number = _number(doc)
    if number is not None:
        value, source, quality = number
        d.put("document_number", value, source, quality=quality)
    end = source.lines[0] if number else min(4, len(lines))
    authority = _authority(doc, end)
    if authority is not None:
        d.put("issuing_authority", authority.text, authority)
    date = _issue_date(doc)
    if date is not None:
        d.put("issue_date", date[0], date[1])
    subject = _subject(doc)
    if subject is not None:
        d.put("subject", subject.text, subject)
    signer = _signer(doc)
    if signer is not None:
        d.put("signer", norm_name(signer.text), signer)
    return d
