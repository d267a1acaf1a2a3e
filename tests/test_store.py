"""The service's memory, on SQLite and on PostgreSQL: every answer is logged (masked),
feedback is stored once and only for answers that exist, the schema is migrated and an
unknown one refused, and a failing database never fails an answer."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from assist.api.app import create_app
from assist.errors import StoreError
from assist.store import db
from assist.store.store import Store
from assist.store.tables import Feedback, Interaction


@pytest.fixture()
def app_client(pipeline, settings, db_url):
    app = create_app(settings.model_copy(update={"database_url": db_url}), pipeline=pipeline)
    with TestClient(app) as c:
        yield c


def _rows(c: TestClient, model: type) -> list:
    store = c.app.state.store
    assert store.log.flush()
    with Session(store.engine) as s:
        return list(s.scalars(select(model)))


def test_every_answer_is_logged_masked(app_client):
    r = app_client.post("/v1/suggest", json={"message": "订单还没发货 电话13812345678", "conversation_id": "chat-1",
                                             "agent_id": "a7"})
    f = app_client.post("/v1/faq", json={"question": "支持七天无理由退货吗"})
    rows = {i.request_id: i for i in _rows(app_client, Interaction)}
    s, q = rows[r.json()["request_id"]], rows[f.json()["request_id"]]
    assert s.endpoint == "suggest" and s.conversation_id == "chat-1" and s.agent_id == "a7"
    assert "13812345678" not in s.message and "138****5678" in s.message
    assert s.intent == r.json()["intent"]["id"] and s.escalation == r.json()["escalation"]["decision"]
    assert [x["entry_id"] for x in s.suggestions] == [x["entry_id"] for x in r.json()["suggestions"]]
    assert s.versions["intent"] and s.latency_ms > 0
    assert q.endpoint == "faq" and q.answered == f.json()["answered"]


def test_feedback_is_stored_once_per_client_key(app_client):
    rid = app_client.post("/v1/suggest", json={"message": "退货运费谁出"}).json()["request_id"]
    body = {"request_id": rid, "client_key": "k-1", "rank": 1, "action": "edited", "edited_text": "亲 您好 电话13812345678",
            "reasons": ["tone"], "corrected_intent": "return_exchange", "agent_id": "a7"}
    first = app_client.post("/v1/feedback", json=body)
    assert first.status_code == 201 and first.json()["duplicate"] is False
    again = app_client.post("/v1/feedback", json=body)
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    [row] = _rows(app_client, Feedback)
    assert row.source == "sidebar" and row.action == "edited" and row.reasons == ["tone"]
    assert "13812345678" not in row.edited_text


def test_widget_feedback(app_client):
    rid = app_client.post("/v1/faq", json={"question": "发票怎么开"}).json()["request_id"]
    r = app_client.post("/v1/faq/feedback", json={"request_id": rid, "client_key": "w-1", "helpful": False,
                                                   "reason": "wrong_answer"})
    assert r.status_code == 201
    [row] = _rows(app_client, Feedback)
    assert row.source == "widget" and row.helpful is False and row.reasons == ["wrong_answer"]


@pytest.mark.parametrize("body, where", [
    ({"client_key": "k", "rank": 1, "action": "accepted"}, "request_id"),
    ({"request_id": "r", "client_key": "k", "action": "accepted"}, "rank or entry_id"),
    ({"request_id": "r", "client_key": "k", "rank": 1, "action": "edited"}, "edited_text"),
    ({"request_id": "r", "client_key": "k", "rank": 1, "action": "liked"}, "action"),
    ({"request_id": "r", "client_key": "k", "rank": 1, "action": "rejected", "reasons": ["bad"]}, "reasons"),
    ({"request_id": "r", "client_key": "k y", "rank": 1, "action": "accepted"}, "client_key"),
    ({"request_id": "r", "client_key": "k", "rank": 1, "action": "accepted", "corrected_intent": "refund"},
     "corrected_intent"),
])
def test_bad_feedback_is_422(app_client, body, where):
    r = app_client.post("/v1/feedback", json=body)
    assert r.status_code == 422 and where in r.json()["error"]["message"]


def test_feedback_for_an_unknown_answer_is_404(app_client):
    r = app_client.post("/v1/feedback", json={"request_id": "nope", "client_key": "k", "rank": 1, "action": "accepted"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = app_client.post("/v1/faq/feedback", json={"request_id": "nope", "client_key": "k", "helpful": True})
    assert r.status_code == 404
    assert _rows(app_client, Feedback) == []


def test_a_failing_database_never_fails_an_answer(app_client):
    assert app_client.get("/readyz").json()["log"] == "ok"
    with app_client.app.state.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE feedback"))
        conn.execute(text("DROP TABLE interactions"))
    assert app_client.post("/v1/suggest", json={"message": "退货运费谁出"}).status_code == 200
    app_client.app.state.store.log.flush()
    assert app_client.get("/readyz").json()["log"] == "degraded"
    assert app_client.app.state.store.log.status()["failed"] == 1


def test_an_empty_database_gets_the_schema_and_an_unknown_one_is_refused(db_url):
    Store.open(db_url).close()
    engine = create_engine(db_url)
    assert db.current(engine) == db.head()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="9999.*assist db upgrade"):
        Store.open(db_url)
    engine.dispose()


def test_db_upgrade_command(db_url, monkeypatch):
    from assist.cli import main
    from assist.config import get_settings

    monkeypatch.setenv("ASSIST_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(main, ["db", "upgrade"])
        second = CliRunner().invoke(main, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0 and f"-> {db.head()}" in first.output
    assert second.exit_code == 0 and "up to date" in second.output


def test_log_export_as_jsonl_and_csv(app_client, db_url, monkeypatch, tmp_path):
    import csv
    import json

    from assist.cli import main
    from assist.config import get_settings

    app_client.post("/v1/suggest", json={"message": "电话13812345678 退货运费谁出"})
    app_client.app.state.store.log.flush()
    monkeypatch.setenv("ASSIST_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(main, ["log", "export", "--since", "2000-01-01", "--out", str(tmp_path / "a.jsonl")])
        later = CliRunner().invoke(main, ["log", "export", "--since", "2999-01-01"])
        as_csv = CliRunner().invoke(main, ["log", "export", "--format", "csv", "--out", str(tmp_path / "a.csv")])
        bad = CliRunner().invoke(main, ["log", "export", "--since", "yesterday"])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    [row] = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["endpoint"] == "suggest" and "138****5678" in row["message"] and "13812345678" not in row["message"]
    assert later.exit_code == 0 and "0 interactions row(s)" in later.output
    assert as_csv.exit_code == 0, as_csv.output
    [csv_row] = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert csv_row["request_id"] == row["request_id"] and json.loads(csv_row["versions"]) == row["versions"]
    assert bad.exit_code == 2 and "yesterday" in bad.output


def test_a_shop_can_turn_the_log_off(pipeline, settings, db_url):
    app = create_app(settings.model_copy(update={"database_url": db_url, "log_interactions": False}), pipeline=pipeline)
    with TestClient(app) as c:
        rid = c.post("/v1/suggest", json={"message": "退货运费谁出"}).json()["request_id"]
        assert _rows(c, Interaction) == []
        r = c.post("/v1/feedback", json={"request_id": rid, "client_key": "k", "rank": 1, "action": "accepted"})
        assert r.status_code == 404


def test_an_older_schema_is_upgraded_by_the_command_not_silently(db_url):
    from alembic import command

    engine = db.make_engine(db_url)
    cfg = db._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with pytest.raises(StoreError, match="0001.*assist db upgrade"):
        Store.open(db_url)
    assert db.upgrade(engine) == ("0001", db.head())
    Store.open(db_url).close()
    engine.dispose()


def test_operations_report(pipeline, settings, db_url):
    import datetime as dt

    from pydantic import SecretStr

    token = "a-long-random-admin-token-for-tests"
    s = settings.model_copy(update={"database_url": db_url, "admin_token": SecretStr(token)})
    with TestClient(create_app(s, pipeline=pipeline)) as c:
        ids = [c.post("/v1/suggest", json={"message": m}).json()["request_id"]
               for m in ("退货运费谁出", "衣服不合适想退货", "东西是假货 我要去12315投诉你们")]
        faq = [c.post("/v1/faq", json={"question": q}).json() for q in ("支持七天无理由退货吗", "你们老板是谁")]
        for k, (rid, action) in enumerate(zip(ids, ("accepted", "rejected", "edited"))):
            body = {"request_id": rid, "client_key": f"k{k}", "rank": 1, "action": action,
                    "reasons": ["wrong_answer"] if action == "rejected" else ["tone"] if action == "edited" else []}
            if action == "edited":
                body["edited_text"] = "亲 您好"
            assert c.post("/v1/feedback", json=body).status_code == 201
        c.post("/v1/faq/feedback", json={"request_id": faq[0]["request_id"], "client_key": "w", "helpful": True})
        auth = {"authorization": f"Bearer {token}"}
        r = c.get("/v1/admin/stats", headers=auth)
        assert r.status_code == 200, r.text
        out = r.json()
        today = dt.datetime.now(dt.UTC).date()
        assert c.get("/v1/admin/stats", params={"from": str(today), "to": str(today - dt.timedelta(days=1))},
                     headers=auth).status_code == 422
        assert c.get("/v1/admin/stats", params={"from": "2000-01-01", "to": "2000-01-31"},
                     headers=auth).json()["requests"] == {"suggest": 0, "faq": 0}
    assert out["requests"] == {"suggest": 3, "faq": 2}
    assert out["widget"]["questions"] == 2 and out["widget"]["answered"] == sum(x["answered"] for x in faq)
    assert out["widget"]["helpful"] == {"yes": 1, "no": 0}
    sg = out["suggestions"]
    assert sg["feedback"] == 3 and sg["acceptance_rate"] == round(1 / 3, 4)
    assert {(x["rank"], x["action"]) for x in sg["by_rank"]} == {(1, "accepted"), (1, "rejected"), (1, "edited")}
    assert all(x["entry_id"] for x in sg["by_entry"])  # named from the rank
    assert {(x["action"], x["reason"]) for x in sg["reasons"]} == {("rejected", "wrong_answer"), ("edited", "tone")}
    assert out["escalations"]["decisions"].get("escalate", 0) >= 1 and out["escalations"]["routes"]
    assert sum(x["n"] for x in out["top_intents"]) == 5


def test_report_command(app_client, db_url, monkeypatch):
    import json

    from assist.cli import main
    from assist.config import get_settings

    app_client.post("/v1/faq", json={"question": "支持七天无理由退货吗"})
    app_client.app.state.store.log.flush()
    monkeypatch.setenv("ASSIST_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        text = CliRunner().invoke(main, ["report"])
        as_json = CliRunner().invoke(main, ["report", "--json"])
        backwards = CliRunner().invoke(main, ["report", "--from", "2026-12-02", "--to", "2026-12-01"])
    finally:
        get_settings.cache_clear()
    assert text.exit_code == 0 and "1 widget questions" in text.output
    assert json.loads(as_json.output)["requests"]["faq"] == 1
    assert backwards.exit_code == 1 and "after --to" in backwards.output


def test_response_times_and_sla_deadlines(app_client):
    import datetime as dt

    from sqlalchemy import update

    from assist.store import stats

    c = app_client
    answers = [c.post("/v1/suggest", json={"message": m}).json()
               for m in ("衣服不合适想退货 怎么申请", "发票怎么开", "退货运费谁出")]
    assert all(a["escalation"]["sla_deadline"] for a in answers)
    met, late, open_ = (a["request_id"] for a in answers)
    assert c.post("/v1/feedback", json={"request_id": met, "client_key": "r1", "rank": 1, "action": "accepted",
                                        "first_response_s": 42}).status_code == 201
    assert c.post("/v1/feedback", json={"request_id": late, "client_key": "r2", "rank": 1, "action": "rejected",
                                        "first_response_s": 900}).status_code == 201
    assert c.post("/v1/feedback", json={"request_id": met, "client_key": "r3", "rank": 1, "action": "accepted",
                                        "first_response_s": -1}).status_code == 422
    store = c.app.state.store
    assert store.log.flush()
    with store.engine.begin() as conn:  # the invoice deadline passed with no reply sent
        conn.execute(update(Interaction).where(Interaction.request_id == late)
                     .values(sla_deadline=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    today = dt.datetime.now(dt.UTC).date()
    r = stats.report(store.engine, *stats.window(today, today))
    assert r["first_response"]["n"] == 2 and r["first_response"]["mean_s"] == 471.0
    assert r["first_response"]["within_s"]["<=60"] == 1 and r["first_response"]["within_s"]["<=3600"] == 1
    assert (r["sla"]["met"], r["sla"]["missed"], r["sla"]["open"]) == (1, 1, 1) and r["sla"]["met_rate"] == 0.5
    assert sum(sum(v.values()) for v in r["sla"]["by_rule"].values()) == 3
    assert "SLA deadlines: met 1, missed 1, open 1" in stats.table(r)
