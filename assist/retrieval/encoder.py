"""Sentence encoders. The default is our distilled static embedding (models/embedding)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assist.artifacts import MANIFEST, sha256_file, write_manifest
from assist.errors import ArtifactError, ChecksumMismatch


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

    @staticmethod
    def check(path: Path) -> str:
        """The model folder's version, once its files are checked (ArtifactError if not)."""
        if not (path / "modules.json").exists():
            raise ArtifactError(
                f"{path}: no sentence-transformers model (expected modules.json); "
                "build it with `python training/distill_embedding.py`"
            )
        return _folder_digest(path)

    def warm_up(self) -> None:
        if self.model_ is not None:
            return
        version = self.check(self.path)
        from sentence_transformers import SentenceTransformer  # heavy: import on first use

        self.model_ = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.dim = int(self.model_.get_embedding_dimension() or 0)
        self.version = version
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


MODEL_SUFFIXES = frozenset({".json", ".safetensors", ".txt"})  # the files that make the model


def stamp(path: Path) -> str:
    """Write the model folder's manifest (the hashes of its model files); returns its version."""
    version = _folder_digest(path)
    write_manifest(path, name="embedding", suffixes=MODEL_SUFFIXES, version=version)
    return version


def _folder_digest(path: Path) -> str:
    """Content hash of a model folder (indexes and classifiers built with another model are
    refused), after checking each file against the folder's manifest, so a damaged file is
    named as such rather than taken for another model."""
    hashes = {f.relative_to(path).as_posix(): sha256_file(f) for f in sorted(path.rglob("*"))
              if f.is_file() and f.name != MANIFEST and f.suffix in MODEL_SUFFIXES}
    manifest = path / MANIFEST
    if manifest.exists():
        for rel, digest in json.loads(manifest.read_text(encoding="utf-8")).get("files", {}).items():
            if hashes.get(rel) != digest:
                raise ChecksumMismatch(f"{path / rel} is missing or does not match the hash in {manifest} (damaged "
                                       "or replaced): restore it (git checkout) or rebuild it with "
                                       "`python training/distill_embedding.py`")
    h = hashlib.sha256()
    for rel, digest in hashes.items():
        h.update(rel.encode())
        h.update(bytes.fromhex(digest))
    return h.hexdigest()[:12]
