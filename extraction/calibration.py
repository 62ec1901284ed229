"""Field confidence as a probability of being right, and the review threshold that goes with it.

The parsers score each field from OCR word confidences, label matches, repairs and checks; those
scores rank fields well but are not probabilities (a name at 0.85 is wrong far more often than an
id number at 0.85, whose structure was checked). `bench/calibrate.py` runs the pipeline on a
generated corpus, pairs every field with the truth and fits, per kind of field, a monotone map
from score to the observed share of right fields (isotonic regression). It also picks the
threshold under which a field is shown to a person, as the highest probability that still keeps
review recall (the share of wrong fields flagged) at the target on that corpus.

The fitted maps live in `calibration.json` beside this module, with what they were fitted on.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from extraction.kinds import field_kind

DEFAULT_PATH = Path(__file__).with_name("calibration.json")

CARDS = {"cccd", "cccd_back", "cmnd"}


def paper(doc_type: str | None) -> str:
    """Cards (small print on security backgrounds) fail differently from A4 papers."""
    return "card" if doc_type in CARDS else "page"


class Curve(BaseModel):
    """A non-decreasing step map, evaluated by linear interpolation between its knots."""

    x: list[float]
    y: list[float]
    n: int  # fields it was fitted on
    wrong: int  # of which wrong

    def __call__(self, score: float) -> float:
        return float(np.interp(score, self.x, self.y))


class Calibration(BaseModel):
    fitted_on: str = ""  # corpus and command that produced it
    threshold: float = 0.8  # a field whose probability is below this is shown to a person
    curves: dict[str, Curve] = Field(default_factory=dict)

    def probability(self, field: str, score: float, doc_type: str | None = None) -> float:
        """The most specific map fitted: paper and kind ("card.name"), kind ("name"), or all."""
        kind = field_kind(field)
        curve = (self.curves.get(f"{paper(doc_type)}.{kind}") or self.curves.get(kind)
                 or self.curves.get("all"))
        return round(curve(score), 3) if curve else score


def isotonic(scores: list[float], ok: list[bool], prior: float = 1.0) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators fit of P(ok | score), non-decreasing in score. Each pooled block
    is shrunk towards one half by `prior` pseudo-fields, so a block of five right fields says
    0.86, not a certainty."""
    order = np.argsort(scores, kind="stable")
    blocks: list[list[float]] = []  # [sum ok, count, min score, max score]
    for i in order:
        blocks.append([float(ok[i]), 1.0, scores[i], scores[i]])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, c, _, hi = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
            blocks[-1][3] = hi
    xs, ys = [], []
    for s, c, lo, hi in blocks:
        p = (s + prior) / (c + 2 * prior)
        xs += [lo, hi] if hi > lo else [lo]
        ys += [p, p] if hi > lo else [p]
    # Shrinking can break monotony between small blocks; the running maximum restores it.
    return xs, list(np.maximum.accumulate(ys))


def fit(records: list[dict], recall_target: float = 0.95, min_wrong: int = 10, fitted_on: str = "") -> Calibration:
    """records: {"field", "confidence" (raw score, None when the field was not read), "ok",
    "got_type" (the doc type the pipeline gave the paper)}.
    A kind with fewer than `min_wrong` wrong fields read uses the map fitted on all fields: with
    no errors to learn from, its own map would be flat and call every score certain."""
    read = [r for r in records if r["confidence"] is not None]
    curves: dict[str, Curve] = {}
    groups: dict[str, list[dict]] = {"all": read}
    for r in read:
        kind = field_kind(r["field"])
        groups.setdefault(kind, []).append(r)
        groups.setdefault(f"{paper(r.get('got_type'))}.{kind}", []).append(r)
    for kind, rows in groups.items():
        if kind != "all" and sum(not r["ok"] for r in rows) < min_wrong:
            continue
        x, y = isotonic([r["confidence"] for r in rows], [r["ok"] for r in rows])
        curves[kind] = Curve(x=x, y=y, n=len(rows), wrong=sum(not r["ok"] for r in rows))
    cal = Calibration(fitted_on=fitted_on, curves=curves)
    cal.threshold = pick_threshold(cal, records, recall_target)
    return cal


def pick_threshold(cal: Calibration, records: list[dict], recall_target: float) -> float:
    """The lowest threshold whose review recall on `records` reaches the target (fewest right
    fields flagged). Fields not read count as wrong and are always flagged."""
    wrong = [r for r in records if not r["ok"]]
    if not wrong:
        return 0.5
    probs = sorted({cal.probability(r["field"], r["confidence"], r.get("got_type"))
                    for r in wrong if r["confidence"] is not None})
    for t in [p + 1e-3 for p in probs] + [1.0]:
        caught = sum(r["confidence"] is None or cal.probability(r["field"], r["confidence"], r.get("got_type")) < t
                     for r in wrong)
        if caught / len(wrong) >= recall_target:
            return round(t, 3)
    return 1.0


@lru_cache(maxsize=4)
def load(path: Path = DEFAULT_PATH) -> Calibration:
    """The fitted calibration; the identity (scores as they are, threshold 0.8) when none was fitted."""
    if not path.exists():
        return Calibration()
    return Calibration.model_validate(json.loads(path.read_text(encoding="utf-8")))
