import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr

from assist.api.app import create_app


def test_health_and_ready_report_versions_to_operators_only(pipeline, settings):
    settings = settings.model_copy(update={"admin_token": SecretStr("s3cret-token")})
    with TestClient(create_app(settings, pipeline=pipeline)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        public = client.get("/readyz").json()
        assert public["status"] == "ready" and "versions" not in public and "knowledge" not in public
        assert "versions" not in client.get("/readyz", headers={"authorization": "Bearer wrong"}).json()
        ready = client.get("/readyz", headers={"authorization": "Bearer s3cret-token"}).json()
        assert {"knowledge", "embedding", "intent", "sentiment", "escalation"} <= set(ready["versions"])
        assert ready["knowledge"]["faqs"] == 12


def test_not_ready_is_503_with_retry_after(settings):
    c = TestClient(create_app(settings))  # no `with`: the lifespan never runs, nothing is loaded
    r = c.post("/v1/suggest", json={"message": "在吗"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["error"]["code"] == "not_ready"


def test_suggest_returns_ranked_ready_replies_with_sources(client):
    r = client.post("/v1/suggest", json={"message": "衣服不合适想退货 运费谁出", "top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] and r.headers["x-request-id"] == body["request_id"]
    s = body["suggestions"]
    assert 1 <= len(s) <= 3 and [x["rank"] for x in s] == list(range(1, len(s) + 1))
    assert s[0]["entry_id"] == "faq-return-shipping-fee"
    assert s[0]["ready"] and s[0]["text"].startswith("亲")
    assert {"faq-return-shipping-fee", "rule-return-shipping"} <= {src["id"] for src in s[0]["sources"]}
    assert body["intent"]["id"] == "return_exchange" and body["intent"]["phase"] == "after_sale"
    assert body["sentiment"]["label"] in {"negative", "neutral", "positive"}
    assert body["escalation"]["decision"] in {"none", "watch", "escalate"}


def test_scripts_are_filled_from_order_context(client):
    r = client.post("/v1/suggest", json={
        "message": "我的订单怎么还没发货啊", "top_k": 10,
        "order": {"order_id": "2026111812345678", "status": "paid"}})
    texts = [s["text"] for s in r.json()["suggestions"] if s["kind"] == "script"]
    assert any("2026111812345678" in t and "{" not in t for t in texts)


def test_faq_answers_when_confident(client):
    r = client.post("/v1/faq", json={"question": "退货运费要我自己出吗"})
    body = r.json()
    assert body["answered"] is True and body["handoff"] is None
    assert body["source"]["id"] == "faq-return-shipping-fee"
    assert body["answer"].startswith("亲")


def test_faq_hands_over_when_unsure(client):
    body = client.post("/v1/faq", json={"question": "明天北京天气怎么样"}).json()
    assert body["answered"] is False and body["answer"] is None
    assert body["handoff"]["reason"] in {"low_confidence", "no_match"}


def test_faq_hands_over_an_upset_shopper(client):
    body = client.post("/v1/faq", json={"question": "东西是假货！再不退款我就去12315投诉你们"}).json()
    assert body["answered"] is False
    assert body["handoff"]["reason"] == "escalation"
    assert body["escalation"]["decision"] == "escalate"


@pytest.mark.parametrize("path, payload, where", [
    ("/v1/suggest", {}, "message"),
    ("/v1/suggest", {"message": ""}, "message"),
    ("/v1/suggest", {"message": "   "}, "message"),
    ("/v1/suggest", {"message": "好" * 10001}, "message"),
    ("/v1/faq", {"question": "发票", "history": ["好" * 10001]}, "history"),
    ("/v1/suggest", {"message": 123}, "message"),
    ("/v1/suggest", {"message": "在吗", "top_k": 0}, "top_k"),
    ("/v1/suggest", {"message": "在吗", "top_k": "three"}, "top_k"),
    ("/v1/suggest", {"message": "在吗", "colour": "red"}, "colour"),
    ("/v1/suggest", {"message": "在吗", "history": [{"role": "bot", "text": "x"}]}, "history"),
    ("/v1/suggest", {"message": "在吗", "order": {"order_id": "1; drop table"}}, "order"),
    ("/v1/faq", {"question": ["a"]}, "question"),
    ("/v1/faq", {"question": "发票", "unknown": 1}, "unknown"),
])
def test_bad_input_is_422_with_a_reason(client, path, payload, where):
    r = client.post(path, json=payload)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_request"
    assert where in err["message"]
    assert err["request_id"]


def test_malformed_json_is_422(client):
    r = client.post("/v1/suggest", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_message_without_words_is_422(client):
    r = client.post("/v1/suggest", json={"message": "😂😂？？"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "empty_after_normalization"


def test_openapi_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/suggest", "/v1/faq", "/healthz", "/readyz"} <= set(spec["paths"])


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=300))
def test_no_text_ever_gives_a_500(client, text):
    for path, key in (("/v1/suggest", "message"), ("/v1/faq", "question")):
        r = client.post(path, json={key: text})
        assert r.status_code in (200, 422), r.text


def test_logs_never_hold_phone_numbers_or_addresses(client, caplog):
    caplog.set_level("INFO", logger="assist.api")
    client.post("/v1/suggest", json={"message": "地址改成浙江省杭州市西湖区文三路100号5栋302室 电话13812345678"})
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'text', '')}" for r in caplog.records)
    assert "suggest" in logged and "地址改成[地址]" in logged
    assert "13812345678" not in logged and "文三路" not in logged
