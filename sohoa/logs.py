"""Logging for every sohoa process: text for a terminal, JSON lines for a log collector.

Logs leave the service (collectors, tickets, screenshots), so personal data that slips into a
message, an `extra` field or a traceback is masked on every handler before it is written:
ID numbers (runs of exactly 9 digits, the old CMND, or 12, the CCCD) keep their last 3 digits,
dates written dd/mm/yyyy (dates of birth) lose all their digits. Code still must not log
personal data on purpose; the mask is the net under it, not the rule.

    configure_logging("json", "INFO")
    log.info("file done", extra={"file_id": fid, "batch_id": bid, "result_code": code, "branch": b})
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import datetime
from typing import Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

# Bounded by non-digits on both sides, so a 10-digit phone number or a 13-digit tax code is not
# half-masked into something misleading; 9 and 12 are the lengths of Vietnamese ID numbers.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{9}|\d{12})(?!\d)")
_DATE = re.compile(r"(?<!\d)\d{1,2}([/.-])\d{1,2}\1\d{4}(?!\d)")
_KEEP_DIGITS = 3
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JSON_FIELDS = ["asctime", "levelname", "name", "message"]
_JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def mask_text(text: str) -> str:
    """`CCCD 001234567890, sinh 12/03/1987` -> `CCCD *********890, sinh **/**/****`."""
    text = _DATE.sub(lambda m: re.sub(r"\d", "*", m.group(0)), text)
    return _ID_NUMBER.sub(lambda m: "*" * (len(m.group(0)) - _KEEP_DIGITS) + m.group(0)[-_KEEP_DIGITS:], text)


def mask_value(value: object) -> object:
    """Strings masked; an int that is an ID number becomes its masked string; containers walked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(v) for v in value)
    return value


class PersonalDataFilter(logging.Filter):
    """Masks the rendered message, the `extra` fields, the traceback and the stack of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):
            record.msg = mask_value(record.msg)
        else:
            record.msg, record.args = mask_text(_rendered(record)), ()
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, mask_value(value))
        if record.exc_info:
            # Exception messages quote their input; formatters print exc_text when exc_info is gone.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _rendered(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format: keep what there is
        return f"{record.msg} {record.args!r}"


def _iso_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso_time(record)


class JsonLineFormatter(JsonFormatter):
    """`{"time": ISO 8601, "level", "logger", "message", ...extra}`, one object a line."""

    def __init__(self) -> None:
        super().__init__(_JSON_FIELDS, rename_fields=_JSON_NAMES, json_ensure_ascii=False)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso_time(record)


class SohoaHandler(logging.StreamHandler):
    """The handler `configure_logging` installs. Without a stream of its own it writes to whatever
    `sys.stderr` is when a record arrives: test runners swap it per test."""

    def __init__(self, stream: TextIO | None = None) -> None:
        logging.Handler.__init__(self)  # StreamHandler's would fix the stream to today's sys.stderr
        self._stream = stream

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return self._stream or sys.stderr

    @stream.setter
    def stream(self, value: TextIO | None) -> None:
        self._stream = value


def make_formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonLineFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT)


def configure_logging(fmt: LogFormat = "text", level: str | int = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """One handler on the root logger in the chosen format; the mask on every handler there is.

    Calling it again replaces the handler it added before, so the CLI and a Celery worker can both
    call it. `stream`: fixed output; default `sys.stderr` as it is at each record.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, SohoaHandler)]:
        root.removeHandler(old)
    handler = SohoaHandler(stream)
    handler.setFormatter(make_formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    mask_all_handlers()
    return handler


def mask_all_handlers() -> None:
    """Puts the mask on every handler of every logger configured so far (uvicorn's, Celery's)."""
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for handler in lg.handlers:
            if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                handler.addFilter(PersonalDataFilter())


def _on_celery_setup_logging(**_signal: object) -> None:
    from .config import get_settings

    settings = get_settings()
    # The stream as it is now: Celery then replaces sys.stderr with a proxy that logs what is
    # written to it, which would loop back into this handler.
    configure_logging(settings.log_format, settings.log_level, stream=sys.stderr)


def configure_celery_logging() -> None:
    """Make Celery workers log like the rest of sohoa (format, level, mask) instead of setting up
    their own logging. Call at import of the Celery app module, before the worker starts."""
    from celery.signals import setup_logging

    setup_logging.connect(_on_celery_setup_logging, weak=False, dispatch_uid="sohoa.logs")
