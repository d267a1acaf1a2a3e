"""`assist data import`: every bad row named, nothing imported from a file with errors,
sets versioned by content."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assist.cli import main
from assist.config import get_settings


def _run(monkeypatch, tmp_path, *args: str):
    monkeypatch.setenv("ASSIST_PATHS__DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, ["data", "import", *args])
    finally:
        get_settings.cache_clear()


def test_a_good_file_is_imported_once_masked(monkeypatch, tmp_path):
    f = tmp_path / "ops.csv"
    f.write_text('text,intent,sentiment,escalate,history\n'
                 '那钱怎么退 电话13812345678,return_exchange,neutral,no,"[""想退货""]"\n'
                 '再不处理我就投诉,complaint,negative,yes,\n', encoding="utf-8")
    first = _run(monkeypatch, tmp_path, str(f))
    assert first.exit_code == 0 and "imported: 2 rows as ops" in first.output, first.output
    again = _run(monkeypatch, tmp_path, str(f))
    assert again.exit_code == 0 and "already imported" in again.output
    folder = tmp_path / "data" / "imported"
    [stored] = [p for p in folder.glob("ops-*.jsonl")]
    rows = [json.loads(x) for x in stored.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["history"] == ["想退货"] and rows[0]["escalate"] is False and rows[1]["escalate"] is True
    assert "13812345678" not in stored.read_text(encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [s["rows"] for s in manifest["sets"]] == [2] and stored.name.endswith(manifest["sets"][0]["sha256"][:12] + ".jsonl")


def test_every_bad_row_is_named_and_nothing_is_imported(monkeypatch, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join([
        json.dumps({"text": "发货了吗", "intent": "logistics_status"}, ensure_ascii=False),
        json.dumps({"text": "退款", "intent": "refund"}, ensure_ascii=False),
        "{not json",
        json.dumps({"text": "", "intent": "greeting"}),
        json.dumps({"text": "好", "intent": "praise", "colour": "red"}),
        json.dumps({"text": "好", "intent": "praise", "escalate": "maybe"}),
        json.dumps({"text": "好", "intent": "praise", "history": "not a list"}),
    ]) + "\n", encoding="utf-8")
    r = _run(monkeypatch, tmp_path, str(f))
    assert r.exit_code == 1
    for line, words in ((2, "unknown intent"), (3, "invalid JSON"), (4, "missing text"), (5, "unknown column"),
                        (6, "escalate"), (7, "history")):
        assert f"{f}:{line}: " in r.output and words in r.output, (line, r.output)
    assert f"{f}:1:" not in r.output
    assert not (tmp_path / "data" / "imported").exists()


def test_unreadable_files_are_refused_with_a_message(monkeypatch, tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("text,intent\n退货,return_exchange\n".encode("gbk") + b"\xff")
    assert "not UTF-8" in _run(monkeypatch, tmp_path, str(gbk)).output
    other = tmp_path / "x.xlsx"
    other.write_text("x", encoding="utf-8")
    r = _run(monkeypatch, tmp_path, str(other))
    assert r.exit_code == 1 and ".csv or .jsonl" in r.output
    assert _run(monkeypatch, tmp_path, str(tmp_path / "missing.csv")).exit_code == 1
