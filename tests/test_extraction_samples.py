"""Every sample document's printed text gives exactly the expected type and fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extraction.extract import extract
from extraction.testing import page_from_text

TRUTH = Path("/work/shared/samples/truth.jsonl")


def _samples() -> list[dict]:
    if not TRUTH.exists():
        return []
    return [json.loads(line) for line in TRUTH.read_text(encoding="utf-8").splitlines() if line.strip()]


SAMPLES = _samples()


@pytest.mark.parametrize(
    "sample", SAMPLES or [None], ids=[f"{s['file']}{s.get('pages') or ''}" for s in SAMPLES] or ["absent"]
)
def test_sample_text_gives_expected_fields(sample: dict | None) -> None:
    if sample is None:
        pytest.skip(f"{TRUTH} is not available")
    result = extract([page_from_text(sample["text"], confidence=0.95)])
    assert result.doc_type == sample["doc_type"]
    assert result.fields == sample["fields"]
    assert result.missing == []
    assert not result.needs_review, (result.confidence, result.checks)
    assert all(c.ok for c in result.checks)
