"""RFC 9457 problem details with stable codes: clients branch on `code`, never on the prose of
`detail`, which may be reworded."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import HTTPException
from fastapi.responses import JSONResponse

# The code of an error raised without one of its own: one per status.
DEFAULT_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
                 422: "invalid_request", 429: "too_many_requests", 500: "internal_error",
                 503: "unavailable"}


class Problem(HTTPException):
    """An HTTPException with its stable code, e.g. Problem(422, "invalid_dossier_code", "...")."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(status, detail, headers)
        self.code = code


def problem(status: int, detail: str, code: str | None = None, **extra: object) -> JSONResponse:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "code": code or DEFAULT_CODES.get(status, f"http_{status}"), **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")
