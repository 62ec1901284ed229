"""Field-confidence calibration: monotone maps from raw score to the share of right fields."""

from __future__ import annotations

import random
from pathlib import Path

from extraction.calibration import DEFAULT_PATH, Calibration, fit, isotonic, load
from extraction.fields import Draft


def test_isotonic_is_monotone_and_shrunk() -> None:
    xs, ys = isotonic([0.1, 0.2, 0.3, 0.9, 0.95], [False, True, False, True, True])
    assert ys == sorted(ys)
    assert 0 < ys[0] and ys[-1] < 1  # five fields never make a certainty


def _records(n: int, seed: int) -> list[dict]:
    """Fields whose chance of being right is their score: what a good parser produces."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        score = rng.random()
        out.append({"field": rng.choice(["full_name", "date_of_birth", "place_of_residence"]),
                    "confidence": score, "ok": rng.random() < score, "got_type": "cccd"})
    return out


def test_fit_reaches_the_recall_target_on_unseen_fields() -> None:
    cal = fit(_records(3000, 1), recall_target=0.95)
    test = _records(3000, 2)
    wrong = [r for r in test if not r["ok"]]
    caught = sum(cal.probability(r["field"], r["confidence"], "cccd") < cal.threshold for r in wrong)
    assert caught / len(wrong) > 0.9
    # and the probabilities mean what they say: fields called ~0.5 are right about half the time
    mid = [r["ok"] for r in test if 0.4 < cal.probability(r["field"], r["confidence"], "cccd") < 0.6]
    assert mid and 0.35 < sum(mid) / len(mid) < 0.65


def test_unread_fields_count_as_caught() -> None:
    records = _records(500, 3) + [{"field": "full_name", "confidence": None, "ok": False}] * 50
    cal = fit(records, recall_target=0.95)
    assert 0 < cal.threshold <= 1


def test_kind_without_enough_errors_uses_the_overall_map() -> None:
    records = _records(2000, 4) + [{"field": "sex", "confidence": 0.2, "ok": True}] * 30
    cal = fit(records, min_wrong=10)
    assert "choice" not in cal.curves and "card.choice" not in cal.curves
    assert cal.probability("sex", 0.2, "cccd") == cal.curves["all"](0.2).__round__(3)


def test_missing_file_is_the_identity(tmp_path: Path) -> None:
    cal = load(tmp_path / "none.json")
    assert cal.probability("full_name", 0.42) == 0.42 and cal.threshold == 0.8


def test_packaged_calibration_is_used_by_drafts() -> None:
    cal = load(DEFAULT_PATH)
    assert cal.curves, "extraction/calibration.json is fitted by bench/calibrate.py"
    for curve in cal.curves.values():
        assert curve.y == sorted(curve.y) and all(0 < y < 1 for y in curve.y)
    d = Draft("cccd", ["full_name"])
    d.put_conf("full_name", "Nguyễn Văn An", 0.3)
    ex = d.extraction(cal)
    assert ex.confidence["full_name"] == cal.probability("full_name", 0.3, "cccd")
    assert ex.needs_review == (ex.confidence["full_name"] < cal.threshold)
    assert d.extraction(Calibration(threshold=0.2)).needs_review is False  # raw 0.3 over a 0.2 threshold


def test_settings_choose_the_calibration(tmp_path: Path) -> None:
    from sohoa.config import Settings
    from sohoa.services import build_services

    raw = build_services(Settings(data_dir=tmp_path / "a", calibrate=False)).calibration
    assert raw.curves == {} and raw.probability("full_name", 0.42) == 0.42
    fitted = build_services(Settings(data_dir=tmp_path / "b")).calibration
    assert fitted.curves
    stricter = build_services(Settings(data_dir=tmp_path / "c", review_threshold=0.97)).calibration
    assert stricter.threshold == 0.97 and stricter.curves == fitted.curves
