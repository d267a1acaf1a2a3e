import datetime as dt

import pytest

from assist.classify.signals import RiskLexicon
from assist.classify.understand import SHOP_TZ, add_working_days
from assist.config import ROOT
from assist.knowledge import load_knowledge
from assist.normalize import normalize_text
from assist.types import INTENT_PHASES

LEXICON = RiskLexicon(terms=load_knowledge(ROOT / "knowledge")[0].risk_terms)


def test_signals_carry_their_evidence_span():
    text = normalize_text("再不处理我就去黑猫投诉，还要找律师")
    sigs = LEXICON.find(text)
    found = {(s.signal, s.evidence) for s in sigs}
    assert ("complaint_threat", "黑猫投诉") in found and ("legal_threat", "律师") in found
    for s in sigs:
        assert text[s.start:s.end] == s.evidence


def test_ascii_terms_match_whole_words_only():
    assert [s.signal for s in LEXICON.find(normalize_text("你是SB吗"))] == ["profanity"]
    assert LEXICON.find("usb接口有几个") == []


def test_unknown_signal_is_refused():
    with pytest.raises(ValueError, match="unknown risk signal"):
        RiskLexicon(terms={"气死": "rage"})


def test_working_days_skip_weekends():
    friday = dt.datetime(2026, 11, 20, 15, 0, tzinfo=SHOP_TZ)
    assert add_working_days(friday, 1).date() == dt.date(2026, 11, 23)
    assert add_working_days(friday, 2).date() == dt.date(2026, 11, 24)


def understand(pipeline, text, history=()):
    message, past = pipeline.parse(text, list(history))
    return pipeline.understander.understand(message, past, now=dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHOP_TZ))


@pytest.mark.parametrize("text, intent", [
    ("衣服小了想退货", "return_exchange"),
    ("退款什么时候到账", "refund_status"),
    ("我要开发票 公司抬头", "invoice"),
    ("在吗", "greeting"),
    ("转人工", "human_agent"),
    ("快递三天没动了", "logistics_status"),
])
def test_intent_and_phase(pipeline, text, intent):
    u = understand(pipeline, text)
    assert u.intent.intent == intent
    assert u.intent.phase == INTENT_PHASES[intent]
    assert 0 < u.intent.confidence <= 1


def test_sentiment_has_probabilities_and_intensity(pipeline):
    calm = understand(pipeline, "请问这件有M码吗").sentiment
    angry = understand(pipeline, "气死了！！垃圾东西 三天就坏了 你们到底管不管").sentiment
    assert abs(sum(calm.probabilities.values()) - 1) < 1e-6
    assert angry.label == "negative" and angry.intensity > calm.intensity


@pytest.mark.parametrize("text, route", [
    ("电暖器用了一天就冒烟了 差点着火", "safety_legal"),
    ("再不给我退款我就找律师起诉你们", "safety_legal"),
    ("卖假货是吧 我要去12315投诉你们", "complaint_team"),
])
def test_threats_escalate_with_reasons_route_and_sla(pipeline, text, route):
    e = understand(pipeline, text).escalation
    assert e.decision == "escalate"
    assert e.route == route
    assert e.priority in {"P1", "P2"}
    assert e.reasons and all(r.evidence for r in e.reasons)
    assert e.sla_deadline is not None and e.sla_rule == "rule-complaint-handling"


def test_repeated_issue_in_history_is_a_reason(pipeline):
    history = ["我的退款怎么还没到账", "退款到底什么时候到账啊"]
    e = understand(pipeline, "我的退款怎么还没到账！！都问了好几遍了", history).escalation
    assert e.decision in {"watch", "escalate"}
    assert "repeat_issue" in {r.code for r in e.reasons}


def test_ordinary_question_needs_no_one(pipeline):
    e = understand(pipeline, "请问羽绒服可以机洗吗").escalation
    assert e.decision == "none" and e.reasons == [] and e.route is None


@pytest.mark.parametrize("model", ["intent", "sentiment", "escalation"])
def test_fast_scoring_equals_scikit_learn(pipeline, model):
    """The request path scores with the models' coefficients directly; it must give what
    scikit-learn's own transform + predict_proba give."""
    import numpy as np

    clf = getattr(pipeline.understander, model).classifier
    raw = ["亲 XL码还有货吗？？", "订单2026110100203040500 怎么还没发货😡", "你好", "ＡＢＣ 退貨 退款", "@@"]
    texts = [m.features for m in pipeline.normalizer.parse_many(raw)]
    want_X = clf.vectorizer_.transform(texts)
    assert abs(clf.tfidf(texts) - want_X).max() < 1e-12
    extra = clf.model_.coef_.shape[1] - want_X.shape[1]
    dense = np.random.default_rng(0).random((len(texts), extra)) if extra else None
    want = clf.model_.predict_proba(clf._features(texts, dense / clf.embedding_weight if extra else None))
    got = clf.predict_proba(texts, dense / clf.embedding_weight if extra else None)
    assert np.allclose(got, want, atol=1e-12) and np.allclose(got.sum(axis=1), 1)
