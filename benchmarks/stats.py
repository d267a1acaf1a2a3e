"""The operations report on a big log: --rows interactions spread over 30 days (plus one
feedback row per 20 answers) in a fresh database, then the month's report
(assist/store/stats.py, as GET /v1/admin/stats runs it), timed --repeat times. Rows are
written as the interaction log writes them (a batch and its daily counts in one transaction).
Target: under 1 s for a month of 1M logged requests.

    python benchmarks/stats.py --rows 1000000 [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assist.store import db, stats
from assist.store.tables import Feedback, Interaction
from assist.types import INTENTS

DEFAULT_REPORT = REPO / "benchmarks" / "reports" / "stats.json"
BATCH = 20_000


def fill(engine, rows: int, start: dt.datetime, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    entries = [f"faq-{i:04d}" for i in range(900)]
    weights = [1 / (k + 1) for k in range(len(entries))]  # a few entries take most traffic
    with tqdm(total=rows, desc="logging", unit="row", file=sys.stderr) as bar:
        for first in range(0, rows, BATCH):
            batch, feedback = [], []
            for k in range(first, min(first + BATCH, rows)):
                faq = rng.random() < 0.3
                esc = rng.choices(["none", "watch", "escalate"], [0.85, 0.1, 0.05])[0]
                top = rng.choices(entries, weights)[0]
                rid = f"r{k}"
                batch.append({
                    "request_id": rid, "endpoint": "faq" if faq else "suggest",
                    "created_at": start + dt.timedelta(seconds=rng.uniform(0, 30 * 86400)), "shop": "bench",
                    "conversation_id": None, "agent_id": None, "message": "亲 这个什么时候发货", "intent": rng.choice(INTENTS),
                    "intent_confidence": 0.8, "sentiment": "neutral", "sentiment_probabilities": None,
                    "escalation": esc, "escalation_probability": 0.1,
                    "route": "after_sales" if esc != "none" else None,
                    "reasons": ["angry_tone"] if esc == "escalate" else [],
                    "top_entry_id": top, "top_confidence": 0.9,
                    "suggestions": [{"rank": 1, "entry_id": top, "kind": "faq", "confidence": 0.9}],
                    "answered": rng.random() < 0.5 if faq else None, "handoff_reason": None, "versions": {},
                    "latency_ms": 8.0})
                if k % 20 == 0:
                    action = rng.choice(["accepted", "accepted", "edited", "rejected"])
                    feedback.append({"client_key": f"k{k}", "request_id": rid, "source": "sidebar",
                                     "created_at": batch[-1]["created_at"], "rank": 1, "entry_id": top, "action": action,
                                     "helpful": None, "edited_text": None,
                                     "reasons": ["tone"] if action != "accepted" else [], "comment": None,
                                     "corrected_intent": None, "answer_intent": batch[-1]["intent"],
                                     "corrected_escalation": None, "agent_id": None})
            with engine.begin() as conn:  # as the interaction log writes a batch
                conn.execute(insert(Interaction), batch)
                stats.add_counts(conn, batch)
                if feedback:
                    conn.execute(insert(Feedback), feedback)
            bar.update(len(batch))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xiaoer-stats-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/log.db"
        engine = db.ready_engine(url)
        start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        t0 = time.perf_counter()
        fill(engine, args.rows, start, args.seed)
        fill_s = time.perf_counter() - t0
        window = stats.window(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = stats.report(engine, *window)
            times.append(time.perf_counter() - t0)
        engine.dispose()
    assert r["requests"]["suggest"] + r["requests"]["faq"] == args.rows
    out = {"command": "python benchmarks/stats.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "database": url.split(":", 1)[0].split("+")[0], "rows": args.rows, "fill_s": round(fill_s, 1),
           "report_s": {"p50": round(statistics.median(times), 3), "max": round(max(times), 3), "runs": len(times)},
           "feedback_rows": r["suggestions"]["feedback"], "write_rows_per_s": round(args.rows / fill_s)}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(out, indent=2), encoding="utf-8")
    ok = out["report_s"]["p50"] < 1.0
    print(f"| database | logged requests | feedback | month's report p50 / max | target |\n|---|---|---|---|---|\n"
          f"| {out['database']} | {args.rows:,} | {out['feedback_rows']:,} | {out['report_s']['p50']:.3f} s / "
          f"{out['report_s']['max']:.3f} s | < 1 s: {'met' if ok else 'MISSED'} |\n\nreport: {args.report}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
