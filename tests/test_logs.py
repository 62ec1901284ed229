"""Structured logs: JSON lines with our fields, and personal data masked in every format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
from typer.testing import CliRunner

from sohoa import logs
from sohoa.config import get_settings

ID12, ID12_MASKED = "079187001234", "*********234"
ID9, ID9_MASKED = "123456789", "******789"
DOB = "12/03/1987"
EXTRAS = {"file_id": "f-3fa85f64a1b2c3d4e5f6", "batch_id": "b-0c1d2e3f4a5b6c7d8e9f",
          "result_code": "KQ-TDM01-250612-AB12CD34EF", "step": "read_page", "branch": "TDM01"}


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes the root logger; later tests get it back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            root.removeHandler(h)
    for h in handlers:
        h.filters = [f for f in h.filters if not isinstance(f, logs.PersonalDataFilter)]
    root.setLevel(level)


def emit(fmt: logs.LogFormat, *args: object, **kwargs: object) -> str:
    out = io.StringIO()
    logs.configure_logging(fmt, "INFO", stream=out)
    logging.getLogger("sohoa.test").info(*args, **kwargs)
    return out.getvalue()


def test_json_line_has_time_level_logger_message_and_extras() -> None:
    line = emit("json", "file processed in %d steps", 5, extra=EXTRAS)
    assert line.endswith("\n") and line.count("\n") == 1
    record = json.loads(line)
    assert datetime.fromisoformat(record["time"]).tzinfo is not None  # ISO 8601 with the offset
    assert (record["level"], record["logger"], record["message"]) == ("INFO", "sohoa.test", "file processed in 5 steps")
    assert {k: record[k] for k in EXTRAS} == EXTRAS  # our identifiers pass unmasked: they correlate lines


def test_json_masks_id_numbers_and_dates_of_birth_in_message_and_extras() -> None:
    line = emit("json", "card %s of Nguyễn Văn An born %s, old CMND %s", ID12, DOB, ID9,
                extra={"id_number": ID12, "dob": DOB, "fields": {"id": int(ID9), "names": [f"x {ID12}"]}})
    for raw in (ID12, ID9, DOB, "1987"):
        assert raw not in line
    record = json.loads(line)
    assert record["message"] == f"card {ID12_MASKED} of Nguyễn Văn An born **/**/****, old CMND {ID9_MASKED}"
    assert record["id_number"] == ID12_MASKED and record["dob"] == "**/**/****"
    assert record["fields"] == {"id": ID9_MASKED, "names": [f"x {ID12_MASKED}"]}


def test_text_mode_is_masked_too() -> None:
    line = emit("text", "lookup %s (%s)", ID12, DOB)
    assert line.rstrip().endswith(f"INFO sohoa.test: lookup {ID12_MASKED} (**/**/****)")
    assert ID12 not in line and DOB not in line


def test_tracebacks_are_masked() -> None:
    for fmt in ("json", "text"):
        out = io.StringIO()
        logs.configure_logging(fmt, "INFO", stream=out)
        try:
            raise ValueError(f"no registry record for {ID12}")
        except ValueError:
            logging.getLogger("sohoa.test").exception("verify failed")
        assert ID12 not in out.getvalue() and f"ValueError: no registry record for {ID12_MASKED}" in out.getvalue()


def test_only_id_length_digit_runs_and_dates_are_masked() -> None:
    text = "took 1234 ms; phone 0912345678; tax code 0312345678901; id 1234567890123456; at 2025-06-12T08:00"
    assert logs.mask_text(text) == text
    assert logs.mask_text(f"{ID12}/{ID9} 1-2-1990 01.02.1990") == f"{ID12_MASKED}/{ID9_MASKED} *-*-**** **.**.****"


def test_the_mask_is_put_on_handlers_already_there() -> None:
    other = logging.StreamHandler(io.StringIO())
    logging.getLogger("uvicorn.error").addHandler(other)
    try:
        logs.configure_logging("text", "INFO", stream=io.StringIO())
        logging.getLogger("uvicorn.error").warning("id %s", ID12)
        assert ID12_MASKED in other.stream.getvalue() and ID12 not in other.stream.getvalue()
    finally:
        logging.getLogger("uvicorn.error").removeHandler(other)


def test_configuring_twice_keeps_one_handler() -> None:
    logs.configure_logging("text", "INFO", stream=io.StringIO())
    out = io.StringIO()
    logs.configure_logging("json", "WARNING", stream=out)
    logging.getLogger("sohoa.test").info("dropped")
    logging.getLogger("sohoa.test").warning("kept")
    assert [json.loads(x)["message"] for x in out.getvalue().splitlines()] == ["kept"]
    assert sum(isinstance(h, logs.SohoaHandler) for h in logging.getLogger().handlers) == 1


def test_the_cli_configures_logging_from_settings(tmp_path, capsys) -> None:
    from sohoa.cli import app

    env = {"SOHOA_DATA_DIR": str(tmp_path / "data"), "SOHOA_LOG_FORMAT": "json", "SOHOA_LOG_LEVEL": "warning"}
    result = CliRunner().invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    logging.getLogger("sohoa.test").info("below the level")
    logging.getLogger("sohoa.test").warning("card %s", ID12)
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    assert [x["message"] for x in lines] == [f"card {ID12_MASKED}"]


def test_celery_workers_log_through_configure_logging(monkeypatch) -> None:
    from celery import Celery
    from celery.signals import setup_logging

    monkeypatch.setenv("SOHOA_LOG_FORMAT", "json")
    get_settings.cache_clear()
    logs.configure_celery_logging()
    try:
        # What a worker does at start: Celery asks its setup_logging receivers instead of configuring.
        Celery("t", broker="memory://").log.setup(loglevel="INFO")
        [ours] = [h for h in logging.getLogger().handlers if isinstance(h, logs.SohoaHandler)]
        assert isinstance(ours.formatter, logs.JsonLineFormatter)
        out = io.StringIO()
        ours.setStream(out)
        logging.getLogger("celery.worker").info("task for %s", ID12)
        assert json.loads(out.getvalue())["message"] == f"task for {ID12_MASKED}"
    finally:
        setup_logging.disconnect(dispatch_uid="sohoa.logs")
        get_settings.cache_clear()
