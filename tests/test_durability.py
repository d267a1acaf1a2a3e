"""Every acknowledged feedback survives a SIGKILL of the server (bounded, loopback only),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import signal
import threading
import time

import httpx
from conftest import serve
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from assist.store.tables import Feedback

CLIENTS, PER_CLIENT = 4, 60


def test_acknowledged_feedback_survives_sigkill(tmp_path, db_url):
    proc, base = serve(tmp_path, ASSIST_DATABASE_URL=db_url)
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

    proc, base = serve(tmp_path, ASSIST_DATABASE_URL=db_url)  # restarts on the same database
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
