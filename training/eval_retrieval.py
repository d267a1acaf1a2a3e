"""FAQ retrieval on held-out phrasings: Recall@1/@5 and MRR, with ablations and thresholds.

For every FAQ entry one phrasing (picked by a hash of the entry id) is removed from the
index and used as the query, so no query text is ever indexed. Out-of-scope questions
(voice-assistant queries from smp2019_ecdt_nlu, evaluation only) measure how often the
widget would answer something it should hand over.

    python -m training.eval_retrieval        # or: assist evaluate retrieval
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import time

import numpy as np

from assist.config import Settings, get_settings
from assist.knowledge import KnowledgeBase, require_knowledge
from assist.normalize import TextNormalizer
from assist.pipeline import new_index
from assist.retrieval.encoder import SentenceTransformerEncoder
from assist.types import Entry
from training.data import DATASETS, REPORTS


def held_out_split(entries: list[Entry], salt: str = "") -> tuple[list[Entry], list[tuple[str, str]]]:
    """(entries without their held-out phrasing, [(query, gold entry id)]). salt="dev" picks
    another phrasing per entry, for tuning fusion settings without touching the test one."""
    indexed, queries = [], []
    for e in entries:
        if e.kind != "faq" or len(e.texts) < 3:
            indexed.append(e)
            continue
        k = int(hashlib.sha256((salt + e.id).encode()).hexdigest(), 16) % len(e.texts)
        queries.append((e.texts[k], e.id))
        indexed.append(dataclasses.replace(e, texts=e.texts[:k] + e.texts[k + 1:]))
    return indexed, queries


def out_of_scope_queries(n: int = 300) -> list[str]:
    """Voice-assistant queries (smp2019, evaluation only): a second, external out-of-scope set."""
    path = DATASETS / "smp2019_ecdt_nlu" / "smp2019_nlu.jsonl"
    if not path.exists():
        return []
    texts = sorted({json.loads(l)["text"] for l in path.read_text(encoding="utf-8").splitlines() if l.strip()})
    random.Random(0).shuffle(texts)
    return texts[:n]


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    r = np.array([x if x is not None else 10**9 for x in ranks])
    return {"recall@1": round(float((r <= 1).mean()), 4), "recall@5": round(float((r <= 5).mean()), 4),
            "mrr": round(float(np.mean([1 / x if x < 10**9 else 0.0 for x in r])), 4)}


def _load(settings: Settings) -> tuple[KnowledgeBase, TextNormalizer, SentenceTransformerEncoder]:
    kb = require_knowledge(settings.paths.knowledge_dir)
    normalizer = TextNormalizer.for_shop(kb)
    encoder = SentenceTransformerEncoder(path=settings.model_path("embedding"))
    encoder.warm_up()
    return kb, normalizer, encoder


def run(*, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    kb, normalizer, encoder = _load(settings)
    indexed, queries = held_out_split(kb.entries())
    index = new_index(settings, normalizer, encoder).build(indexed, kb_version=kb.version)

    report: dict[str, object] = {"kb_version": kb.version, "encoder": encoder.version,
                                 "faq_entries": len(queries), "queries": len(queries)}
    variants = {"hybrid (RRF)": (settings.retrieval.bm25_weight, settings.retrieval.dense_weight),
                "bm25 only": (1.0, 0.0), "dense only": (0.0, 1.0)}
    rows = []
    failures = []
    for name, (wb, wd) in variants.items():
        index.bm25_weight, index.dense_weight = wb, wd
        ranks: list[int | None] = []
        t0 = time.perf_counter()
        for q, gold in queries:
            hits = index.search(q, top_k=10, kinds=("faq",))
            ids = [h.entry.id for h in hits]
            ranks.append(ids.index(gold) + 1 if gold in ids else None)
            if name.startswith("hybrid"):
                if ids[0] != gold:
                    failures.append({"query": q, "gold": gold, "top1": ids[0]})
        ms = (time.perf_counter() - t0) * 1000 / len(queries)
        m = _metrics(ranks)
        rows.append({"variant": name, **m, "ms_per_query": round(ms, 3)})
    index.bm25_weight, index.dense_weight = settings.retrieval.bm25_weight, settings.retrieval.dense_weight
    report["results"] = rows
    report["failures"] = failures

    report["widget"] = "the widget decides on the learned ranker's calibrated confidence: assist evaluate ranker"
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "retrieval.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [f"FAQ retrieval, held-out phrasings: {len(queries)} queries over {len(queries)} FAQ entries "
             f"(kb {kb.version}, encoder {encoder.version})",
             f"{'variant':<16}{'R@1':>8}{'R@5':>8}{'MRR':>8}{'ms/q':>8}"]
    lines += [f"{r['variant']:<16}{r['recall@1']:>8.4f}{r['recall@5']:>8.4f}{r['mrr']:>8.4f}{r['ms_per_query']:>8.2f}" for r in rows]
    lines += ["", "retrieval stage only (fused order); the service re-orders with the learned ranker and the "
              "widget decides on its calibrated confidence: see `assist evaluate ranker`"]
    lines.append(f"\nwrote {REPORTS / 'retrieval.json'}")
    return "\n".join(lines)


def tune(*, settings: Settings | None = None) -> str:
    """Grid over fusion settings on the dev hold-out (another phrasing than the test one)."""
    settings = settings or get_settings()
    kb, normalizer, encoder = _load(settings)
    entries = kb.entries()
    _, test_queries = held_out_split(entries)
    test_ids = {q for q, _ in test_queries}
    indexed, queries = held_out_split(entries, salt="dev")
    queries = [(q, g) for q, g in queries if q not in test_ids]
    index = new_index(settings, normalizer, encoder).build(indexed, kb_version=kb.version)
    lines = [f"dev hold-out: {len(queries)} queries", f"{'bm25_w':>7}{'rrf_k':>7}{'R@1':>8}{'MRR':>8}"]
    for wb in (0.5, 1.0, 1.5, 2.0):
        for k in (10, 30, 60):
            index.bm25_weight, index.dense_weight, index.rrf_k = wb, 1.0, k
            ranks = []
            for q, gold in queries:
                ids = [h.entry.id for h in index.search(q, top_k=10, kinds=("faq",))]
                ranks.append(ids.index(gold) + 1 if gold in ids else None)
            m = _metrics(ranks)
            lines.append(f"{wb:>7.1f}{k:>7}{m['recall@1']:>8.4f}{m['mrr']:>8.4f}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(tune() if "--tune" in sys.argv else run())
