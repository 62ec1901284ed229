"""Hostile input that only an HTTP server sees: huge and countless multipart parts, requests over
the size limit, malformed multipart bodies, oversized and duplicated headers, and clients that
send slowly (slowloris). Each gets a problem detail with a stable code, the server keeps
answering (/healthz, and a good file in the next request is accepted), and nothing is written
outside the data dir. The limits are in Settings.limits, enforced in api/limits.py."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select as sql_select

from api.main import create_app
from sohoa import pipeline
from sohoa.config import Limits, Settings
from storage.db import FileRow

from .docs import card_lines, text_pdf
from .servers import ROOT, free_port, wait_port, wait_until

H = {"X-API-Key": "test-key"}
GOOD = text_pdf(card_lines(600))
B = b"hostile-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={B.decode()}"}

# Tighter than the defaults, so each case stays small; the defaults are checked on their own below.
LIMITS = Limits(max_file_bytes=1_000_000, max_request_bytes=12_000_000, max_files_per_batch=20, max_form_fields=8,
                max_field_bytes=4096, max_part_header_bytes=2048, max_header_bytes=8192, request_body_seconds=60)


# ---------------------------------------------------------------- building bodies byte by byte
def part(name: bytes | None, data: bytes, filename: bytes | None = None) -> bytes:
    disposition = b"form-data" + (b'; name="' + name + b'"' if name is not None else b"")
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    head = b"Content-Disposition: " + disposition + b"\r\n"
    if filename is not None:
        head += b"Content-Type: application/octet-stream\r\n"
    return head + b"\r\n" + data


def good_part(name: bytes = b"good.pdf") -> bytes:
    return part(b"files", GOOD, name)


def multipart(*parts: bytes, boundary: bytes = B, closed: bool = True) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return body + (b"--" + boundary + b"--\r\n" if closed else b"")


# ---------------------------------------------------------------- in process
@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_key="test-key", database_url=database_url, ocr_workers=1,
                    limits=LIMITS)


def _tree(base: Path) -> set[str]:
    return {str(p) for p in base.rglob("*")}


@pytest.fixture
def client(svc, tmp_path: Path) -> Iterator[TestClient]:
    before = _tree(tmp_path.parent)
    with TestClient(create_app(svc.settings, services=svc, embedded_worker=False)) as c:
        yield c
    # Starlette spools uploads to unnamed temporary files (O_TMPFILE); nothing named may appear.
    outside = sorted(p for p in _tree(tmp_path.parent) - before if not p.startswith(str(tmp_path / "data")))
    assert outside == []


def refused(client: TestClient, r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == status and problem["code"] == code and len(problem["detail"]) > 10, problem
    still_serving(client)


def still_serving(client: TestClient) -> str:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.post("/v1/batches", files=[("files", ("next.pdf", GOOD, "application/pdf"))], headers=H)
    assert r.status_code == 202, r.text
    return r.json()["batch_id"]


def post_raw(client: TestClient, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post("/v1/batches", content=body, headers={**H, **MULTIPART, **(headers or {})})


def process(svc, client: TestClient, batch_id: str) -> dict:
    with svc.sessions() as s:
        ids = s.scalars(sql_select(FileRow.id).where(FileRow.batch_id == batch_id)).all()
    for fid in ids:
        pipeline.process_file_or_record(svc, fid)
    return client.get(f"/v1/batches/{batch_id}", headers=H).json()


# 1. huge and countless parts
def test_a_form_field_of_several_megabytes_is_413(client: TestClient) -> None:
    r = post_raw(client, multipart(part(b"branch", b"B" * 5_000_000), good_part()))
    refused(client, r, 413, "field_too_large")


def test_thousands_of_form_fields_are_413(client: TestClient) -> None:
    r = post_raw(client, multipart(*(part(f"f{i}".encode(), b"x") for i in range(5000)), good_part()))
    refused(client, r, 413, "too_many_fields")


def test_thousands_of_files_in_one_request_are_413(client: TestClient) -> None:
    r = post_raw(client, multipart(*(part(b"files", b"%%PDF-1.4 %d" % i, b"f%d.pdf" % i) for i in range(3000))))
    refused(client, r, 413, "too_many_files")


def test_a_batch_of_exactly_the_most_files_is_accepted_and_processed(client: TestClient, svc) -> None:
    files = [("files", (f"p{i}.pdf", text_pdf(card_lines(610 + i)), "application/pdf"))
             for i in range(LIMITS.max_files_per_batch)]
    r = client.post("/v1/batches", files=files, headers=H)
    assert r.status_code == 202 and r.json()["files"] == LIMITS.max_files_per_batch, r.text
    batch = process(svc, client, r.json()["batch_id"])
    assert batch["state"] == "done" and {i["state"] for i in batch["items"]} == {"done"}


def test_a_filename_of_100_kb_is_413(client: TestClient) -> None:
    r = post_raw(client, multipart(good_part(b"n" * 100_000 + b".pdf")))
    refused(client, r, 413, "part_header_too_large")


def test_a_long_filename_under_the_limit_is_accepted_and_shortened(client: TestClient, svc) -> None:
    r = post_raw(client, multipart(good_part(b"x" * 1500 + b".pdf")))
    assert r.status_code == 202, r.text
    [item] = process(svc, client, r.json()["batch_id"])["items"]
    assert item["state"] == "done" and len(item["name"]) <= 255 and item["name"].endswith(".pdf")


def test_a_file_part_without_a_filename_is_422_or_413_when_large(client: TestClient) -> None:
    # Without a filename a part is a form field (a string), and `files` must be files...
    refused(client, post_raw(client, multipart(part(b"files", b"%PDF-1.4 small"), good_part())), 422, "invalid_request")
    # ...and a form field is held to the form field's size.
    r = post_raw(client, multipart(part(b"files", GOOD), good_part()))
    refused(client, r, 413, "field_too_large")
    assert "filename" in r.json()["detail"]


def test_a_part_without_a_name_is_400(client: TestClient) -> None:
    r = post_raw(client, multipart(part(None, GOOD, b"anonymous.pdf"), good_part()))
    refused(client, r, 400, "malformed_multipart")


def _asgi(client: TestClient, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes],
          pause: float = 0.0, key: bytes | None = b"test-key") -> tuple[int, dict[bytes, bytes], bytes, int]:
    """One POST /v1/batches straight into the app on the client's event loop, with the body
    delivered chunk by chunk (`pause` s apart). Returns status, headers, body and how many times
    the app asked for more of the body."""
    return client.portal.call(_asgi_async, client.app, headers, chunks, pause, key)


async def _asgi_async(app, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes],  # noqa: ANN001
                      pause: float = 0.0, key: bytes | None = b"test-key") -> tuple[int, dict[bytes, bytes], bytes, int]:
    reads = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        if pause:
            await anyio.sleep(pause)
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/batches", "raw_path": b"/v1/batches", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver"), *([(b"x-api-key", key)] if key else []), *headers],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {}}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return (start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:]), reads)


def test_a_content_length_over_the_request_limit_is_413_before_a_byte_is_read(client: TestClient) -> None:
    headers = [(b"content-type", MULTIPART["Content-Type"].encode()), (b"content-length", b"%d" % 10**12)]
    status, response_headers, body, reads = _asgi(client, headers, iter([b"never read"]))
    assert (status, reads) == (413, 0)
    assert json.loads(body)["code"] == "request_too_large" and response_headers[b"connection"] == b"close"
    refused(client, client.post("/v1/batches", content=b"x", headers={**H, **MULTIPART, "Content-Length": "10" * 6}),
            413, "request_too_large")


def test_uploads_beyond_the_concurrent_cap_are_503_with_retry_after(svc) -> None:
    settings = svc.settings.model_copy(update={"limits": LIMITS.model_copy(update={"max_concurrent_uploads": 1})})
    with TestClient(create_app(settings, services=svc, embedded_worker=False)) as c:
        body = multipart(good_part())
        headers = [(b"content-type", MULTIPART["Content-Type"].encode()), (b"content-length", b"%d" % len(body))]
        results: dict[str, tuple] = {}

        async def both() -> None:
            async def slow() -> None:  # holds its place while its body trickles in
                chunks = iter([body[:10], body[10:]])
                results["slow"] = await _asgi_async(c.app, headers, chunks, pause=0.5)

            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                await anyio.sleep(0.2)
                results["second"] = await _asgi_async(c.app, headers, iter([body]))

        c.portal.call(both)
        assert results["second"][0] == 503 and results["second"][3] == 0  # refused before its body
        assert json.loads(results["second"][2])["code"] == "too_many_uploads"
        assert results["second"][1][b"retry-after"] == b"5"
        assert results["slow"][0] == 202  # the one in progress is unaffected
        # Its place is given back: the next upload goes through.
        assert c.post("/v1/batches", files=[("files", ("g.pdf", GOOD, "application/pdf"))], headers=H).status_code == 202


def test_an_answered_upload_gives_its_place_back_before_its_background_hand_over_ends(svc, monkeypatch) -> None:
    import threading

    from api import routes

    handing_over, finish = threading.Event(), threading.Event()

    def slow_hand_over(*_args: object) -> None:  # the broker hand-over, after the response
        handing_over.set()
        finish.wait(30)

    monkeypatch.setattr(routes, "_hand_over", slow_hand_over)
    settings = svc.settings.model_copy(update={"limits": LIMITS.model_copy(update={"max_concurrent_uploads": 1})})
    with TestClient(create_app(settings, services=svc, embedded_worker=False)) as c:
        body = multipart(good_part())
        headers = [(b"content-type", MULTIPART["Content-Type"].encode()), (b"content-length", b"%d" % len(body))]
        results: dict[str, tuple] = {}

        async def back_to_back() -> None:
            async def first() -> None:
                results["first"] = await _asgi_async(c.app, headers, iter([body]))

            async with anyio.create_task_group() as tg:
                tg.start_soon(first)
                assert await anyio.to_thread.run_sync(handing_over.wait, 30)  # answered; hand-over running
                results["next"] = await _asgi_async(c.app, headers, iter([body]))
                finish.set()

        c.portal.call(back_to_back)
    assert results["first"][0] == results["next"][0] == 202


@pytest.mark.parametrize("key", [None, b"sohoa_not-a-key"])
def test_an_upload_without_a_valid_key_is_401_before_a_byte_is_read(client: TestClient, key: bytes | None) -> None:
    headers = [(b"content-type", MULTIPART["Content-Type"].encode()), (b"content-length", b"%d" % (10 * 2**20))]
    status, response_headers, body, reads = _asgi(client, headers, iter([b"never read"]), key=key)
    assert (status, reads) == (401, 0)
    assert json.loads(body)["code"] == "unauthenticated" and response_headers[b"connection"] == b"close"


def test_files_each_under_their_limit_but_together_over_the_request_limit_are_413(client: TestClient) -> None:
    n = LIMITS.max_request_bytes // LIMITS.max_file_bytes + 1
    files = [("files", (f"big{i}.pdf", b"%PDF-1.4\n" + bytes([i]) * (LIMITS.max_file_bytes - 10), "application/pdf"))
             for i in range(n)]
    refused(client, client.post("/v1/batches", files=files, headers=H), 413, "request_too_large")


def test_a_file_over_its_limit_fails_alone_and_the_good_one_beside_it_is_processed(client: TestClient, svc) -> None:
    files = [("files", ("too-big.pdf", b"%PDF-1.4\n" + b"0" * (LIMITS.max_file_bytes + 10), "application/pdf")),
             ("files", ("good.pdf", GOOD, "application/pdf"))]
    r = client.post("/v1/batches", files=files, headers=H)
    assert r.status_code == 202, r.text
    items = {i["name"]: i for i in process(svc, client, r.json()["batch_id"])["items"]}
    assert items["too-big.pdf"]["error"]["code"] == "file_too_large" and items["good.pdf"]["state"] == "done"


def test_a_chunked_body_over_the_request_limit_is_stopped_while_streaming(client: TestClient) -> None:
    mb = b"\0" * 1_000_000
    head = b"--" + B + b"\r\n" + part(b"files", b"", b"huge.pdf")
    chunks = iter([head, *[mb] * 100])  # 100 MB, no Content-Length (chunked)
    status, _, body, reads = _asgi(client, [(b"content-type", MULTIPART["Content-Type"].encode()),
                                            (b"transfer-encoding", b"chunked")], chunks)
    assert status == 413 and json.loads(body)["code"] == "request_too_large"
    assert reads <= LIMITS.max_request_bytes // len(mb) + 2  # stopped at the limit, not at the end
    # The same through the test client (a generator body goes without Content-Length).
    r = client.post("/v1/batches", content=(c for c in [head, *[mb] * 14]), headers={**H, **MULTIPART})
    refused(client, r, 413, "request_too_large")


def test_a_body_slower_than_its_deadline_is_408_and_the_connection_closed(svc) -> None:
    slow = svc.settings.model_copy(update={"limits": LIMITS.model_copy(update={"request_body_seconds": 1.0})})
    with TestClient(create_app(slow, services=svc, embedded_worker=False)) as client:
        began = time.monotonic()
        head = b"--" + B + b"\r\n" + part(b"files", b"", b"slow.pdf")
        status, headers, body, _ = _asgi(client, [(b"content-type", MULTIPART["Content-Type"].encode()),
                                                  (b"content-length", b"100000")],
                                         iter([head, *[b"x"] * 100_000]), pause=0.05)
        assert status == 408 and json.loads(body)["code"] == "body_timeout" and headers[b"connection"] == b"close"
        assert time.monotonic() - began < 30  # cut near the deadline, not when the body ends (~80 min)
        still_serving(client)


# 3. malformed multipart
MALFORMED = {
    "wrong-boundary": (multipart(good_part(), boundary=b"another-boundary"), MULTIPART),
    "truncated-body": (multipart(good_part())[:len(GOOD) // 2], MULTIPART),
    "no-closing-boundary": (multipart(good_part(), closed=False), MULTIPART),
    "only-a-preamble": (b"just some bytes, no boundary at all", MULTIPART),
    "no-boundary-in-content-type": (multipart(good_part()), {"Content-Type": "multipart/form-data"}),
    "empty-boundary": (multipart(good_part()), {"Content-Type": "multipart/form-data; boundary="}),
    "boundary-over-256-bytes": (multipart(good_part(), boundary=b"b" * 300),
                                {"Content-Type": "multipart/form-data; boundary=" + "b" * 300}),
    "a-header-line-without-colon": (b"--" + B + b"\r\nno colon here\r\n\r\ndata\r\n--" + B + b"--\r\n", MULTIPART),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_multipart_body_is_400(client: TestClient, case: str) -> None:
    body, headers = MALFORMED[case]
    refused(client, post_raw(client, body, headers), 400, "malformed_multipart")


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain", None])
def test_a_body_other_than_multipart_to_the_upload_endpoint_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {**H, "Content-Type": content_type} if content_type else H
    r = client.post("/v1/batches", content=json.dumps({"files": ["good.pdf"], "branch": "X"}).encode(), headers=headers)
    refused(client, r, 415, "unsupported_media_type")


def test_a_header_of_100_kb_is_431(client: TestClient) -> None:
    r = client.post("/v1/batches", files=[("files", ("good.pdf", GOOD, "application/pdf"))],
                    headers={**H, "X-Padding": "p" * 100_000})
    refused(client, r, 431, "headers_too_large")
    refused(client, client.get("/healthz", headers={"X-Padding": "p" * 100_000}), 431, "headers_too_large")


def test_non_utf8_filenames_are_accepted_shown_safely_and_processed(client: TestClient, svc, tmp_path: Path) -> None:
    # An old scanner's code page (here CP1258-ish bytes) and a name that looks like a path.
    names = [b"h\xe1\xbb\x93 s\xff \x93.pdf", b"../../escape-hostile-api.pdf"]
    r = post_raw(client, multipart(*(part(b"files", text_pdf(card_lines(620 + i)), n) for i, n in enumerate(names))))
    assert r.status_code == 202, r.text
    batch = process(svc, client, r.json()["batch_id"])
    assert [i["state"] for i in batch["items"]] == ["done", "done"]
    assert all(i["name"].isprintable() for i in batch["items"])
    assert not any(tmp_path.parent.rglob("escape-hostile-api.pdf"))
    assert not (Path.cwd().parent.parent / "escape-hostile-api.pdf").exists()
    still_serving(client)


def test_a_non_utf8_field_name_is_an_unknown_field(client: TestClient) -> None:
    # The only file under a name that is not `files`: no files at all.
    refused(client, post_raw(client, multipart(part(b"files\xff", GOOD, b"good.pdf"))), 422, "invalid_request")
    # Beside a good file, an unknown field is ignored, as any unknown field is.
    r = post_raw(client, multipart(part(b"br\xe1nch", b"X"), good_part()))
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("values", [("key-1", "key-2"), ("key-1", "key-1")])
def test_duplicate_idempotency_keys_are_400(client: TestClient, values: tuple[str, str]) -> None:
    headers = [("X-API-Key", "test-key"), *(("Idempotency-Key", v) for v in values)]
    r = client.post("/v1/batches", files=[("files", ("good.pdf", GOOD, "application/pdf"))], headers=headers)
    refused(client, r, 400, "duplicate_header")
    r = client.post("/v1/batches", files=[("files", ("good.pdf", GOOD, "application/pdf"))],
                    headers=[("X-API-Key", "test-key"), ("X-API-Key", "test-key")])
    refused(client, r, 400, "duplicate_header")


# 4. the limits are announced
def test_the_openapi_description_states_every_limit(tmp_path: Path) -> None:
    limits = Limits(max_file_bytes=7_340_032, max_pages=123, max_pixels_per_page=45_678_901, max_files_per_batch=17,
                    max_request_bytes=98_765_432, request_body_seconds=77, request_header_seconds=11,
                    max_header_bytes=12_345, max_form_fields=5, max_field_bytes=2222, max_part_header_bytes=1111,
                    max_connections=99, max_concurrent_uploads=3)
    app = create_app(Settings(data_dir=tmp_path / "data", api_key="k", limits=limits), embedded_worker=False)
    description = TestClient(app).get("/openapi.json").json()["info"]["description"]
    rows = {line.split("|")[1].strip(): line for line in description.splitlines() if line.startswith("| ")}
    expected = {"a file": "7 MiB (7340032 bytes)", "pages in a file": "123", "pixels in a page": "45678901",
                "files in a batch (one request)": "17", "a request": "98765432 bytes",
                "receiving a request's body": "77 s", "receiving a request's headers": "11 s",
                "a request's headers together": "12345 bytes", "form fields besides the files": "5",
                "a form field (`branch`)": "2222 bytes", "a header line of a part (its filename)": "1111 bytes",
                "connections at once": "99", "uploads received at once (per API process)": "3"}
    for what, value in expected.items():
        assert value in rows[what], (what, rows.get(what))
    for code in ("file_too_large", "too_many_files", "request_too_large", "body_timeout", "headers_too_large",
                 "malformed_multipart", "unsupported_media_type", "duplicate_header"):
        assert f"`{code}`" in description


def test_the_default_limits_are_sane() -> None:
    d = Limits()
    assert d.max_file_bytes < d.max_request_bytes < d.max_files_per_batch * d.max_file_bytes
    assert d.max_files_per_batch <= 1000 and d.max_form_fields <= 1000  # Starlette's parser behind ours


# ---------------------------------------------------------------- a real server: `sohoa serve`
SERVER_SECONDS = 10  # the body and header deadlines of the server below


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("hostile-api-server")
    cwd = root / "cwd"
    cwd.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update({"SOHOA_DATA_DIR": str(root / "data"), "SOHOA_API_KEY": "test-key", "SOHOA_OCR_WORKERS": "1",
                "SOHOA_LIMITS__REQUEST_BODY_SECONDS": str(SERVER_SECONDS),
                "SOHOA_LIMITS__REQUEST_HEADER_SECONDS": str(SERVER_SECONDS),
                "SOHOA_LIMITS__MAX_REQUEST_BYTES": "2000000", "PYTHONPATH": str(ROOT)})
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "sohoa.cli", "serve", "--port", str(port)], cwd=cwd, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_port(port, 90, proc)
        yield {"port": port, "root": root, "proc": proc, "batches": []}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


def read_response(sock: socket.socket, timeout: float = 60) -> tuple[int, dict[str, str], bytes, bool]:
    """Everything the server sends until it closes the connection (or `timeout`): status,
    headers, body, and whether it closed."""
    sock.settimeout(timeout)
    data, closed = b"", False
    try:
        while chunk := sock.recv(65536):
            data += chunk
        closed = True
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body, closed


def problem_code(headers: dict[str, str], body: bytes) -> str:
    assert headers.get("content-type") == "application/problem+json", headers
    return json.loads(body)["code"]


def upload_head(port: int, extra: bytes = b"", length: int | None = 100_000) -> bytes:
    return (b"POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-API-Key: test-key\r\n"
            b"Content-Type: multipart/form-data; boundary=" % port + B + b"\r\n"
            + (b"Content-Length: %d\r\n" % length if length is not None else b"Transfer-Encoding: chunked\r\n")
            + extra + b"\r\n")


class Trickler(threading.Thread):
    """A slowloris: sends `head` at once, then `payload` a byte every `every` s, until the server
    answers or closes."""

    def __init__(self, port: int, head: bytes, payload: bytes, every: float = 0.2):
        super().__init__(daemon=True)
        self.port, self.head, self.payload, self.every = port, head, payload, every
        self.result: tuple[int, dict[str, str], bytes, bool] | None = None
        self.cut_after: float | None = None

    def run(self) -> None:
        began = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(self.head)
            for i in range(len(self.payload)):
                if select.select([sock], [], [], self.every)[0] or time.monotonic() - began > 120:
                    break  # the server answered, or closed
                try:
                    sock.sendall(self.payload[i:i + 1])
                except OSError:
                    break
            self.result = read_response(sock)
            self.cut_after = time.monotonic() - began


def test_slow_clients_do_not_hold_up_others_and_are_cut_after_the_deadline(server: dict) -> None:
    port = server["port"]
    body = multipart(good_part())
    slow_bodies = [Trickler(port, upload_head(port, length=len(body)), body) for _ in range(3)]
    slow_headers = Trickler(port, b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 10_000)
    tricklers = [*slow_bodies, slow_headers]
    for t in tricklers:
        t.start()
    time.sleep(0.5)
    began = time.monotonic()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
        for _ in range(3):
            assert c.get("/healthz").json() == {"status": "ok"}
        r = c.post("/v1/batches", files=[("files", ("meanwhile.pdf", GOOD, "application/pdf"))], headers=H)
        assert r.status_code == 202, r.text
        server["batches"].append(r.json()["batch_id"])
    others_took = time.monotonic() - began
    assert all(t.is_alive() for t in tricklers), "the slow clients ended before the others were served"
    for t in tricklers:
        t.join(150)
        assert t.result is not None
    for t in slow_bodies:
        status, headers, answer, closed = t.result
        assert (status, problem_code(headers, answer), closed) == (408, "body_timeout", True)
        assert t.cut_after < SERVER_SECONDS + 60, t.cut_after  # generous: the machine is shared
    status, headers, answer, closed = slow_headers.result
    assert (status, problem_code(headers, answer), closed) == (408, "header_timeout", True)
    assert slow_headers.cut_after < SERVER_SECONDS + 60
    assert others_took < SERVER_SECONDS, f"the others took {others_took:.1f} s, as long as the slow ones"
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200


def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server answered and closed before taking it all: its answer is still to be read
        return read_response(sock)


def _next_request_is_served(server: dict) -> None:
    port = server["port"]
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).json() == {"status": "ok"}
    r = httpx.post(f"http://127.0.0.1:{port}/v1/batches", files=[("files", ("next.pdf", GOOD, "application/pdf"))],
                   headers=H, timeout=60)
    assert r.status_code == 202, r.text
    server["batches"].append(r.json()["batch_id"])


def test_a_content_length_over_the_limit_is_answered_before_the_body_is_sent(server: dict) -> None:
    status, headers, body, closed = _raw(server["port"], upload_head(server["port"], length=50 * 1024**3))
    assert (status, problem_code(headers, body), closed) == (413, "request_too_large", True)
    _next_request_is_served(server)


def test_a_chunked_upload_over_the_limit_is_cut_while_streaming(server: dict) -> None:
    port = server["port"]
    chunk = b"%x\r\n%s\r\n" % (256 * 1024, b"\0" * 256 * 1024)
    sent = 0
    first = multipart(part(b"files", b"", b"huge.pdf"), closed=False)[:-2]  # the file's data goes on
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(upload_head(port, length=None) + b"%x\r\n%s\r\n" % (len(first), first))
        while sent < 100 * 1024**2 and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        status, headers, body, closed = read_response(sock)
    assert (status, problem_code(headers, body), closed) == (413, "request_too_large", True)
    assert sent < 50 * 1024**2  # the server did not wait for the end of 100 MB
    _next_request_is_served(server)


def test_headers_too_large_get_431_and_far_too_large_a_bare_400(server: dict) -> None:
    port = server["port"]
    status, headers, body, closed = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: "
                                         + b"p" * 100_000 + b"\r\n\r\n")
    assert (status, problem_code(headers, body), closed) == (431, "headers_too_large", True)
    # Past h11's buffer (8 x the app's limit) uvicorn answers itself, without reading further.
    status, headers, body, closed = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: "
                                         + b"p" * 1_000_000 + b"\r\n\r\n")
    # Closed with unread bytes, so the kernel may reset the connection before the 400 is read.
    assert status in (400, 0) and closed
    _next_request_is_served(server)


def test_malformed_multipart_and_duplicate_keys_over_the_wire(server: dict) -> None:
    port = server["port"]
    truncated = multipart(good_part())[:3000]
    status, headers, body, closed = _raw(port, upload_head(port, length=len(truncated)) + truncated)
    assert (status, problem_code(headers, body), closed) == (400, "malformed_multipart", True)
    whole = multipart(good_part())
    status, headers, body, _ = _raw(port, upload_head(port, b"Idempotency-Key: a\r\nIdempotency-Key: b\r\n",
                                                      length=len(whole)) + whole)
    assert (status, problem_code(headers, body)) == (400, "duplicate_header")
    _next_request_is_served(server)


def test_the_good_files_sent_meanwhile_are_processed_and_nothing_is_written_outside_the_data_dir(server: dict) -> None:
    port = server["port"]
    assert server["batches"], "run with the tests above"

    def all_done() -> bool:
        states = [httpx.get(f"http://127.0.0.1:{port}/v1/batches/{b}", headers=H, timeout=30).json()["state"]
                  for b in server["batches"]]
        return all(s == "done" for s in states)

    wait_until(all_done, timeout=300, every=1, what="the good files processed")
    root: Path = server["root"]
    assert sorted(p.name for p in root.iterdir()) == ["cwd", "data", "server.log"]
    assert list((root / "cwd").iterdir()) == []
    assert server["proc"].poll() is None  # still up
