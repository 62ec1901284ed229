"""The same metadata code on PostgreSQL: a configuration change, not a code change.

Runs when SOHOA_TEST_DATABASE_URL points at a PostgreSQL database (.ci/run starts one).
"""

from __future__ import annotations

import os

from sohoa import pipeline, registry
from sohoa.config import Settings
from sohoa.services import build_services

from .conftest import tool_missing
from .docs import card_png
from .test_cli import REGISTRY

URL = os.environ.get("SOHOA_TEST_DATABASE_URL")


def test_pipeline_and_registry_on_postgres(tmp_path) -> None:
    from sqlalchemy import text

    if not URL:
        tool_missing("SOHOA_TEST_DATABASE_URL is not set (scripts/start-postgres)")

    svc = build_services(Settings(data_dir=tmp_path / "d", database_url=URL))
    with svc.sessions() as s, s.begin():  # a clean slate: the database outlives one test run
        s.execute(text("TRUNCATE documents, files, batches, registry, audit_log"))
    report = registry.import_csv(REGISTRY, svc.sessions, "r.csv")
    assert (report.inserted, len(report.rejected)) == (1, 1)
    batch = pipeline.create_batch(svc, "PG")
    [fid] = pipeline.receive(svc, batch, "card.png", card_png())
    [res] = pipeline.process_file(svc, fid)
    assert res.doc_type == "cccd" and res.verification.status == "match"
    assert pipeline.get_result(svc, res.result_code).fields == res.fields
    assert [r.result_code for r in pipeline.search(svc, "hong nhung")] == [res.result_code]
    # identical bytes again: no second document
    [fid2] = pipeline.receive(svc, batch, "again.png", card_png())
    assert [r.result_code for r in pipeline.process_file(svc, fid2)] == [res.result_code]
