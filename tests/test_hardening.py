"""The service's edges: no request stalls the others, every refusal is in the documented
error body, and the limits of the README hold."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time

import httpx
import pytest
from conftest import serve
from fastapi.testclient import TestClient

from assist.api.app import create_app
from assist.pipeline import AssistPipeline
from assist.privacy import JsonFormatter


def _app(pipeline, settings, **overrides):
    """The app over the shared pipeline, both with these settings."""
    changed = settings.model_copy(update=overrides)
    own = copy.copy(pipeline)
    own.settings = changed
    return create_app(changed, pipeline=own)


def _error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["request_id"]
    return err


def test_a_message_is_measured_after_normalization(pipeline, settings):
    with TestClient(_app(pipeline, settings, max_message_chars=100)) as c:
        # U+FDFA is one character on the wire and 18 once normalized (NFKC)
        err = _error(c.post("/v1/suggest", json={"message": "\ufdfa" * 10}), 422, "message_too_long")
        assert "100" in err["message"]
        _error(c.post("/v1/faq", json={"question": "发票", "history": ["\ufdfa" * 10]}), 422, "message_too_long")
        assert c.post("/v1/suggest", json={"message": "好" * 100}).status_code == 200


def test_oversized_bodies_are_refused_before_they_are_read(client):
    huge = json.dumps({"message": "退货", "history": [{"role": "customer", "text": "退" * 9000}] * 50})
    _error(client.post("/v1/suggest", content=huge, headers={"content-type": "application/json"}), 413,
           "payload_too_large")

    def chunks():  # no Content-Length: counted while it arrives
        yield b'{"message": "'
        for _ in range(200):
            yield b"x" * 8192
    _error(client.post("/v1/suggest", content=chunks(), headers={"content-type": "application/json"}), 413,
           "payload_too_large")


def test_framework_refusals_use_the_error_body(client):
    _error(client.post("/v1/suggest", content=b'{"message": "\xff\xfe"}', headers={"content-type": "application/json"}),
           400, "bad_request")
    err = client.get("/v1/suggest")
    _error(err, 405, "method_not_allowed")
    assert "POST" in err.headers["allow"]
    _error(client.get("/v1/nothing-here"), 404, "not_found")


def test_openapi_documents_every_error_status(client):
    spec = client.get("/openapi.json").json()
    suggest = spec["paths"]["/v1/suggest"]["post"]["responses"]
    assert {"400", "408", "413", "422", "500", "503"} <= set(suggest)
    assert suggest["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "429" in spec["paths"]["/v1/faq"]["post"]["responses"]


def test_request_ids_are_kept_only_when_plain(client):
    assert client.get("/healthz", headers={"x-request-id": "abc-123.x"}).headers["x-request-id"] == "abc-123.x"
    forged = client.get("/healthz", headers={"x-request-id": "a b level=ERROR"}).headers["x-request-id"]
    assert forged != "a b level=ERROR" and " " not in forged


def test_widget_is_rate_limited_per_client(pipeline, settings):
    with TestClient(_app(pipeline, settings, widget_rate_limit="3/minute")) as c:
        assert all(c.post("/v1/faq", json={"question": "发票"}).status_code == 200 for _ in range(3))
        r = c.post("/v1/faq", json={"question": "发票"})
        _error(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        assert c.post("/v1/suggest", json={"message": "发票"}).status_code == 200  # the agents' sidebar is not limited


def test_widget_answers_cors_preflight_for_the_shops_origin_only(pipeline, settings):
    with TestClient(_app(pipeline, settings, cors_origins=["https://shop.example"])) as c:
        pre = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
        ok = c.options("/v1/faq", headers={"origin": "https://shop.example", **pre})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://shop.example"
        other = c.options("/v1/faq", headers={"origin": "https://evil.example", **pre})
        assert "access-control-allow-origin" not in other.headers
        sidebar = c.options("/v1/suggest", headers={"origin": "https://shop.example", **pre})
        assert "access-control-allow-origin" not in sidebar.headers


def test_port_answers_503_until_models_are_loaded(pipeline, settings, monkeypatch):
    loaded = threading.Event()

    def slow_load(cls, s, **kw):
        loaded.wait(10)
        return pipeline
    monkeypatch.setattr(AssistPipeline, "load", classmethod(slow_load))
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").status_code == 200
        r = c.post("/v1/suggest", json={"message": "发票"})
        _error(r, 503, "not_ready")
        assert r.headers["retry-after"]
        loaded.set()
        for _ in range(100):
            if c.get("/readyz").status_code == 200:
                break
            time.sleep(0.05)
        assert c.post("/v1/suggest", json={"message": "发票"}).status_code == 200


def test_a_log_line_cannot_be_forged(client, caplog):
    caplog.set_level("INFO", logger="assist.api")
    client.post("/v1/suggest", json={"message": "退货\n2026-12-01 19:00:00,000 ERROR assist.api: FORGED\x00 身份证110101199003071234"})
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "assist.api"]
    assert lines and all("\n" not in line and "\x00" not in line for line in lines)
    entry = json.loads(lines[-1])
    assert entry["level"] == "INFO" and "FORGED" in entry["text"] and "110101199003071234" not in lines[-1]


# --- `assist serve` as its own process on loopback --------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The service as `assist serve` runs it (its own process, so the clients below do not
    share its GIL), with a 1 s body timeout."""
    proc, base = serve(tmp_path_factory.mktemp("live"), ASSIST_BODY_TIMEOUT_S="1")
    yield base
    proc.terminate()
    proc.wait(20)


def test_healthz_is_answered_while_the_heaviest_allowed_request_runs(live):
    heaviest = {"message": "\ufdfa" * 110 + "退货",  # ~2000 characters once normalized
                "history": [{"role": "customer", "text": "\ufdfa" * 110}] * 50}
    done = threading.Event()

    def hammer():
        with httpx.Client(timeout=60) as c:
            while not done.is_set():
                c.post(f"{live}/v1/suggest", json=heaviest)

    workers = [threading.Thread(target=hammer) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.3)
        with httpx.Client(timeout=5) as c:
            waits = []
            for _ in range(20):
                t0 = time.perf_counter()
                assert c.get(f"{live}/healthz").status_code == 200
                waits.append(time.perf_counter() - t0)
                time.sleep(0.02)
    finally:
        done.set()
        for w in workers:
            w.join(60)
    assert max(waits) < 0.1, waits


def test_a_half_sent_body_is_cut_off(live):
    host, port = live.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /v1/suggest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{\"message\": \"")
        reply = b""
        while b"request_timeout" not in reply:  # headers and body may come in separate packets
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    reply = reply.decode()
    assert reply.startswith("HTTP/1.1 408") and "request_timeout" in reply
    assert "server:" not in reply.lower()


def test_a_bug_is_a_500_in_the_error_body(pipeline, settings):
    with TestClient(_app(pipeline, settings), raise_server_exceptions=False) as c:
        c.app.state.pipeline.faq = lambda *a, **k: 1 / 0  # on the app's own copy of the pipeline
        _error(c.post("/v1/faq", json={"question": "发票"}), 500, "internal_error")
