"""The operators' endpoints: the token rules, versions, and hot reload (a new knowledge base
swapped in; a broken one refused while the old one keeps serving)."""

from __future__ import annotations

import threading

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from assist.api.app import create_app
from assist.config import Settings

TOKEN = "a-long-random-admin-token-for-tests"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def admin_client(pipeline, settings, kb_copy):
    s = settings.model_copy(update={"admin_token": SecretStr(TOKEN),
                                    "paths": settings.paths.model_copy(update={"knowledge_dir": kb_copy})})
    with TestClient(create_app(s, pipeline=pipeline)) as c:
        yield c


def test_admin_endpoints_are_off_without_a_token(client):
    r = client.get("/v1/admin/versions")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_admin_token_rules(admin_client):
    none = admin_client.get("/v1/admin/versions")
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert none.json()["error"]["code"] == "unauthorized"
    wrong = admin_client.get("/v1/admin/versions", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "forbidden"
    ok = admin_client.get("/v1/admin/versions", headers=AUTH).json()
    assert {"knowledge", "intent", "ranker"} <= set(ok["versions"]) and ok["loaded_at"]


def test_a_placeholder_token_is_refused_outside_development():
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(_env_file=None, admin_token="changeme")
    assert Settings(_env_file=None, admin_token="changeme", environment="development").admin_token


def test_reload_swaps_in_a_new_knowledge_base(admin_client, kb_copy):
    before = admin_client.get("/v1/admin/versions", headers=AUTH).json()["versions"]["knowledge"]
    faq = kb_copy / "faq" / "faq.yaml"
    doc = yaml.safe_load(faq.read_text(encoding="utf-8"))
    doc["faqs"][0]["answer"] += " 新版答案。"
    faq.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    r = admin_client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["previous"]["knowledge"] == before != r.json()["versions"]["knowledge"]
    assert admin_client.get("/v1/admin/versions", headers=AUTH).json()["versions"]["knowledge"] != before


def test_a_broken_knowledge_base_is_refused_and_the_old_one_keeps_serving(admin_client, kb_copy):
    before = admin_client.get("/v1/admin/versions", headers=AUTH).json()["versions"]
    (kb_copy / "shop.yaml").write_text("- not a shop\n", encoding="utf-8")
    r = admin_client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 409 and r.json()["error"]["code"] == "reload_refused"
    assert any("shop.yaml" in d["msg"] for d in r.json()["error"]["details"])
    assert admin_client.get("/v1/admin/versions", headers=AUTH).json()["versions"] == before
    assert admin_client.post("/v1/suggest", json={"message": "退货运费谁出"}).status_code == 200


def test_requests_in_flight_during_a_reload_all_succeed(admin_client):
    failures, done = [], threading.Event()

    def hammer():
        while not done.is_set():
            r = admin_client.post("/v1/suggest", json={"message": "衣服不合适想退货"})
            if r.status_code != 200:
                failures.append(r.status_code)

    workers = [threading.Thread(target=hammer) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        for _ in range(2):
            assert admin_client.post("/v1/admin/reload", headers=AUTH).status_code == 200
    finally:
        done.set()
        for w in workers:
            w.join(60)
    assert failures == []
