"""Hot reload under load: `assist serve` on the demo shop, 4 clients sending /v1/suggest
without pause, and --reloads reloads through POST /v1/admin/reload one after another.
Reports failed requests (target 0), each reload's duration, and the clients' latency.

    python benchmarks/reload.py --reloads 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from latency import ADMIN_TOKEN, REPO, Samples, build_bodies, running_server, summarize, synth_kb

DEFAULT_REPORT = REPO / "benchmarks" / "reports" / "reload.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT)
    args = parser.parse_args(argv)
    bodies = build_bodies(7, synth_kb.DEFAULT_SOURCE)
    work = Path(tempfile.mkdtemp(prefix="xiaoer-reload-"))
    try:
        (work / "index").mkdir()
        with running_server(REPO / "knowledge", work / "index", work / "server.log", 300) as srv:
            samples, done, lock = Samples(), threading.Event(), threading.Lock()

            def client(n: int) -> None:
                with httpx.Client(base_url=srv.base_url, timeout=60) as c:
                    i = n
                    while not done.is_set():
                        t0 = time.perf_counter()
                        try:
                            r = c.post("/v1/suggest", json=bodies[i % len(bodies)])
                        except httpx.HTTPError as e:
                            with lock:
                                samples.errors.append(f"{type(e).__name__}: {e}")
                            continue
                        with lock:
                            samples.add((time.perf_counter() - t0) * 1000, r)
                        i += args.clients

            threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
            for t in threads:
                t.start()
            time.sleep(2)
            durations, refused = [], 0
            with httpx.Client(base_url=srv.base_url, timeout=600,
                              headers={"authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
                for k in range(args.reloads):
                    t0 = time.perf_counter()
                    r = admin.post("/v1/admin/reload")
                    durations.append(time.perf_counter() - t0)
                    refused += r.status_code != 200
                    print(f"reload {k + 1}: {r.status_code} in {durations[-1]:.1f} s", flush=True)
            time.sleep(1)
            done.set()
            for t in threads:
                t.join(60)
        report = {"command": "python benchmarks/reload.py " + " ".join(argv or sys.argv[1:]),
                  "reloads": args.reloads, "reloads_refused": refused, "clients": args.clients,
                  "requests": len(samples.latencies_ms) + len(samples.errors), "failed_requests": len(samples.errors),
                  "error_samples": samples.errors[:5], "reload_s": summarize([d * 1000 for d in durations]),
                  "latency_ms": summarize(samples.latencies_ms)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    lat, rel = report["latency_ms"], report["reload_s"]
    print(f"\n| reloads | refused | requests | failed | reload p50 / max s | request p50 / p99 / max ms |\n"
          f"|---|---|---|---|---|---|\n| {args.reloads} | {refused} | {report['requests']} | {report['failed_requests']} "
          f"| {rel['p50_ms'] / 1000:.1f} / {rel['max_ms'] / 1000:.1f} | {lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} / "
          f"{lat['max_ms']:.1f} |\n\nreport: {args.report}")
    return 0 if report["failed_requests"] == 0 and refused == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
