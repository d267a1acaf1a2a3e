"""Dense scoring: inner product over L2-normalised vectors with faiss.

Exact (IndexFlatIP) up to `hnsw_min_rows` rows; above that an HNSW graph, because an exact
scan grows with the knowledge base (≈5 ms at 60k rows on one core) while HNSW stays under
1 ms. Candidates are re-scored exactly by the caller, so only which rows are found is
approximate (agreement with exact search: benchmarks/ann_recall.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from assist.errors import ArtifactError

HNSW_M = 32  # graph degree: faiss's usual default; memory ~ M * 8 bytes a row on top of the vectors
HNSW_EF_CONSTRUCTION = 80


class DenseRetriever:
    def __init__(self, *, hnsw_min_rows: int = 20000, ef_search: int = 128) -> None:
        self.hnsw_min_rows = hnsw_min_rows
        self.ef_search = ef_search
        self.index_: faiss.Index | None = None

    def fit(self, vectors: np.ndarray) -> "DenseRetriever":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        d = vectors.shape[1]
        if len(vectors) >= self.hnsw_min_rows:
            index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is batch work: use every core
            try:
                index.add(vectors)
            finally:
                faiss.omp_set_num_threads(threads)
        else:
            index = faiss.IndexFlatIP(d)
            index.add(vectors)
        self.index_ = index
        self._configure()
        return self

    def _configure(self) -> None:
        # faiss explores max(efSearch, k) candidates; the hybrid index asks for k = 8 x its
        # candidates (400 by default), so efSearch only matters for smaller requests.
        if isinstance(self.index_, faiss.IndexHNSW):
            self.index_.hnsw.efSearch = self.ef_search

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self.index_, faiss.IndexHNSW) else "flat"

    @property
    def size(self) -> int:
        return 0 if self.index_ is None else int(self.index_.ntotal)

    @property
    def vectors(self) -> np.ndarray:
        """The stored vectors as a zero-copy (rows, dim) view, for exact re-scoring."""
        if self.index_ is None:
            raise ArtifactError("DenseRetriever is not fitted yet; call fit() or load() first")
        flat = faiss.downcast_index(self.index_.storage) if isinstance(self.index_, faiss.IndexHNSW) else self.index_
        return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (similarities, row ids) for one query vector; row id -1 pads a short result."""
        if self.index_ is None:
            raise ArtifactError("DenseRetriever is not fitted yet; call fit() or load() first")
        k = min(k, self.size)
        sims, ids = self.index_.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return sims[0], ids[0]

    def save(self, path: Path) -> None:
        if self.index_ is None:
            raise ArtifactError("DenseRetriever is not fitted yet")
        faiss.write_index(self.index_, str(path))

    @classmethod
    def load(cls, path: Path, *, hnsw_min_rows: int = 20000, ef_search: int = 128) -> "DenseRetriever":
        self = cls(hnsw_min_rows=hnsw_min_rows, ef_search=ef_search)
        self.index_ = faiss.read_index(str(path))
        self._configure()
        return self
