"""Dense scoring: exact inner product (faiss IndexFlatIP) over L2-normalised vectors."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from assist.errors import ArtifactError


class DenseRetriever:
    def __init__(self) -> None:
        self.index_: faiss.Index | None = None

    def fit(self, vectors: np.ndarray) -> "DenseRetriever":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        self.index_ = index
        return self

    @property
    def size(self) -> int:
        return 0 if self.index_ is None else int(self.index_.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (similarities, row ids) for one query vector."""
        if self.index_ is None:
            raise ArtifactError("DenseRetriever is not fitted yet; call fit() or load() first")
        k = min(k, self.size)
        sims, ids = self.index_.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return sims[0], ids[0]

    def similarity(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosine of the query with the given rows (for entries found lexically only)."""
        assert self.index_ is not None
        vecs = np.vstack([self.index_.reconstruct(int(r)) for r in rows]) if len(rows) else np.zeros((0, self.index_.d), np.float32)
        return vecs @ query.astype(np.float32)

    def save(self, path: Path) -> None:
        if self.index_ is None:
            raise ArtifactError("DenseRetriever is not fitted yet")
        faiss.write_index(self.index_, str(path))

    @classmethod
    def load(cls, path: Path) -> "DenseRetriever":
        self = cls()
        self.index_ = faiss.read_index(str(path))
        return self
