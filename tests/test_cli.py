"""The `sohoa` command contract: JSON Lines, bad files as handled lines, exit codes, registry import."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sohoa.cli import app

from .docs import card_png

REGISTRY = """id_number,full_name,date_of_birth,sex,place_of_residence
074187001234,"Nguyễn Thị Hồng Nhung",1987-03-12,Nữ,"Số 12 đường Yersin, Phường Phú Cường, thành phố Thủ Dầu Một, tỉnh Bình Dương"
bad,"X",1987-03-12,Nữ,"x"
"""


@pytest.fixture
def env(tmp_path):
    return {"SOHOA_DATA_DIR": str(tmp_path / "data")}


def run(args, env):
    result = CliRunner().invoke(app, args, env=env)
    return result


def test_process_json_lines_with_a_bad_file(tmp_path, env) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "card.png").write_bytes(card_png())
    (tmp_path / "in" / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage")
    (tmp_path / "in" / "empty.jpg").write_bytes(b"")
    reg = tmp_path / "registry.csv"
    reg.write_text(REGISTRY, encoding="utf-8")

    imported = run(["records", "import", str(reg)], env)
    assert imported.exit_code == 0, imported.output
    assert "inserted 1" in imported.output and "rejected 1" in imported.output and "line 3" in imported.output

    result = run(["process", str(tmp_path / "in"), "--json", "--branch", "TDM01", "--jobs", "1"], env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    by_file = {x["source"]["file"]: x for x in lines}
    assert set(by_file) == {"card.png", "broken.pdf", "empty.jpg"}
    assert by_file["broken.pdf"]["error"]["code"] == "corrupt_file"
    assert by_file["empty.jpg"]["error"]["code"] == "empty_file"
    card = by_file["card.png"]
    assert card["doc_type"] == "cccd" and card["source"]["pages"] == [1] and card["source"]["branch"] == "TDM01"
    assert card["fields"]["full_name"] == "Nguyễn Thị Hồng Nhung"
    assert card["verification"]["status"] == "match"
    assert card["result_code"] and card["provenance"]

    shown = run(["show", card["result_code"]], env)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["document_id"] == card["document_id"]
    found = run(["search", "hong nhung"], env)
    assert card["result_code"] in found.stdout


def test_parallel_jobs_give_the_same_results(tmp_path, env) -> None:
    for i in range(2):
        (tmp_path / f"c{i}.png").write_bytes(card_png() + bytes([i]))  # distinct bytes, same content
    result = run(["process", str(tmp_path / "c0.png"), str(tmp_path / "c1.png"), "--json", "--jobs", "2"], env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["source"]["file"] for x in lines] == ["c0.png", "c1.png"]
    assert {x["fields"].get("id_number") for x in lines} == {"074187001234"}


def test_missing_path_is_a_usage_error(env) -> None:
    assert run(["process", "/no/such/file.pdf"], env).exit_code != 0


def test_an_engine_crash_on_one_file_does_not_end_the_run(tmp_path, env, monkeypatch) -> None:
    import sohoa.pipeline as pipeline_mod

    real = pipeline_mod.read_timed

    def flaky(raw, engines, settings):
        if raw.image is not None and raw.image.width == 1401:
            raise RuntimeError("engine crashed on this page")
        return real(raw, engines, settings)

    monkeypatch.setattr(pipeline_mod, "read_timed", flaky)
    from PIL import Image
    import io

    im = Image.open(io.BytesIO(card_png()))
    wide = Image.new("RGB", (1401, im.height), "white")
    wide.paste(im, (0, 0))
    buf = io.BytesIO()
    wide.save(buf, "PNG")
    (tmp_path / "a.png").write_bytes(buf.getvalue())
    (tmp_path / "b.png").write_bytes(card_png())
    result = run(["process", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--json", "--jobs", "1"], env)
    assert result.exit_code == 0, result.output
    lines = {x["source"]["file"]: x for x in map(json.loads, result.stdout.splitlines())}
    assert lines["a.png"]["error"]["code"] == "processing_failed"
    assert "engine crashed" in lines["a.png"]["error"]["message"]
    assert lines["b.png"]["doc_type"] == "cccd"
