"""Hybrid retrieval: BM25 (lexical) and a static sentence embedding (dense), fused by RRF."""
