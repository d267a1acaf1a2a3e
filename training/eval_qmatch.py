"""Our retrieval stack on the public qmatch sets: pair Spearman and FAQ-style retrieval.

Uses exactly what the service uses: TextNormalizer() (no shop synonyms or user words, since
these are not our shop's texts), the sentence encoder from models/embedding applied to
canonical() text, BM25Retriever over lexical_terms(), and HybridIndex for retrieval.
qmatch is evaluation-only data (shared/datasets/qmatch/README.md): nothing here is trained or
tuned on it; report on `test`, and use `dev` if you tune fusion weights elsewhere.

Pair scores (Spearman ×100 against the label, every pair of the split):
- dense:  cosine of the two canonical sentences' embeddings (symmetric).
- bm25:   BM25 score of sentence2 as the document for sentence1's terms as the query, with a
          BM25Retriever fitted on all distinct sentences of the split (both columns), so IDF
          and average length come from the split itself. It is asymmetric: only sentence2's
          length is normalised and only sentence1's terms (with their repeats) are summed;
          score(s1→s2) != score(s2→s1). That is the direction the service uses (customer
          message → indexed phrasing).
- fused:  mean of the two scores' normalised ranks, (rank(dense) + rank(bm25)) / 2n, average
          ranks for ties (many pairs tie at bm25 = 0). Rank-based because cosine and BM25 live
          on unrelated scales; it is the per-pair analogue of RRF with equal weights.

Retrieval (binary sets, README protocol): queries = distinct sentence1 of positive pairs;
corpus = all distinct sentence2 of the split, one Entry(kind="faq") each; gold = the
sentence2s positively paired with the query. HybridIndex.search with the service's rrf_k and
candidates, and weights (bm25, dense) = (0, 1) "dense only", (1, 0) "bm25 only" and the
service's configured weights "hybrid (RRF)". A query's rank is that of its best gold among the
hits with a fused score > 0 (a zero-weight retriever still contributes zero-score hits, ordered
by id, which are not retrievals); MRR is therefore truncated at `candidates` (50).
Many queries also occur verbatim as a non-gold sentence2 of another pair, so an exact copy of
the query outranks its gold under the protocol; the *_skip_self metrics repeat the ranking
with hits whose canonical text equals the query's dropped (unless gold), which is how the
service would treat an FAQ phrasing identical to the message.
Query vectors are passed to search() precomputed, so ms/query covers ranking, not encoding.

    python -m training.eval_qmatch [--sets lcqmc bq atec_ccks stsb_zh] [--split test] [--model DIR]

Prints the tables and writes training/reports/qmatch.json (qmatch_<split>.json for other splits).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from scipy.stats import rankdata, spearmanr

from assist.config import get_settings
from assist.normalize import TextNormalizer
from assist.pipeline import new_index
from assist.retrieval.bm25 import BM25Retriever
from assist.retrieval.encoder import Encoder, SentenceTransformerEncoder
from assist.types import Entry
from training.data import REPORTS
from training.eval_embedding import BINARY_SETS, SETS, load_pairs, retrieval_task

Pair = tuple[str, str, float]

# Theirs, not ours: Spearman ×100 of cosine vs label on the test splits, from the text2vec
# README as quoted in shared/datasets/qmatch/README.md. Their ATEC test is a different split
# from our atec_ccks; LCQMC, BQ and STS-B are the same official test sets.
_PUBLISHED_COLUMNS = ("atec_ccks", "bq", "lcqmc", "stsb_zh")
PUBLISHED_SPEARMAN: dict[str, dict[str, float]] = {
    model: dict(zip(_PUBLISHED_COLUMNS, values)) for model, values in (
        ("w2v-light-tencent-chinese (avg word2vec)", (20.00, 31.49, 59.46, 55.78)),
        ("paraphrase-multilingual-MiniLM-L12-v2", (18.42, 38.52, 63.96, 78.90)),
        ("text2vec-base-chinese (CoSENT, macbert-base)", (31.93, 42.67, 70.16, 79.30)),
        ("text2vec-base-chinese-paraphrase (ernie-3.0-base)", (44.89, 63.58, 74.24, 78.93)),
        ("CoSENT bert-base-chinese, trained on each train split", (49.74, 72.38, 78.69, 79.27)),
    )
}
PUBLISHED_SOURCE = ("text2vec README (github.com/shibing624/text2vec) via shared/datasets/qmatch/README.md; "
                    "their ATEC test split differs from atec_ccks")


class CachedEncoder:
    """The service encoder with a text → vector memo, so each distinct sentence of a split is
    encoded once, in large batches, although HybridIndex and the pair scores both ask for it."""

    def __init__(self, base: SentenceTransformerEncoder, batch: int = 4096):
        self.base = base
        self.batch = batch
        self.cache: dict[str, np.ndarray] = {}

    @property
    def version(self) -> str:
        return self.base.version

    @property
    def dim(self) -> int:
        return self.base.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.cache})
        for i in range(0, len(missing), self.batch):
            chunk = missing[i:i + self.batch]
            self.cache.update(zip(chunk, self.base.encode(chunk)))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.cache[t] for t in texts])


def pair_scores(pairs: Sequence[Pair], normalizer: TextNormalizer, encoder: Encoder) -> dict[str, np.ndarray]:
    """Dense cosine, BM25(s1 → s2) and rank-fused score for every pair."""
    sentences = sorted({s for s1, s2, _ in pairs for s in (s1, s2)})
    row = {s: i for i, s in enumerate(sentences)}
    canon = [normalizer.canonical(s) for s in sentences]
    vecs = encoder.encode(canon)
    dense = np.array([float(vecs[row[s1]] @ vecs[row[s2]]) for s1, s2, _ in pairs])

    terms = [normalizer.lexical_terms(s) for s in sentences]
    bm25 = BM25Retriever().fit(terms)
    # One BM25 pass per distinct sentence1 scores all of its pairs at once.
    by_query: dict[str, list[int]] = {}
    for i, (s1, _, _) in enumerate(pairs):
        by_query.setdefault(s1, []).append(i)
    lexical = np.zeros(len(pairs))
    for s1, idx in by_query.items():
        scores = bm25.scores(terms[row[s1]])
        lexical[idx] = scores[[row[pairs[i][1]] for i in idx]]

    n = len(pairs)
    fused = (rankdata(dense) + rankdata(lexical)) / (2 * n)
    return {"dense": dense, "bm25": lexical, "fused": fused}


def retrieval(pairs: Sequence[Pair], normalizer: TextNormalizer, encoder: Encoder,
              variants: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """README retrieval protocol through HybridIndex; one index, weights switched per variant."""
    corpus, gold, queries = retrieval_task(pairs)
    entry_id = {s: f"q{i:06d}" for i, s in enumerate(corpus)}
    entries = [Entry(id=entry_id[s], kind="faq", title=s, texts=(s,), answer="", source="qmatch") for s in corpus]

    settings = get_settings()
    index = new_index(settings, normalizer, encoder).build(entries)
    canon_q = [normalizer.canonical(q) for q in queries]
    qmsgs = normalizer.parse_many(queries, encoder=encoder, lexical=True)
    # A copy of the query (same canonical text) in the corpus that is not gold is a distractor
    # the protocol keeps; counted so the skip-self columns can be read in context.
    canon_of = {entry_id[s]: normalizer.canonical(s) for s in corpus}
    canon_corpus: dict[str, set[str]] = {}
    for s in corpus:
        canon_corpus.setdefault(canon_of[entry_id[s]], set()).add(s)
    with_copy = sum(bool(canon_corpus.get(c, set()) - gold[q]) for q, c in zip(queries, canon_q))
    out: dict[str, Any] = {"queries": len(queries), "corpus": len(corpus), "queries_also_in_corpus_not_gold": with_copy,
                           "top_k": index.candidates, "variants": {}}
    for name, (wb, wd) in variants.items():
        index.bm25_weight, index.dense_weight = wb, wd
        ranks = np.zeros(len(queries))  # 0 = gold not retrieved
        ranks_ns = np.zeros(len(queries))  # the same, skipping non-gold copies of the query itself
        search_s = 0.0
        for qi, q in enumerate(queries):
            t0 = time.perf_counter()
            hits = index.search(qmsgs[qi], top_k=index.candidates, kinds=("faq",))
            search_s += time.perf_counter() - t0
            golds = {entry_id[g] for g in gold[q]}
            ids = [h.entry.id for h in hits if h.score > 0]
            ranks[qi] = next((r for r, e in enumerate(ids, 1) if e in golds), 0)
            own = canon_q[qi]
            rest = [e for e in ids if e in golds or canon_of[e] != own]
            ranks_ns[qi] = next((r for r, e in enumerate(rest, 1) if e in golds), 0)
        ms = 1000 * search_s / max(len(queries), 1)
        out["variants"][name] = {"bm25_weight": wb, "dense_weight": wd, **_rank_metrics(ranks),
                                 **{f"{k}_skip_self": v for k, v in _rank_metrics(ranks_ns).items()},
                                 "ms_per_query": ms}
    return out


def _rank_metrics(ranks: np.ndarray) -> dict[str, float]:
    """Recall@1/@5 and MRR from 1-based ranks, 0 meaning not retrieved."""
    found = ranks > 0
    return {"recall@1": float(np.mean(found & (ranks <= 1))), "recall@5": float(np.mean(found & (ranks <= 5))),
            "mrr": float(np.mean(np.where(found, 1 / np.maximum(ranks, 1), 0.0)))}


def format_tables(report: dict[str, Any]) -> str:
    sets = list(report["sets"])
    split = report["split"]
    lines = [f"qmatch, {split} split; encoder {report['encoder']} ({report['model_path']}); "
             "TextNormalizer() without shop synonyms",
             "", f"Spearman x100 of pair score vs label ({split})",
             f"{'':<58}" + "".join(f"{s:>11}" for s in sets)]
    for key, label in (("dense", "ours: dense cosine"), ("bm25", "ours: BM25 (s1 terms -> s2)"),
                       ("fused", "ours: fused (mean of normalised ranks)")):
        lines.append(f"{label:<58}" + "".join(f"{report['sets'][s]['spearman'][key]:>11.2f}" for s in sets))
    if split == "test":
        lines.append(f"theirs, published ({PUBLISHED_SOURCE.split(' via ')[0]}):")
        for model, vals in PUBLISHED_SPEARMAN.items():
            lines.append(f"  {model:<56}" + "".join(f"{vals[s]:>11.2f}" for s in sets))
        if "atec_ccks" in sets:
            lines.append("  (their ATEC column is a different test split from atec_ccks)")
    else:
        lines.append("(published baselines are test-split numbers; not shown beside dev)")

    binary = [s for s in sets if "retrieval" in report["sets"][s]]
    if binary:
        lines += ["", f"Retrieval ({split}): queries = distinct positive sentence1, corpus = distinct sentence2; "
                      f"HybridIndex rrf_k={report['hybrid']['rrf_k']}, candidates={report['hybrid']['candidates']}",
                  f"{'set':<11}{'variant':<15}{'queries':>8}{'corpus':>8}{'R@1':>8}{'R@5':>8}{'MRR':>8}"
                  f"{'| R@1':>9}{'MRR':>8}{'ms/q':>7}"]
        for s in binary:
            r = report["sets"][s]["retrieval"]
            for name, m in r["variants"].items():
                lines.append(f"{s:<11}{name:<15}{r['queries']:>8}{r['corpus']:>8}{m['recall@1']:>8.4f}"
                             f"{m['recall@5']:>8.4f}{m['mrr']:>8.4f}  |{m['recall@1_skip_self']:>7.4f}"
                             f"{m['mrr_skip_self']:>8.4f}{m['ms_per_query']:>7.2f}")
        copies = ", ".join(f"{s} {report['sets'][s]['retrieval']['queries_also_in_corpus_not_gold']}" for s in binary)
        lines.append("right of | : the same, skipping non-gold corpus copies of the query itself "
                     f"(queries with one: {copies})")
    lines.append("")
    lines.append("seconds: " + ", ".join(f"{s} {report['sets'][s]['seconds']:.0f}" for s in sets)
                 + f"; total {report['seconds_total']:.0f}")
    return "\n".join(lines)


def run(sets: Sequence[str], split: str, model_path: Path) -> tuple[dict[str, Any], str]:
    t_start = time.perf_counter()
    # Searches are one query at a time: OpenMP threads only add overhead there, and stall badly
    # (10-50x) when another process holds the 2 cores. Results are identical either way.
    faiss.omp_set_num_threads(1)
    settings = get_settings()
    normalizer = TextNormalizer()  # no shop synonyms: these are not our shop's questions
    normalizer.warm_up()
    base = SentenceTransformerEncoder(path=model_path)
    base.warm_up()
    r = settings.retrieval
    variants = {"dense only": (0.0, 1.0), "bm25 only": (1.0, 0.0), "hybrid (RRF)": (r.bm25_weight, r.dense_weight)}
    report: dict[str, Any] = {
        "split": split, "encoder": base.version, "model_path": str(model_path),
        "hybrid": {"rrf_k": r.rrf_k, "candidates": r.candidates,
                   "bm25_weight": r.bm25_weight, "dense_weight": r.dense_weight},
        "published_spearman_theirs": {"source": PUBLISHED_SOURCE, "test_split": PUBLISHED_SPEARMAN},
        "sets": {},
    }
    for name in sets:
        t0 = time.perf_counter()
        pairs = load_pairs(name, split)
        encoder = CachedEncoder(base)  # fresh memo per set bounds memory
        labels = np.array([label for _, _, label in pairs])
        scores = pair_scores(pairs, normalizer, encoder)
        res: dict[str, Any] = {
            "pairs": len(pairs),
            "spearman": {k: 100 * float(spearmanr(v, labels).statistic) for k, v in scores.items()},
        }
        if name in BINARY_SETS:
            res["retrieval"] = retrieval(pairs, normalizer, encoder, variants)
        res["seconds"] = time.perf_counter() - t0
        report["sets"][name] = res
    report["seconds_total"] = time.perf_counter() - t_start
    return report, format_tables(report)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--split", default="test", choices=["dev", "test"])
    ap.add_argument("--model", type=Path, default=None,
                    help="embedding folder (default: the service's models/embedding)")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = get_settings()
    model_path = args.model or settings.model_path("embedding")
    report, table = run(args.sets, args.split, model_path)
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / ("qmatch.json" if args.split == "test" else f"qmatch_{args.split}.json")
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(table)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
