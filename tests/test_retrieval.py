import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

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
