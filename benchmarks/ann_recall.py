"""How much the HNSW dense index (used above `hnsw_min_rows` phrasings) changes results.

Builds the same synthetic knowledge base as latency.py, indexes it twice (exact IndexFlatIP
and HNSW with the service's settings), runs the latency benchmark's 200 request messages
through both and reports, per query: overlap of the dense top-10 entries, whether the
hybrid (BM25 + dense, fused) top-1 and top-5 are unchanged, and search time.

    python benchmarks/ann_recall.py --entries 10000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import latency  # noqa: E402  (sibling script)
import synth_kb  # noqa: E402

from assist.config import get_settings  # noqa: E402
from assist.knowledge import require_knowledge  # noqa: E402
from assist.normalize import TextNormalizer  # noqa: E402
from assist.pipeline import new_index  # noqa: E402
from assist.retrieval.encoder import SentenceTransformerEncoder  # noqa: E402

REPORT = Path(__file__).resolve().parent / "reports" / "ann_recall.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10000)
    ap.add_argument("--report", type=Path, default=REPORT)
    args = ap.parse_args(argv)

    settings = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        synth_kb.build(args.entries, Path(tmp) / "kb")
        kb = require_knowledge(Path(tmp) / "kb")
    normalizer = TextNormalizer.for_shop(kb)
    encoder = SentenceTransformerEncoder(path=settings.model_path("embedding"))
    encoder.warm_up()
    entries = kb.entries()
    exact_settings = settings.model_copy(deep=True)
    exact_settings.retrieval.hnsw_min_rows = 10**9
    hnsw_settings = settings.model_copy(deep=True)
    hnsw_settings.retrieval.hnsw_min_rows = 1
    exact = new_index(exact_settings, normalizer, encoder).build(entries, kb_version=kb.version)
    hnsw = new_index(hnsw_settings, normalizer, encoder).build(entries, kb_version=kb.version)

    queries = [b["message"] for b in latency.build_bodies(7, latency.REPO / "knowledge")]
    overlap, same1, same5, t_exact, t_hnsw = [], [], [], [], []
    allowed = [True] * len(entries)
    for q in queries:
        msg = normalizer.parse(q, encoder=encoder)
        vec = msg.embedding
        de, dh = exact._dense_ranking(vec, allowed)[:10], hnsw._dense_ranking(vec, allowed)[:10]
        overlap.append(len(set(de) & set(dh)) / max(len(de), 1))
        t0 = time.perf_counter()
        he = [h.entry.id for h in exact.search(msg, top_k=5)]
        t1 = time.perf_counter()
        hh = [h.entry.id for h in hnsw.search(msg, top_k=5)]
        t2 = time.perf_counter()
        t_exact.append((t1 - t0) * 1000)
        t_hnsw.append((t2 - t1) * 1000)
        same1.append(he[:1] == hh[:1])
        same5.append(he == hh)

    result = {
        "command": f"python benchmarks/ann_recall.py --entries {args.entries}",
        "entries": len(entries), "phrasings": len(exact.rows_), "queries": len(queries),
        "hnsw_ef_search": settings.retrieval.hnsw_ef_search,
        "dense_top10_overlap": round(statistics.mean(overlap), 4),
        "hybrid_top1_unchanged": round(sum(same1) / len(same1), 4),
        "hybrid_top5_unchanged": round(sum(same5) / len(same5), 4),
        "search_ms_p50": {"exact": round(statistics.median(t_exact), 3), "hnsw": round(statistics.median(t_hnsw), 3)},
    }
    print(f"{result['entries']} entries, {result['phrasings']} phrasings, {len(queries)} queries, efSearch "
          f"{result['hnsw_ef_search']}\n")
    print("| metric | value |\n|---|---:|")
    for k in ("dense_top10_overlap", "hybrid_top1_unchanged", "hybrid_top5_unchanged"):
        print(f"| {k} | {result[k]:.4f} |")
    print(f"| hybrid search p50, exact (ms) | {result['search_ms_p50']['exact']:.3f} |")
    print(f"| hybrid search p50, HNSW (ms) | {result['search_ms_p50']['hnsw']:.3f} |")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nreport: {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
