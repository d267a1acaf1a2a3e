"""Sentence encoders. The default is our distilled static embedding (models/embedding)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assist.errors import ArtifactError


class Encoder(Protocol):
    version: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local folder, never from a hub."""

    def __init__(self, *, path: Path):
        self.path = Path(path)
        self.model_ = None
        self.version = ""
        self.dim = 0
        self._static: tuple[object, np.ndarray] | None = None  # (tokenizer, fp32 token vectors)

    def warm_up(self) -> None:
        if self.model_ is not None:
            return
        if not (self.path / "modules.json").exists():
            raise ArtifactError(
                f"no sentence-transformers model at {self.path} (expected modules.json); "
                "build it with `python training/distill_embedding.py`"
            )
        from sentence_transformers import SentenceTransformer  # heavy: import on first use

        self.model_ = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.dim = int(self.model_.get_embedding_dimension() or 0)
        self.version = _folder_digest(self.path)
        modules = list(self.model_)
        if len(modules) == 1 and type(modules[0]).__name__ == "StaticEmbedding":
            weights = modules[0].embedding.weight.detach().float().numpy()
            self._static = (modules[0].tokenizer, np.ascontiguousarray(weights))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        assert self.model_ is not None
        if self._static is not None:
            return self._encode_static(list(texts))
        vecs = self.model_.encode(
            list(texts), batch_size=256, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )
        # A text with no known token (emoji only) pools to 0/0: make it the zero vector, which
        # is similar to nothing, instead of NaN, which would poison every score it touches.
        return np.ascontiguousarray(np.nan_to_num(vecs, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float32)


    def _encode_static(self, texts: list[str]) -> np.ndarray:
        """StaticEmbedding's forward pass (mean of token vectors) in numpy: the same vectors
        as model.encode() (tests/test_retrieval.py checks), without its ~0.5 ms of per-call
        overhead, which is most of a query's encoding time."""
        assert self._static is not None
        tokenizer, weights = self._static
        ids = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]  # type: ignore[attr-defined]
        counts = np.array([len(i) for i in ids], dtype=np.int64)
        out = np.zeros((len(texts), weights.shape[1]), dtype=np.float32)
        if counts.sum() == 0:
            return out
        flat = np.fromiter((t for row in ids for t in row), dtype=np.int64, count=int(counts.sum()))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        nonempty = counts > 0
        sums = np.add.reduceat(weights[flat], starts[nonempty], axis=0)
        out[nonempty] = sums / counts[nonempty, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # A text with no known token (emoji only) stays the zero vector: similar to nothing.
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def _folder_digest(path: Path) -> str:
    """Content hash of a model folder: indexes built with another model are refused."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in {".json", ".safetensors", ".txt"}):
        h.update(f.relative_to(path).as_posix().encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:12]
