"""Finding printed labels in OCR lines and reading the values that follow them.

Labels are matched fuzzily on folded text with everything but letters and digits removed, so
"Giớiính/Sex", "Hộ và tên / Full name;" and "Ngay, thang, nam sinh" all match their label.
A value is the text after the label (and after its colon) up to the next label on the same
line, or else the following line(s) up to the next line that holds a label.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from extraction.mrz import looks_like_mrz
from extraction.normalize import clean_value, fold_char, nfc
from sohoa.models import OcrLine, PageText


@dataclass(frozen=True)
class Label:
    key: str  # the field it introduces, or a name starting with "_" for labels that only end values
    variants: tuple[str, ...]  # printed forms, Vietnamese first (and bilingual forms)
    english: tuple[str, ...] = ()  # the English half of a bilingual label, after a "/"
    min_score: float | None = None  # 0..100; default depends on the label's length
    pattern: str | None = None  # a regex on the folded line instead of fuzzy matching (very short labels)
    noise: bool = False  # printed text that is no field (titles, motto): lines of it are skipped


def compact(text: str) -> tuple[str, list[int]]:
    """Folded text of letters and digits only, and for each of its characters its index in `text`."""
    chars: list[str] = []
    index: list[int] = []
    for i, c in enumerate(text):
        f = fold_char(c)
        if f and f.isalnum():
            chars.append(f)
            index.append(i)
    return "".join(chars), index


def _threshold(n: int) -> float:
    if n >= 14:
        return 80.0
    if n >= 9:
        return 84.0
    if n >= 6:
        return 87.0
    return 100.0


@dataclass
class Line:
    text: str
    confidence: float
    words: list[tuple[int, int, float]] = field(default_factory=list)  # (start, end, confidence) in text
    compact: str = ""
    index: list[int] = field(default_factory=list)
    folded: str = ""  # same length as text, so regex offsets apply to both

    def __post_init__(self) -> None:
        self.text = nfc(self.text)
        self.compact, self.index = compact(self.text)
        self.folded = "".join(fold_char(c) or " " for c in self.text)

    @classmethod
    def from_ocr(cls, ocr: OcrLine) -> Line:
        """A line with the confidence of each of its words placed on the line's text."""
        text = nfc(ocr.text)
        words: list[tuple[int, int, float]] = []
        pos = 0
        for w in ocr.words:
            wt = nfc(w.text).strip()
            at = text.find(wt, pos) if wt else -1
            if at < 0:
                continue
            words.append((at, at + len(wt), w.confidence))
            pos = at + len(wt)
        return cls(text, ocr.confidence, words)

    def span_confidences(self, start: int, end: int) -> list[float]:
        """OCR confidence of each word in text[start:end]: a value read well keeps its
        confidence even when OCR garbled the label beside it on the same line."""
        confs = [
            c for ws, we, c in self.words
            if any(ch.isalnum() for ch in self.text[max(ws, start) : min(we, end)])
        ]
        return confs or [self.confidence]

    def span_confidence(self, start: int, end: int) -> float:
        confs = self.span_confidences(start, end)
        return sum(confs) / len(confs)


@dataclass
class Hit:
    label: Label
    line: int
    start: int  # character offsets of the label in the line's text
    end: int
    value_start: int
    score: float  # 0..1
    variant: str

    @property
    def key(self) -> str:
        return self.label.key


@dataclass
class Piece:
    line: int
    text: str  # cleaned
    start: int  # where it was taken from in the line's text
    end: int


@dataclass
class Value:
    parts: list[str]  # one string a line, cleaned
    lines: list[int]
    confidence: float  # mean OCR confidence of the words the value came from
    label_score: float  # how well the label matched, 0..1 (1 when no label was needed)
    # The least sure of those words: one misread word in a long address hardly moves the mean.
    min_confidence: float | None = None

    @property
    def text(self) -> str:
        return " ".join(self.parts)


def _best_window(variant: str, comp: str, starts: Iterable[int]) -> tuple[float, int, int]:
    n = len(variant)
    best = (0.0, 0, 0)
    for s in starts:
        if s < 0 or s >= len(comp):
            continue
        # A line may be shorter than the label when OCR dropped a word of it ("Nơi trú").
        for e in range(max(s + 1, min(s + n - 3, len(comp))), min(len(comp), s + n + 3) + 1):
            score = fuzz.ratio(variant, comp[s:e])
            if score > best[0]:
                best = (score, s, e)
    return best


def _word_start(line: Line, s: int) -> bool:
    begin = line.index[s]
    return begin == 0 or not line.text[begin - 1].isalnum()


def _word_end(line: Line, e: int) -> bool:
    last = line.index[e - 1]
    return last + 1 >= len(line.text) or not line.text[last + 1].isalnum()


def _snap(variant: str, line: Line, score: float, s: int, e: int) -> tuple[float, int, int]:
    """Among windows nearly as good as the best, prefer one on word boundaries: "Có giá trị
    đết Tổ 5" should lose "đết", not leave its "t" to the value."""
    if score <= 0 or (_word_start(line, s) and _word_end(line, e)):
        return score, s, e
    comp = line.compact
    best: tuple[float, int, int] | None = None
    for s2 in range(max(0, s - 1), min(len(comp) - 1, s + 1) + 1):
        for e2 in range(max(s2 + 1, e - 2), min(len(comp), e + 2) + 1):
            if not (_word_start(line, s2) and _word_end(line, e2)):
                continue
            r = fuzz.ratio(variant, comp[s2:e2])
            if r >= score - 6 and (best is None or r > best[0]):
                best = (r, s2, e2)
    return best or (score, s, e)


def _match(label: Label, variant: str, line: Line, variant_commas: int = 0) -> tuple[float, int, int] | None:
    """Best fuzzy occurrence of one variant (compact form) in a line: (score 0..100, start, end)
    in compact characters. `variant_commas`: how many commas the printed label has."""
    comp = line.compact
    if not comp:
        return None
    threshold = label.min_score if label.min_score is not None else _threshold(len(variant))
    rough = fuzz.partial_ratio_alignment(variant, comp, score_cutoff=max(0.0, threshold - 12))
    if rough is None:
        return None
    start = rough.dest_start if len(variant) <= len(comp) else 0
    found = _best_window(variant, comp, range(start - 2, start + 3))
    score, s, e = _snap(variant, line, *found)
    if score < threshold:
        return None
    # A printed label starts and ends on word boundaries; a loose match that cuts words is
    # more likely a piece of a value ("Phường Uyên Hưng" is not "Nguyên quán").
    begin, last = line.index[s], line.index[e - 1]
    cut_start = begin > 0 and line.text[begin - 1].isalnum()
    cut_end = last + 1 < len(line.text) and line.text[last + 1].isalnum()
    if (cut_start or cut_end) and score < 95:
        return None
    # Addresses are comma-separated: a match spanning a comma the label lacks is an address;
    # a colon ends a label, so a match across one runs into the value ("tên: NGUYỄN" is not
    # "tên người mẹ").
    span = line.text[begin : last + 1]
    if span.count(",") > variant_commas or ":" in span:
        return None
    # A short label matched loosely must look like a label: first on its line or before a colon.
    if len(variant) <= 9 and score < 95:
        first = not any(c.isalnum() for c in line.text[:begin])
        colon = re.match(r"\W{0,3}[:;/]", line.text[last + 1 :])
        if not (first or colon):
            return None
    return score, s, e


def _value_start(label: Label, line: Line, end: int) -> tuple[int, int]:
    """Where the value begins after a label ending at `end`: skips the English half of a
    bilingual label and the colon. Returns (label end, value start)."""
    text = line.text
    rest = text[end:]
    slash = re.match(r"\s*/\s*", rest)
    if slash and label.english:
        after = end + slash.end()
        comp, index = compact(text[after:])
        best = 0.0, 0
        for en in label.english:
            score, _, e = _best_window(en, comp, [0])
            # The English half may be cut off at the end of the line ("/ Plaoe").
            if 4 <= len(comp) < len(en):
                prefix = fuzz.ratio(en[: len(comp)], comp)
                if prefix > score:
                    score, e = prefix, len(comp)
            if score > best[0]:
                best = score, e
        if best[0] >= 70 and best[1] > 0:
            end = after + index[best[1] - 1] + 1
    colon = re.match(r"[^\w:;]{0,3}\w{0,3}[^\w:;]{0,2}[:;]", text[end:])
    if colon is None and text[end:].lstrip().startswith("/"):
        colon = re.match(r"[^:;]{0,40}[:;]", text[end:])
    start = end + colon.end() if colon else end
    while start < len(text) and text[start] in " \t:;.,|/_-~":
        start += 1
    return end, start


def _meaningful(text: str) -> bool:
    return sum(c.isalpha() for c in text) >= 2


class Doc:
    """The lines of one document and the labels found in them."""

    def __init__(self, lines: Sequence[Line], labels: Sequence[Label]):
        self.lines = list(lines)
        self.labels = list(labels)
        self.hits: list[Hit] = []
        for i, line in enumerate(self.lines):
            self.hits.extend(self._line_hits(i, line))
        self.hits.sort(key=lambda h: (h.line, h.start))

    def _line_hits(self, i: int, line: Line) -> list[Hit]:
        found: list[Hit] = []
        for label in self.labels:
            if label.pattern:
                m = re.search(label.pattern, line.folded)
                if m:
                    end, value_start = _value_start(label, line, m.end())
                    found.append(Hit(label, i, m.start(), end, value_start, 1.0, label.key))
                continue
            for variant in label.variants:
                v = compact(variant)[0]
                m = _match(label, v, line, variant.count(","))
                if m is None:
                    continue
                score, s, e = m
                start, end = line.index[s], line.index[e - 1] + 1
                end, value_start = _value_start(label, line, end)
                found.append(Hit(label, i, start, end, value_start, score / 100, v))
        # Where hits overlap, the one that explains more of the line wins (score x length):
        # "Họ, chữ đệm, tên người cha" over "Họ, chữ đệm, tên", "Nơi trú / Place of
        # residence" over "Place of residence", but not a poor match of a longer label.
        found.sort(key=lambda h: (-h.score * len(h.variant), -h.score))
        kept: list[Hit] = []
        for h in found:
            if not any(h.start < k.end and k.start < h.end for k in kept):
                kept.append(h)
        return kept

    # ------------------------------------------------------------------ queries
    def find(self, key: str) -> list[Hit]:
        return [h for h in self.hits if h.key == key]

    def has(self, key: str) -> bool:
        return any(h.key == key for h in self.hits)

    def _next_hit_on_line(self, hit: Hit) -> Hit | None:
        later = [h for h in self.hits if h.line == hit.line and h.start >= hit.end]
        return min(later, key=lambda h: h.start) if later else None

    def same_line(self, hit: Hit) -> Piece:
        nxt = self._next_hit_on_line(hit)
        stop = nxt.start if nxt else len(self.lines[hit.line].text)
        text = clean_value(self.lines[hit.line].text[hit.value_start : stop], keep_comma=True)
        return Piece(hit.line, text, hit.value_start, stop)

    def following(self, hit: Hit, through: Iterable[str] = (), limit: int = 4) -> list[Piece]:
        """Text of the lines after a label up to the next line with a label. Labels in
        `through` do not end the value (their label text is cut out)."""
        through = set(through)
        out: list[Piece] = []
        for i in range(hit.line + 1, min(len(self.lines), hit.line + 1 + limit)):
            if looks_like_mrz(self.lines[i].text):
                break
            line_hits = [h for h in self.hits if h.line == i]
            if line_hits and all(h.label.noise for h in line_hits):
                continue  # a title or the motto OCR placed among the values
            line_hits = [h for h in line_hits if not h.label.noise]
            text = self.lines[i].text
            stopper = next((h for h in line_hits if h.key not in through), None)
            if stopper is not None:
                before = clean_value(text[: stopper.start])
                if _meaningful(before) and stopper.start > 0 and not [h for h in line_hits if h.start < stopper.start]:
                    out.append(Piece(i, before, 0, stopper.start))
                break
            start = 0
            for h in sorted(line_hits, key=lambda h: -h.start):
                text = text[: h.start] + " " * (h.value_start - h.start) + text[h.value_start :]
                start = h.value_start if h.start == 0 else start
            if clean_value(text):
                out.append(Piece(i, clean_value(text, keep_comma=True), start, len(text)))
        return out

    def value(
        self,
        key: str,
        *,
        lines: int = 1,
        accept: Callable[[str], bool] | None = None,
        through: Iterable[str] = (),
        look_ahead: int = 2,
        after: int = -1,
    ) -> Value | None:
        """The value of the first occurrence of a label whose value is readable.

        lines: how many lines a multi-line value may take (addresses); a single-line value
        is taken from the label's own line or, when that is empty, from the next line(s).
        accept: a test the value text must pass (it parses as a date, holds 12 digits...).
        after: only labels on lines after this one (a section's own "Họ và tên").
        """
        for hit in self.find(key):
            if hit.line <= after:
                continue
            same = self.same_line(hit)
            below = self.following(hit, through=through, limit=max(lines, look_ahead) + 2)
            pieces = ([same] if same.text else []) + below
            if lines > 1:
                chosen = pieces[:lines]
                if chosen and (accept is None or accept(" ".join(p.text for p in chosen))):
                    return self.make_value(chosen, hit.score)
                continue
            for piece in pieces[: 1 + look_ahead if accept else 1]:
                if accept is None or accept(piece.text):
                    return self.make_value([piece], hit.score)
        return None

    def make_value(self, pieces: list[Piece], label_score: float) -> Value:
        conf = sum(self.lines[p.line].span_confidence(p.start, p.end) for p in pieces) / len(pieces)
        least = min(min(self.lines[p.line].span_confidences(p.start, p.end)) for p in pieces)
        return Value([p.text for p in pieces], [p.line for p in pieces], conf, label_score, least)

    def line_value(self, i: int, label_score: float, start: int = 0, end: int | None = None,
                   text: str | None = None) -> Value:
        """A value taken from line i (text[start:end], or `text` as found there) without a label."""
        line = self.lines[i]
        end = len(line.text) if end is None else end
        shown = clean_value(line.text[start:end]) if text is None else text
        return self.make_value([Piece(i, shown, start, end)], label_score)


def lines_of(pages: Sequence[PageText]) -> list[Line]:
    out: list[Line] = []
    for page in pages:
        for ocr in page.lines:
            if ocr.text.strip():
                out.append(Line.from_ocr(ocr))
    return out


def text_lines(texts: Iterable[OcrLine | str], confidence: float = 1.0) -> list[Line]:
    return [
        Line.from_ocr(t) if isinstance(t, OcrLine) else Line(t, confidence)
        for t in texts
        if (t.text if isinstance(t, OcrLine) else t).strip()
    ]
