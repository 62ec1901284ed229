"""Dossier codes in the national format (Circular 01/2018/TT-VPCP Art. 19) and dossier tracking:
the public status lookup, which must say nothing personal, and the staff view."""

from __future__ import annotations

import threading
from datetime import date
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from api import keys
from api.main import create_app
from sohoa import chain, dossiers, pipeline
from sohoa.config import Settings
from sohoa.provenance import now_vn
from storage.db import BatchRow, FileRow

from .docs import card_lines, text_pdf

H = {"X-API-Key": "test-key", "X-Purpose": "test"}
CODE = "000.00.15.H42-261120-0007"
TODAY = date(2026, 11, 26)


# ============================================================================ the code itself
def test_a_national_dossier_code_is_read_into_its_parts() -> None:
    code = dossiers.parse(" 000.00.15.H42-261120-0007 ", today=TODAY)
    assert (code.unit, code.received, code.seq) == ("000.00.15.H42", date(2026, 11, 20), 7)
    assert str(code) == "000.00.15.H42-261120-0007"
    assert dossiers.parse("G01.05.02.H29-260101-9999", today=TODAY).seq == 9999  # letters at lower levels


@pytest.mark.parametrize(("code", "named"), [
    ("H42-261120-0007", "unit part"),
    ("000.00.15.42H-261120-0007", "unit part"),
    ("000.00.15.h42-261120-0007", "unit part"),  # the group letter is a capital
    ("000.00.15.H42-261120", "YYMMDD-XXXX"),
    ("000.00.15.H42-261120-07", "YYMMDD-XXXX"),
    ("000.00.15.H42_261120_0007", "unit part"),
    ("000.00.15.H42-261331-0007", "not a date"),
    ("000.00.15.H42-260230-0007", "not a date"),
    ("000.00.15.H42-270101-0007", "future"),
    ("000.00.15.H42-261120-0000", "starts at 0001"),
    ("", "unit part"),
])
def test_a_malformed_code_is_refused_naming_the_part_that_is_wrong(code: str, named: str) -> None:
    with pytest.raises(dossiers.DossierCodeError, match=named):
        dossiers.parse(code, today=TODAY)


def test_the_unit_code_setting_is_checked_at_start() -> None:
    assert Settings(unit_code="000.00.15.H42").unit_code == "000.00.15.H42"
    assert Settings(unit_code="").unit_code is None
    with pytest.raises(ValidationError, match="QCVN 102"):
        Settings(unit_code="H42")


def test_issued_codes_count_up_per_unit_and_day_and_never_repeat_under_concurrency(svc) -> None:
    day = date(2026, 11, 20)

    def issue(unit: str = "000.00.15.H42", on: date = day) -> int:
        with svc.sessions() as s, s.begin():
            return dossiers.issue(s, unit, on).seq

    assert [issue(), issue()] == [1, 2]
    assert issue(on=date(2026, 11, 21)) == 1  # a new day starts again
    assert issue(unit="000.00.16.H42") == 1  # another unit has its own numbers
    got: list[int] = []
    lock = threading.Lock()

    def desk() -> None:
        for _ in range(5):
            n = issue()
            with lock:
                got.append(n)

    threads = [threading.Thread(target=desk) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(3, 23))  # 20 desks' worth, no number twice, none skipped


# ============================================================================ through the API
@pytest.fixture
def client(settings, svc) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services=svc, embedded_worker=False)) as c:
        yield c


def _post(client: TestClient, files: list[tuple[str, bytes]], **data: str):  # noqa: ANN202
    return client.post("/v1/batches", files=[("files", (n, b, "application/pdf")) for n, b in files],
                       data=data, headers=H)


def _process(svc, batch_id: str) -> None:  # noqa: ANN001
    with svc.sessions() as s:
        queued = s.scalars(select(FileRow.id).where(FileRow.batch_id == batch_id, FileRow.state == "queued")).all()
    for fid in queued:
        pipeline.process_file_or_record(svc, fid)


def test_a_batch_carries_its_dossier_code_into_status_and_provenance(client: TestClient, svc) -> None:
    r = _post(client, [("card.pdf", text_pdf(card_lines(1)))], dossier_code=CODE, branch="CN1")
    assert r.status_code == 202, r.text
    assert r.json()["dossier_code"] == CODE
    batch_id = r.json()["batch_id"]
    status = client.get(f"/v1/batches/{batch_id}", headers=H).json()
    assert status["dossier_code"] == CODE
    assert status["progress"] == {"queued": 1, "processing": 0, "done": 0, "failed": 0}
    assert status["items"][0]["pages"] == 1
    _process(svc, batch_id)
    done = client.get(f"/v1/batches/{batch_id}", headers=H).json()
    assert done["progress"] == {"queued": 0, "processing": 0, "done": 1, "failed": 0} and done["state"] == "done"
    received = chain.events(svc, batch_id)[0]
    assert received.type == "received" and received.parameters["dossier_code"] == CODE


def test_a_malformed_code_is_a_422_and_nothing_is_stored(client: TestClient, svc) -> None:
    r = _post(client, [("card.pdf", text_pdf(card_lines(2)))], dossier_code="000.00.15.H42-261399-0001")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_dossier_code" and "not a date" in r.json()["detail"]
    with svc.sessions() as s:
        assert s.scalar(select(func.count()).select_from(BatchRow)) == 0
    assert svc.store.list("originals/") == []


def test_a_service_with_a_unit_code_issues_the_next_code_when_none_is_sent(tmp_path, database_url) -> None:
    settings = Settings(data_dir=tmp_path / "d", api_key="test-key", database_url=database_url,
                        unit_code="000.00.15.H42")
    with TestClient(create_app(settings, embedded_worker=False)) as c:
        first = _post(c, [("a.pdf", text_pdf(card_lines(3)))]).json()["dossier_code"]
        second = _post(c, [("b.pdf", text_pdf(card_lines(4)))]).json()["dossier_code"]
        sent = _post(c, [("c.pdf", text_pdf(card_lines(5)))], dossier_code=CODE).json()["dossier_code"]
    today = f"{now_vn():%y%m%d}"
    assert (first, second, sent) == (f"000.00.15.H42-{today}-0001", f"000.00.15.H42-{today}-0002", CODE)


# ============================================================================ tracking
def test_the_public_lookup_tells_progress_and_timeline_and_nothing_personal(client: TestClient, svc) -> None:
    first = _post(client, [("nguyen_thi_hong_nhung_cccd.pdf", text_pdf(card_lines(1234))),
                           ("broken.pdf", b"%PDF-1.7\n garbage")], dossier_code=CODE, branch="CN1").json()
    before = client.get(f"/v1/track/{CODE}")  # no key: the citizen's own lookup
    assert before.status_code == 200, before.text
    assert before.json()["status"] == "digitising" and before.json()["digitised"] == 0

    _process(svc, first["batch_id"])
    # Papers handed in later for the same dossier join it.
    later = _post(client, [("giay_khai_sinh.pdf", text_pdf(card_lines(77)))], dossier_code=CODE).json()
    _process(svc, later["batch_id"])
    r = client.get(f"/v1/track/{CODE}")
    body = r.json()
    assert (body["papers"], body["digitised"], body["rejected"]) == (3, 2, 1)
    assert body["status"] == "needs_attention"  # the broken paper: the desk must ask for it again
    events = [e["event"] for e in body["timeline"]]
    assert events.count("received") == 2 and events.count("paper_digitised") == 2
    assert events.count("paper_rejected") == 1
    assert [e["doc_type"] for e in body["timeline"] if e["event"] == "paper_digitised"] == ["cccd", "cccd"]
    assert [e["reason"] for e in body["timeline"] if e["event"] == "paper_rejected"] == ["corrupt_file"]
    stamps = [e["at"] for e in body["timeline"]]
    assert stamps == sorted(stamps) and all(s.endswith("+07:00") for s in stamps)
    # Nothing personal, nothing that opens more: no names (not even in a file name), no numbers
    # read from the papers, no result codes, no batch ids.
    text = r.text.lower()
    for secret in ("nguy", "nhung", "hong", "074187001234", "giay_khai_sinh", "kq-", first["batch_id"]):
        assert secret not in text, secret


def test_a_dossier_with_every_paper_stored_is_digitised(client: TestClient, svc) -> None:
    batch = _post(client, [("card.pdf", text_pdf(card_lines(8)))], dossier_code=CODE).json()
    _process(svc, batch["batch_id"])
    body = client.get(f"/v1/track/{CODE}").json()
    # The plain test card has no registry record: a clean read with nothing left to check.
    assert body["status"] in ("digitised", "needs_attention")
    assert body["status"] == ("needs_attention" if body["in_review"] else "digitised")
    assert (body["papers"], body["digitised"], body["rejected"]) == (1, 1, 0)


def test_unknown_and_malformed_codes(client: TestClient) -> None:
    unknown = client.get("/v1/track/000.00.15.H42-261120-0099")
    assert unknown.status_code == 404 and unknown.json()["code"] == "dossier_not_found"
    bad = client.get("/v1/track/not-a-code")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_dossier_code"


def test_lookup_buckets_refill_over_a_minute_per_address_and_stay_bounded(monkeypatch) -> None:
    from api import ratelimit

    now = [0.0]
    buckets = ratelimit.TokenBuckets(3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(20.0)  # 3 a minute: the next token in 20 s
    assert buckets.take("b") == 0  # another address has its own bucket
    now[0] = 19.0
    assert buckets.take("a") == pytest.approx(1.0)  # a refused call takes nothing
    now[0] = 20.0
    assert buckets.take("a") == 0 and buckets.take("a") > 0
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 100)
    for i in range(500):
        buckets.take(f"scraper-{i}")
    assert len(buckets._buckets) == 100


def test_public_lookups_are_rate_limited_per_address_and_staff_are_not(settings, svc) -> None:
    settings.limits.public_lookups_per_minute = 2
    code = "000.00.15.H42-261120-0099"
    app = create_app(settings, services=svc, embedded_worker=False)
    with TestClient(app) as c:
        assert [c.get(f"/v1/track/{code}").status_code for _ in range(2)] == [404, 404]
        refused = c.get(f"/v1/track/{code}")
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 30
        assert c.get(f"/v1/dossiers/{code}", headers=H).status_code == 404  # a keyed view: not limited
        assert c.get(f"/v1/dossiers/{code}", headers=H).status_code == 404
        # Another address, the same app (its lifespan already run by `c`): a bucket of its own.
        other = TestClient(app, client=("203.0.113.7", 40000))
        assert other.get(f"/v1/track/{code}").status_code == 404
        assert c.get(f"/v1/track/{code}").status_code == 429


def test_the_staff_view_lists_batches_and_results_for_who_may_see_them(client: TestClient, svc) -> None:
    batch = _post(client, [("card.pdf", text_pdf(card_lines(9)))], dossier_code=CODE, branch="CN1").json()
    _process(svc, batch["batch_id"])
    _, own = keys.create_key(svc.sessions, "scanner", branch="CN1")
    _, other = keys.create_key(svc.sessions, "scanner", branch="CN2")
    _, downstream = keys.create_key(svc.sessions, "downstream")
    view = client.get(f"/v1/dossiers/{CODE}", headers={"X-API-Key": own})
    assert view.status_code == 200
    assert [b["batch_id"] for b in view.json()["batches"]] == [batch["batch_id"]]
    assert len(view.json()["result_codes"]) == 1
    assert client.get(f"/v1/dossiers/{CODE}", headers={"X-API-Key": other}).status_code == 404
    assert client.get(f"/v1/dossiers/{CODE}", headers={"X-API-Key": downstream}).status_code == 403
