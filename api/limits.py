"""What the HTTP server bounds before a route sees a request: sizes, counts, malformed multipart
bodies and time. `RequestLimits` (ASGI middleware) answers problem details with a stable code;
`H11WithHeaderDeadline` (the protocol `sohoa serve` gives uvicorn) closes connections whose
request headers never finish. The limits live in `Settings.limits` and are announced in the
OpenAPI description (`describe`)."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import anyio
import h11
from fastapi import HTTPException
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    parse_options_header,
)
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from sohoa.config import Limits, get_settings

from .deps import AUTHENTICATED, identify
from .problems import Problem, problem

log = logging.getLogger("sohoa.api.limits")

# The body is cut off, so the connection cannot carry another request: close it, lest a client
# trickle an unread body into it for ever.
CLOSE = {"Connection": "close"}

# Headers a request may carry once: with two Idempotency-Keys, which upload is this? Frameworks
# silently take the first, so a proxy that appends one would break replays without a word.
SINGLE_HEADERS = (b"idempotency-key", b"x-api-key", b"x-purpose", b"content-type", b"content-length")
FORM = "multipart/form-data"


class RequestLimits:
    """Refuses, before or while the body is read: too large (413), headers too large (431), too
    slow (408), malformed multipart (400), not multipart where a form is expected (415), a header
    that may come once given twice (400). The multipart body is checked by a parser of its own as
    it streams in, so Starlette's parser behind it (which FastAPI calls with its defaults, not
    ours) never sees a body over our limits: it is stopped before the rest is spooled to disk."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self._form_routes: list[tuple[re.Pattern[str], set[str]]] | None = None
        self._uploads = 0  # being received now (one event loop: no lock needed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(anyio.current_time() + self.limits.request_body_seconds)
        try:
            body.has_body, guard = self._check_head(scope)
        except Problem as refusal:
            log.warning("refused a request before its body: %s %s", refusal.status_code, refusal.code)
            headers = {**(refusal.headers or {}), **CLOSE}
            response = problem(refusal.status_code, str(refusal.detail), refusal.code)
            response.headers.update(headers)
            await response(scope, receive, send)
            return
        body.guard = guard
        upload = body.has_body and self._takes_form(scope)
        if upload:
            # An upload is authenticated before its body is read: without a valid key nobody can
            # make the server take in up to max_request_bytes.
            try:
                await run_in_threadpool(self._authenticate, scope)
                if self._uploads >= self.limits.max_concurrent_uploads:
                    raise Problem(503, "too_many_uploads", f"{self._uploads} uploads are being received; "
                                  "retry in a few seconds (with the same Idempotency-Key)", {"Retry-After": "5"})
            except HTTPException as refusal:
                response = problem(refusal.status_code, str(refusal.detail), getattr(refusal, "code", None))
                response.headers.update({**(refusal.headers or {}), **CLOSE})
                await response(scope, receive, send)
                return
            self._uploads += 1
        held = [upload]  # this request holds an upload place until its response is sent

        def release() -> None:
            if held[0]:
                held[0] = False
                self._uploads -= 1

        async def receive_limited() -> Message:
            if body.done:
                return await receive()
            try:
                with anyio.fail_after(max(body.deadline - anyio.current_time(), 0)):
                    message = await receive()
            except TimeoutError:
                raise self._refuse(408, "body_timeout", f"the request body did not arrive within "
                                   f"{self.limits.request_body_seconds:g} s") from None
            if message["type"] == "http.request":
                self._take(body, message.get("body", b""), more=message.get("more_body", False))
            return message

        async def send_closing(message: Message) -> None:
            # A response before the whole body was read (a refusal, a 401 for a body nobody reads).
            if message["type"] == "http.response.start" and body.has_body and not body.done:
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"connection" for k, _ in headers):
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)
            # Answered: the batch is no longer held in memory, whatever background work follows
            # (the hand-over to the broker runs after the response).
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()

        try:
            await self.app(scope, receive_limited, send_closing)
        finally:
            release()

    def _check_head(self, scope: Scope) -> tuple[bool, _MultipartGuard | None]:
        lim = self.limits
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(k) + len(v) for k, v in headers) > lim.max_header_bytes:
            raise Problem(431, "headers_too_large", f"the request's headers are over {lim.max_header_bytes} bytes")
        seen: set[bytes] = set()
        for name, _ in headers:
            if name in SINGLE_HEADERS:
                if name in seen:
                    raise Problem(400, "duplicate_header", f"the {name.decode()} header is given more than once")
                seen.add(name)
        values = dict(headers)
        length = values.get(b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise Problem(400, "bad_request", "Content-Length is not a number")
            if int(length) > lim.max_request_bytes:
                raise Problem(413, "request_too_large", f"the request is {int(length)} bytes; at most "
                                                        f"{lim.max_request_bytes} are accepted")
        has_body = (length is not None and int(length) > 0) or b"chunked" in values.get(b"transfer-encoding", b"")
        content_type, options = parse_options_header(values.get(b"content-type", b""))
        if self._takes_form(scope) and content_type != b"multipart/form-data":
            raise Problem(415, "unsupported_media_type", "send the files as multipart/form-data")
        if content_type != b"multipart/form-data":
            return has_body, None
        boundary = options.get(b"boundary")
        if not boundary:
            raise Problem(400, "malformed_multipart", "the multipart/form-data Content-Type has no boundary")
        try:
            return has_body, _MultipartGuard(boundary, lim)
        except FormParserError:
            raise Problem(400, "malformed_multipart", "the multipart boundary is not valid") from None

    @staticmethod
    def _authenticate(scope: Scope) -> None:
        app = scope["app"]
        secret = dict(scope["headers"]).get(b"x-api-key", b"").decode("latin-1")
        # Kept for the route's own key check (api/deps.py), which then looks nothing up again.
        scope.setdefault("state", {})[AUTHENTICATED] = identify(app.state.api_key, app.state.services, secret)

    def _takes_form(self, scope: Scope) -> bool:
        if self._form_routes is None:
            # From the app's own OpenAPI document (FastAPI's route objects are its private business),
            # read at the first request, when every router is included.
            try:
                paths = scope["app"].openapi().get("paths", {})
            except Exception:
                log.exception("no OpenAPI document: uploads are not checked for multipart/form-data")
                paths = {}
            self._form_routes = [
                (compile_path(path)[0], {method.upper() for method, op in ops.items()
                                         if FORM in op.get("requestBody", {}).get("content", {})})
                for path, ops in paths.items()]
        path, root = scope["path"], scope.get("root_path", "")
        path = path[len(root):] if root and path.startswith(root) else path
        return any(scope["method"] in methods and regex.match(path) for regex, methods in self._form_routes)

    def _take(self, body: _Body, chunk: bytes, more: bool) -> None:
        body.received += len(chunk)
        if body.received > self.limits.max_request_bytes:
            raise self._refuse(413, "request_too_large", f"the request is over {self.limits.max_request_bytes} bytes")
        if not more:
            body.done = True
        if body.guard is None:
            return
        try:
            body.guard.feed(chunk)
            if body.done:
                body.guard.finish()
        except FormParserError:
            raise self._refuse(400, "malformed_multipart", "the multipart body is malformed") from None
        except Problem as refusal:
            log.warning("refused a request's body: %s %s", refusal.status_code, refusal.code)
            raise refusal from None

    @staticmethod
    def _refuse(status: int, code: str, detail: str) -> Problem:
        log.warning("refused a request's body: %s %s", status, code)
        return Problem(status, code, detail, CLOSE)


@dataclass
class _Body:
    deadline: float
    has_body: bool = False
    received: int = 0
    done: bool = False
    guard: _MultipartGuard | None = None


@dataclass
class _Part:
    line_bytes: int = 0  # the header line being read
    header: bytearray = field(default_factory=bytearray)
    value: bytearray = field(default_factory=bytearray)
    disposition: bytes | None = None
    is_file: bool = False
    data_bytes: int = 0


class _MultipartGuard:
    """Counts and measures a multipart body as it streams in; keeps none of it."""

    def __init__(self, boundary: bytes, limits: Limits) -> None:
        self.limits = limits
        self.files = self.fields = 0
        self.part = _Part()
        callbacks: Any = {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
        }
        # No cap of its own on a header line: ours (in the callbacks) answers 413, its own a bare error.
        self.parser = MultipartParser(boundary, callbacks, max_header_size=sys.maxsize)

    def feed(self, chunk: bytes) -> None:
        if chunk:
            self.parser.write(chunk)

    def finish(self) -> None:
        # python-multipart (and so Starlette) takes a body cut short for the parts it finished:
        # a truncated upload would become a smaller batch without a word.
        if self.parser.state != MultipartState.END:
            raise Problem(400, "malformed_multipart", "the multipart body ends before its closing boundary", CLOSE)

    def _part_begin(self) -> None:
        self.part = _Part()

    def _grow_line(self, n: int) -> None:
        self.part.line_bytes += n
        if self.part.line_bytes > self.limits.max_part_header_bytes:
            raise Problem(413, "part_header_too_large", f"a part's header (its filename, say) is over "
                                                        f"{self.limits.max_part_header_bytes} bytes", CLOSE)

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow_line(end - start)
        self.part.header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._grow_line(end - start)
        self.part.value += data[start:end]

    def _header_end(self) -> None:
        if self.part.header.lower() == b"content-disposition":
            self.part.disposition = bytes(self.part.value)
        self.part.line_bytes, self.part.header, self.part.value = 0, bytearray(), bytearray()

    def _headers_finished(self) -> None:
        lim = self.limits
        _, options = parse_options_header(self.part.disposition)
        if b"name" not in options:
            raise Problem(400, "malformed_multipart", "a part has no name in its Content-Disposition", CLOSE)
        # As Starlette decides it: a part with a filename is a file, any other a form field.
        self.part.is_file = b"filename" in options
        if self.part.is_file:
            self.files += 1
            if self.files > lim.max_files_per_batch:
                raise Problem(413, "too_many_files", f"a batch has at most {lim.max_files_per_batch} files; "
                                                     "send the rest in another", CLOSE)
        else:
            self.fields += 1
            if self.fields > lim.max_form_fields:
                raise Problem(413, "too_many_fields", f"a request has at most {lim.max_form_fields} form "
                                                      "fields besides its files", CLOSE)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.is_file:
            return  # a file's size is judged per file, after the upload (`file_too_large` on its row)
        self.part.data_bytes += end - start
        if self.part.data_bytes > self.limits.max_field_bytes:
            raise Problem(413, "field_too_large", f"a form field is over {self.limits.max_field_bytes} bytes "
                                                  "(a file's part needs a filename, or it is a form field)", CLOSE)


class H11WithHeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's headers. uvicorn has none: its
    keep-alive timer is reset by every byte, so a client sending a header a byte at a time
    (slowloris) held a connection, and a slot of `limit_concurrency`, for ever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_seconds = get_settings().limits.request_header_seconds
        self._header_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        # The clock starts at a request's first byte, not at connect: idle keep-alive is uvicorn's.
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._header_timer = self.loop.call_later(self._header_seconds, self._headers_late)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        log.warning("closed a connection whose request headers took over %g s", self._header_seconds)
        # Written raw: h11 cannot answer a request it has not parsed, and the connection ends here.
        body = problem(408, f"the request headers did not arrive within {self._header_seconds:g} s",
                       "header_timeout").body
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        self.transport.close()


def describe(limits: Limits) -> str:
    """The limits, for the OpenAPI description (generated from the settings in force)."""

    def size(n: int) -> str:
        for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if n >= factor and n % factor == 0:
                return f"{n // factor} {unit} ({n} bytes)"
        return f"{n} bytes"

    rows = [
        ("a file", size(limits.max_file_bytes), "that file fails with `file_too_large`; the batch's other files go on"),
        ("pages in a file", str(limits.max_pages), "that file fails with `too_many_pages`"),
        ("pixels in a page", str(limits.max_pixels_per_page), "that file fails with `too_many_pixels`"),
        ("entries in a ZIP", str(limits.max_zip_entries), "that ZIP fails with `zip_too_many_entries`"),
        ("files in a batch (one request)", str(limits.max_files_per_batch), "413 `too_many_files`"),
        ("a request", size(limits.max_request_bytes),
         "413 `request_too_large`: from Content-Length before the body is read, or as soon as a chunked body passes it"),
        ("receiving a request's body", f"{limits.request_body_seconds:g} s", "408 `body_timeout`; the connection is closed"),
        ("receiving a request's headers", f"{limits.request_header_seconds:g} s",
         "408 `header_timeout` (`sohoa serve`); the connection is closed"),
        ("a request's headers together", size(limits.max_header_bytes), "431 `headers_too_large`"),
        ("form fields besides the files", str(limits.max_form_fields), "413 `too_many_fields`"),
        ("a form field (`branch`)", size(limits.max_field_bytes), "413 `field_too_large`"),
        ("a header line of a part (its filename)", size(limits.max_part_header_bytes), "413 `part_header_too_large`"),
        ("uploads received at once (per API process)", str(limits.max_concurrent_uploads),
         "503 `too_many_uploads` with Retry-After"),
        ("connections at once", str(limits.max_connections), "503 (`sohoa serve`; uvicorn's own plain-text answer)"),
        ("public dossier lookups (`/v1/track`) per client address per minute (per API process)",
         str(limits.public_lookups_per_minute), "429 `rate_limited` with Retry-After"),
    ]
    table = "\n".join(f"| {what} | {value} | {over} |" for what, value, over in rows)
    return (
        "## Limits\n\n| what | at most | over it |\n|---|---|---|\n" + table + "\n\n"
        "A multipart body with no boundary, a wrong one, a part without a name, or that ends before "
        "its closing boundary is 400 `malformed_multipart`; an upload that is not multipart/form-data "
        "is 415 `unsupported_media_type`; a header that may come once (Idempotency-Key, X-API-Key, "
        "X-Purpose, Content-Type, Content-Length) given twice is 400 `duplicate_header`. Every error "
        "is a problem detail (RFC 9457) with a stable `code`."
    )
