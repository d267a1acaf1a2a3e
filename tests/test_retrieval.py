import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assist.errors import Incompatible
from assist.pipeline import new_index


def _ids(pipeline):
    return {e.id for e in pipeline.index.entries_}


@pytest.mark.parametrize("query, top_k", [("衣服不合适想退货 运费谁出", 3), ("发票", 1), ("HA-2003 能烤蛋糕吗", 5), ("在吗", 10)])
def test_search_contract(pipeline, query, top_k):
    hits = pipeline.index.search(query, top_k=top_k)
    assert 1 <= len(hits) <= top_k
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert {h.entry.id for h in hits} <= _ids(pipeline)
    assert len({h.entry.id for h in hits}) == len(hits)
    assert all(0.0 <= h.similarity <= 1.0 for h in hits)


def test_kind_filter(pipeline):
    hits = pipeline.index.search("空气炸锅", top_k=10, kinds=("product",))
    assert hits and all(h.entry.kind == "product" for h in hits)
    assert hits[0].entry.id == "HA-2003"


@pytest.mark.parametrize("query, expected", [
    ("衣服不合适想退货 运费谁出", "faq-return-shipping-fee"),
    ("退款几天能到啊", "faq-refund-time"),
    ("能開發票嗎", "faq-invoice-how"),
    ("下单了地址写错了能改不", "faq-change-address"),
    ("啥时候能发货呀", "faq-ship-time"),
])
def test_paraphrases_find_their_faq(pipeline, query, expected):
    assert pipeline.index.search(query, top_k=3, kinds=("faq",))[0].entry.id == expected


def test_saved_index_gives_the_same_results_and_refuses_other_knowledge(pipeline, tmp_path):
    pipeline.index.save(tmp_path / "idx")
    loaded = new_index(pipeline.settings, pipeline.normalizer, pipeline.index.encoder)
    loaded.load(tmp_path / "idx", pipeline.index.entries_, kb_version=pipeline.kb.version)
    q = "退货运费谁出"
    a = [(h.entry.id, h.score) for h in pipeline.index.search(q, top_k=5)]
    b = [(h.entry.id, h.score) for h in loaded.search(q, top_k=5)]
    assert a == b
    with pytest.raises(Incompatible):
        new_index(pipeline.settings, pipeline.normalizer, pipeline.index.encoder).load(
            tmp_path / "idx", pipeline.index.entries_, kb_version="something-else")


def test_bad_top_k_is_refused(pipeline):
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        pipeline.index.search("发票", top_k=0)


@hsettings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=60), st.integers(min_value=1, max_value=8))
def test_any_text_gives_a_valid_ranking(pipeline, text, top_k):
    hits = pipeline.index.search(text, top_k=top_k)
    assert len(hits) <= top_k
    assert np.all(np.diff([h.score for h in hits]) <= 0)
    assert {h.entry.id for h in hits} <= _ids(pipeline)


def test_fast_static_encoding_equals_sentence_transformers(pipeline):
    import numpy as np

    encoder = pipeline.index.encoder
    texts = ["退货运费谁出", "亲 ＸＬ码还有货吗", "😂😂", "", "订单2026110100203040500 怎么还没发货", "a"]
    got = encoder.encode(texts)
    want = encoder.model_.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    # sentence-transformers returns the fp16 model's vectors in fp16; ours are the same
    # means kept in fp32, so they agree to fp16 precision.
    want = np.nan_to_num(want.astype(np.float32), nan=0.0)
    assert got.shape == want.shape and got.dtype == np.float32
    for g, w in zip(got, want):
        if np.linalg.norm(w) == 0:
            assert np.linalg.norm(g) == 0
        else:
            assert float(g @ w) / np.linalg.norm(w) > 0.999 and abs(np.linalg.norm(g) - 1) < 1e-5


def test_large_knowledge_bases_use_hnsw_and_keep_the_contract(pipeline, tmp_path):
    """Above hnsw_min_rows the dense side is an HNSW graph; on this small KB it must find
    what exact search finds, and survive save/load as HNSW."""
    from assist.retrieval.index import HybridIndex

    idx = pipeline.index
    hnsw = HybridIndex(normalizer=idx.normalizer, encoder=idx.encoder, rrf_k=idx.rrf_k,
                       bm25_weight=idx.bm25_weight, dense_weight=idx.dense_weight,
                       candidates=idx.candidates, hnsw_min_rows=1).build(idx.entries_, kb_version="x")
    assert hnsw.dense_.kind == "hnsw" and idx.dense_.kind == "flat"
    for q in ["衣服不合适想退货 运费谁出", "能開發票嗎", "空气炸锅"]:
        assert [h.entry.id for h in hnsw.search(q, top_k=3)] == [h.entry.id for h in idx.search(q, top_k=3)]
    hnsw.save(tmp_path / "h")
    loaded = HybridIndex(normalizer=idx.normalizer, encoder=idx.encoder, hnsw_ef_search=64).load(
        tmp_path / "h", idx.entries_, kb_version="x")
    assert loaded.dense_.kind == "hnsw" and loaded.dense_.index_.hnsw.efSearch == 64
