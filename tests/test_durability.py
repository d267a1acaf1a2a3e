"""Every acknowledged feedback survives a SIGKILL of the server (bounded, loopback only),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from conftest import TEST_KB
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from assist.store.tables import Feedback

CLIENTS, PER_CLIENT = 4, 60


def _serve(tmp: Path, db_url: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ASSIST_PATHS__KNOWLEDGE_DIR": str(TEST_KB), "ASSIST_PATHS__INDEX_DIR": str(tmp / "index"),
           "ASSIST_DATABASE_URL": db_url, "ASSIST_WIDGET_RATE_LIMIT": "100000/minute"}
    with open(tmp / "server.log", "ab") as log:  # the child keeps its own copy of the file
        proc = subprocess.Popen([sys.executable, "-m", "assist", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        assert proc.poll() is None, (tmp / "server.log").read_text()
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not become ready")


def test_acknowledged_feedback_survives_sigkill(tmp_path, db_url):
    proc, base = _serve(tmp_path, db_url)
    acked: list[str] = []
    lock = threading.Lock()
    try:
        with httpx.Client(base_url=base, timeout=10) as c:
            rids = [c.post("/v1/suggest", json={"message": f"退货运费谁出 {i}"}).json()["request_id"] for i in range(5)]

        def client(n: int) -> None:
            with httpx.Client(base_url=base, timeout=10) as c:
                for i in range(PER_CLIENT):
                    key = f"c{n}-{i}"
                    try:
                        r = c.post("/v1/feedback", json={"request_id": rids[i % len(rids)], "client_key": key,
                                                         "rank": 1, "action": "accepted"})
                    except httpx.TransportError:
                        return  # the server is gone
                    if r.status_code in (200, 201):
                        with lock:
                            acked.append(key)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        while len(acked) < CLIENTS * PER_CLIENT // 3 and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # mid-stream
        for t in threads:
            t.join(30)
    finally:
        proc.kill()
        proc.wait(10)
    assert 0 < len(acked) < CLIENTS * PER_CLIENT, "the kill should land mid-stream"

    proc, base = _serve(tmp_path, db_url)  # restarts on the same database
    try:
        engine = create_engine(db_url)
        with Session(engine) as s:
            stored = {f.client_key: f for f in s.scalars(select(Feedback))}
        engine.dispose()
        lost = [k for k in acked if k not in stored]
        assert not lost, f"{len(lost)} acknowledged feedback rows lost"
        assert all(stored[k].action == "accepted" and stored[k].request_id in rids for k in acked)
    finally:
        proc.terminate()
        proc.wait(20)
