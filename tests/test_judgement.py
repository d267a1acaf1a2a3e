"""Judgement on real traffic: boilerplate, placeholders, personal numbers, the escalation
evidence rule, the learned ranker's contract and the widget's out-of-scope refusal."""

import datetime as dt

import numpy as np
import pytest

from assist.classify.understand import SHOP_TZ
from assist.config import ROOT
from assist.errors import Incompatible
from assist.knowledge import load_knowledge
from assist.normalize import TextNormalizer, extract_entities
from assist.rank.learned import FEATURES, LearnedRanker

KB = load_knowledge(ROOT / "knowledge")[0]
NORMALIZER = TextNormalizer(synonyms=KB.synonyms, boilerplate=KB.boilerplate)


def test_platform_boilerplate_is_set_aside_and_kept_for_display():
    m = NORMALIZER.parse("我要转人工 我那个快递三天没动了")
    assert m.text == "我那个快递三天没动了"
    assert m.boilerplate == (("human_request", "我要转人工"),) and m.asked_for_human
    card = NORMALIZER.parse("咨询订单号:[订单x] 商品ID:[数字x] 发票抬头开错了")
    assert card.text == "发票抬头开错了" and [k for k, _ in card.boilerplate] == ["header", "header"]


def test_a_message_of_only_boilerplate_is_read_as_it_is():
    m = NORMALIZER.parse("我要转人工")
    assert m.text == "我要转人工" and m.boilerplate == ()


def test_export_placeholders_become_entities_not_words():
    m = NORMALIZER.parse("[订单x]这个单 [日期x]下的 还没发货 #E-s12")
    assert m.placeholders == ("date", "order")
    assert "ⓞ" in m.features and "ⓓ" in m.features
    assert "[订单x]" not in m.canonical and "#e-s12" not in m.text


def test_id_and_bank_card_numbers_are_never_order_numbers():
    e = extract_entities("订单改地址 身份证110101199003071234 卡号6222021234567890128 订单2026111812345678")
    assert e["order_ids"] == ["2026111812345678"]
    m = NORMALIZER.parse("身份证110101199003071234 帮我查下订单")
    assert m.entities.order_ids == () and m.entities.personal == ("id_card",)
    assert "ⓟ" in m.features and "ⓞ" not in m.features


def test_a_reply_never_carries_an_id_number_as_the_order(demo_pipeline):
    result = demo_pipeline.suggest("订单改地址 身份证110101199003071234 发货前", history=[], order={}, top_k=5)
    assert all("110101199003071234" not in s.text for s in result.suggestions)
    assert result.entities["order_ids"] == []


def understand(pipeline, text, history=()):
    message, past = pipeline.parse(text, list(history))
    return pipeline.understander.understand(message, past, now=dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHOP_TZ))


ANGRY_HISTORY = ["你们什么破店 东西坏了也不管", "再不处理我就去12315投诉你们", "气死我了 垃圾客服"]


@pytest.mark.parametrize("calm", ["嗯嗯谢谢 那能换一件吗", "好的 那我等你们消息", "开关坏了 怎么修"])
def test_a_calm_message_after_an_angry_history_is_not_escalated(demo_pipeline, calm):
    e = understand(demo_pipeline, calm, ANGRY_HISTORY).escalation
    assert e.decision != "escalate", e.reasons
    assert "angry_tone" not in {r.code for r in e.reasons}


@pytest.mark.parametrize("text", ["都说了三遍了 我的退款到底什么时候到", "这是我第五次问了 快递到底到哪了",
                                  "？？？？？ 回答我"])
def test_repeat_contact_in_words_escalates_with_its_evidence(demo_pipeline, text):
    e = understand(demo_pipeline, text).escalation
    assert e.decision == "escalate"
    reason = next(r for r in e.reasons if r.code == "repeat_contact")
    message, _ = demo_pipeline.parse(text, [])
    assert reason.span is not None and message.text[reason.span[0]:reason.span[1]] == reason.evidence


def test_every_escalation_reason_has_evidence(demo_pipeline):
    for text, history in [("孩子吃了过敏住院了", []), ("好的亲 你们这服务也太差了吧 我要给差评", []),
                          ("我的退款怎么还没到账 都问了好几遍了", ["我的退款怎么还没到账"])]:
        e = understand(demo_pipeline, text, history).escalation
        assert e.decision == "escalate"
        assert e.reasons and all(r.evidence for r in e.reasons)


def test_history_alone_or_a_plain_request_for_a_person_makes_a_watch_not_an_escalation(demo_pipeline):
    from assist.classify.models import build_turns
    from assist.classify.understand import Reason, evidence_rule

    message, _ = demo_pipeline.parse("我的退款怎么还没到", [])
    u = demo_pipeline.understander
    turn = build_turns([message], u.lexicon, u.sentiment)[0]
    soft = [Reason(code="repeat_issue", evidence="我的退款怎么还没到"), Reason(code="human_request", evidence="转人工")]
    assert evidence_rule("escalate", soft, turn) == "watch"
    assert evidence_rule("escalate", [*soft, Reason(code="complaint_threat", evidence="差评")], turn) == "escalate"
    assert evidence_rule("escalate", [], turn) in {"watch", "none"}


def test_a_threat_made_a_message_earlier_still_counts_while_the_customer_is_upset(demo_pipeline):
    e = understand(demo_pipeline, "气死我了 到现在都没人处理 你们到底管不管", ["再不退款我就去12315投诉你们"]).escalation
    assert e.decision == "escalate"
    carried = next(r for r in e.reasons if r.code == "complaint_threat")
    assert "12315" in carried.evidence and "earlier" in carried.detail
    calm = understand(demo_pipeline, "好的 谢谢 那我等消息", ["再不退款我就去12315投诉你们"]).escalation
    assert "complaint_threat" not in {r.code for r in calm.reasons}


def test_ranker_reorders_the_same_candidates_with_calibrated_confidence(demo_pipeline):
    ranker = demo_pipeline.ranker
    message, _ = demo_pipeline.parse("衣服不合适想退货 运费谁出", [])
    u = demo_pipeline.understander.understand(message, [])
    hits = demo_pipeline.index.search(message, top_k=30, kinds=("faq",))
    ranked = ranker.rank(message, hits, u.intent.probabilities)
    assert sorted(r.hit.entry.id for r in ranked) == sorted(h.entry.id for h in hits)
    raws = [r.raw for r in ranked]
    assert raws == sorted(raws, reverse=True)
    confs = [r.confidence for r in ranked]
    assert all(0.0 <= c <= 1.0 for c in confs) and confs == sorted(confs, reverse=True)
    assert ranked[0].hit.entry.id == "faq-return-shipping-fee"
    assert ranker.rank(message, hits, u.intent.probabilities) == ranked  # deterministic
    assert ranker.rank(message, [], u.intent.probabilities) == []


def test_ranker_refuses_a_model_of_other_features_or_embedding(tmp_path):
    import shutil

    from assist.ops.registry import resolve

    src = resolve(ROOT / "models" / "ranker")
    shutil.copytree(src, tmp_path / "r")
    with pytest.raises(Incompatible, match="embedding_version"):
        LearnedRanker.load(tmp_path / "r", embedding_version="another")
    manifest = (tmp_path / "r" / "manifest.json")
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"fused_share"', '"something_else"'),
                        encoding="utf-8")
    with pytest.raises(Incompatible, match="features"):
        LearnedRanker.load(tmp_path / "r")
    assert len(FEATURES) == len(set(FEATURES))


def test_calibration_is_monotone():
    r = LearnedRanker(booster=None, calibration_x=np.array([-2.0, 0.0, 2.0]), calibration_y=np.array([0.0, 0.5, 0.9]),
                      answer_threshold=0.8, min_margin=0.5)
    out = r.calibrate(np.array([-5.0, -1.0, 1.0, 5.0]))
    assert list(out) == sorted(out) and out[0] == 0.0 and out[-1] == 0.9


@pytest.mark.parametrize("question", ["今天天气怎么样", "你们卖不卖手机壳", "拼多多的订单怎么申请退款", "帮我写一篇800字的作文"])
def test_widget_refuses_questions_no_entry_answers(demo_pipeline, question):
    result = demo_pipeline.faq(question, history=[], top_k=3)
    assert not result.decision.answered
    assert result.decision.handoff_reason in {"low_confidence", "ambiguous", "no_match"}


def test_widget_answers_a_clear_question_and_hands_over_when_a_person_is_asked_for(demo_pipeline):
    ok = demo_pipeline.faq("退货的运费由谁承担", history=[], top_k=3)
    assert ok.decision.answered and ok.decision.hit.entry.id == "faq-return-shipping-fee"
    person = demo_pipeline.faq("我要转人工 退货的运费由谁承担", history=[], top_k=3)
    assert not person.decision.answered and person.decision.handoff_reason == "human_requested"


def test_intent_context_block_is_the_previous_turn_scaled_or_zeros():
    from assist.classify.models import IntentModel
    from assist.classify.text import TextClassifier

    emb = np.ones((2, 3))
    model = IntentModel(classifier=TextClassifier(embedding_weight=2.0), context_weight=1.0)
    assert np.array_equal(model.dense(emb, None), np.hstack([emb, np.zeros((2, 3))]))
    assert np.allclose(model.dense(emb, np.ones((2, 3)))[:, 3:], 0.5)  # the classifier multiplies by 2 again
    off = IntentModel(classifier=TextClassifier(embedding_weight=2.0))
    assert off.dense(emb, np.ones((2, 3))) is emb
    both = IntentModel(classifier=TextClassifier(embedding_weight=2.0), context_weight=1.0, history_weight=2.0)
    block = both.dense(emb, None, np.ones((2, 3)))
    assert block.shape == (2, 9) and np.allclose(block[:, 3:6], 0) and np.allclose(block[:, 6:], 1.0)


def test_suggest_reads_the_agents_last_turn_as_context(client):
    r = client.post("/v1/suggest", json={"message": "没有了 谢谢", "history": [
        {"role": "customer", "text": "发票怎么开"}, {"role": "agent", "text": "亲，还有其他可以帮您的吗？"}]})
    assert r.status_code == 200, r.text
    assert r.json()["intent"]["id"] in {"praise", "other"}


def test_written_conversations_give_each_turn_its_history_and_keep_a_chat_on_one_side(tmp_path, monkeypatch):
    import json

    from training import data

    chat = {"id": "conv-t-1", "turns": [
        {"role": "customer", "text": "上周买的锅 想退", "intent": "return_exchange", "sentiment": "neutral",
         "escalation": "none"},
        {"role": "agent", "text": "亲亲 麻烦提供下订单号"},
        {"role": "customer", "text": "[订单x] 第三次问了", "intent": "return_exchange", "sentiment": "negative",
         "escalation": "escalate"}]}
    (tmp_path / "a.jsonl").write_text(json.dumps(chat, ensure_ascii=False) + "\n", encoding="utf-8")
    monkeypatch.setattr(data, "CONVERSATIONS", tmp_path)
    first, second = data.conversation_examples()
    assert first.history == () and first.context is None
    assert second.history == ("上周买的锅 想退",) and second.context == "亲亲 麻烦提供下订单号"
    assert first.split == second.split and first.group == second.group == "conv-t-1"
    monkeypatch.setattr(data, "ESCALATION_FILES", ())
    assert [(e.label, e.history) for e in data.escalation_examples()] == [
        ("none", ()), ("escalate", ("上周买的锅 想退",))]
    chat["turns"][0]["intent"] = "refund"  # not one of the 22
    (tmp_path / "a.jsonl").write_text(json.dumps(chat, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="a.jsonl:1"):
        data.conversation_examples()
