"""Mined drafts: checked by `assist kb validate`, approved into faq/ (a new entry, or new
phrasings of the entry a draft duplicates) without losing the file's comments or breaking the
knowledge base, or dismissed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from assist.cli import main
from assist.knowledge import load_knowledge
from assist.ops import drafts
from assist.ops.mining import Draft, clusters, existing_phrasings, write_drafts

PHRASINGS = ["这个可以以旧换新吗", "旧手机能抵多少钱", "以旧换新怎么操作", "旧机回收能抵扣吗", "以旧换新要寄回旧的吗"]


def _draft(folder: Path, **fields: object) -> Draft:
    d = Draft(id="draft-0123abcd", question=PHRASINGS[0], paraphrases=PHRASINGS[1:], intent="promotion_coupon",
              count=5, reasons={"handoff": 5}, first_seen="2026-12-01T10:00:00", last_seen="2026-12-01T11:00:00",
              nearest={"id": "faq-refund-time", "similarity": 0.41})
    for k, v in fields.items():
        setattr(d, k, v)
    write_drafts([d], folder / "drafts")
    return d


def test_a_draft_is_approved_with_its_answer_and_the_file_keeps_its_comments(kb_copy):
    _draft(kb_copy)
    with pytest.raises(drafts.DraftError, match="no answer"):
        drafts.approve(kb_copy, "draft-0123abcd")
    with pytest.raises(drafts.DraftError, match="is taken"):
        drafts.approve(kb_copy, "draft-0123abcd", answer="亲，本店暂不支持以旧换新哦", entry_id="faq-refund-time")
    done = drafts.approve(kb_copy, "draft-0123abcd", answer="亲，本店暂不支持以旧换新哦", entry_id="faq-trade-in")
    assert "faq-trade-in" in done and not (kb_copy / "drafts" / "draft-0123abcd.yaml").exists()
    kb, errors = load_knowledge(kb_copy)
    assert not errors and kb is not None
    entry = kb.faqs["faq-trade-in"]
    assert entry.question == PHRASINGS[0] and entry.paraphrases == PHRASINGS[1:] and entry.intent == "promotion_coupon"
    assert kb.sources["faq-trade-in"] == "faq/pre_sale.yaml"


def test_a_duplicate_is_merged_into_its_entry_as_new_phrasings(kb_copy):
    source = kb_copy / "faq" / "faq.yaml"
    before = source.read_text(encoding="utf-8")
    _draft(kb_copy, merge_into="faq-refund-time", question="退款几天能到账", paraphrases=["退款多久到", "钱多久退回来"])
    done = drafts.approve(kb_copy, "draft-0123abcd")
    assert "faq-refund-time" in done
    after = source.read_text(encoding="utf-8")
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert all(c in after for c in comments)  # authors' comments kept
    kb, _ = load_knowledge(kb_copy)
    assert kb is not None and "钱多久退回来" in kb.faqs["faq-refund-time"].paraphrases


def test_validate_lists_broken_drafts_and_counts_the_rest(kb_copy):
    _draft(kb_copy)
    ok = CliRunner().invoke(main, ["kb", "validate", "--knowledge", str(kb_copy)])
    assert ok.exit_code == 0 and "1 draft(s) to review" in ok.output
    bad = kb_copy / "drafts" / "draft-0123abcd.yaml"
    doc = yaml.safe_load(bad.read_text(encoding="utf-8"))
    doc["draft"].update(intent="refunds", merge_into="faq-nope")
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    (kb_copy / "drafts" / "draft-other.yaml").write_text(yaml.safe_dump(
        {"draft": {"id": "draft-else", "status": "draft", "intent": "other", "question": "问一下"}}), encoding="utf-8")
    r = CliRunner().invoke(main, ["kb", "validate", "--knowledge", str(kb_copy)])
    assert r.exit_code == 1
    for words in ("unknown intent 'refunds'", "merge_into 'faq-nope'", "must be named draft-else.yaml"):
        assert words in r.output, r.output
    approve = CliRunner().invoke(main, ["kb", "approve", "draft-0123abcd", "--answer", "好的亲", "--knowledge",
                                        str(kb_copy)])
    assert approve.exit_code == 1 and "unknown intent" in approve.output
    missing = CliRunner().invoke(main, ["kb", "approve", "draft-none", "--knowledge", str(kb_copy)])
    assert missing.exit_code == 1 and "no draft 'draft-none'" in missing.output


def test_a_dismissed_draft_is_kept_and_not_drafted_again(kb_copy):
    _draft(kb_copy)
    r = CliRunner().invoke(main, ["kb", "dismiss", "draft-0123abcd", "--knowledge", str(kb_copy)])
    assert r.exit_code == 0
    kept = yaml.safe_load((kb_copy / "drafts" / "draft-0123abcd.yaml").read_text(encoding="utf-8"))["draft"]
    assert kept["status"] == "dismissed"
    assert set(existing_phrasings(kb_copy / "drafts")) >= set(PHRASINGS)
    with pytest.raises(drafts.DraftError, match="dismissed"):
        drafts.approve(kb_copy, "draft-0123abcd", answer="亲，本店暂不支持以旧换新哦")


def test_clusters_hold_together_what_is_similar():
    import numpy as np

    sim = np.array([[1.0, 0.9, 0.8, 0.1], [0.9, 1.0, 0.85, 0.2], [0.8, 0.85, 1.0, 0.1], [0.1, 0.2, 0.1, 1.0]])
    assert clusters(sim, threshold=0.6) == [[0, 1, 2], [3]]
    assert len(clusters(sim, threshold=0.95)) == 4


def test_the_admin_api_lists_approves_and_dismisses_drafts(pipeline, settings, kb_copy):
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from assist.api.app import create_app

    token = "a-long-random-admin-token-for-drafts"
    auth = {"authorization": f"Bearer {token}"}
    s = settings.model_copy(update={"admin_token": SecretStr(token),
                                    "paths": settings.paths.model_copy(update={"knowledge_dir": kb_copy})})
    _draft(kb_copy)
    with TestClient(create_app(s, pipeline=pipeline)) as c:
        listed = c.get("/v1/admin/drafts", headers=auth).json()
        assert [d["id"] for d in listed["drafts"]] == ["draft-0123abcd"] and listed["problems"] == []
        no_answer = c.post("/v1/admin/drafts/draft-0123abcd/approve", json={}, headers=auth)
        assert no_answer.status_code == 422 and no_answer.json()["error"]["code"] == "draft_invalid"
        before = c.get("/v1/admin/versions", headers=auth).json()["versions"]["knowledge"]
        ok = c.post("/v1/admin/drafts/draft-0123abcd/approve", headers=auth,
                    json={"answer": "亲，本店暂不支持以旧换新哦", "id": "faq-trade-in"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["versions"]["knowledge"] != before and "faq-trade-in" in ok.json()["done"]
        answer = c.post("/v1/faq", json={"question": PHRASINGS[0]}).json()
        assert (answer["source"] or {}).get("id") == "faq-trade-in" or any(
            r["entry_id"] == "faq-trade-in" for r in answer["related"])
        assert c.post("/v1/admin/drafts/draft-0123abcd/dismiss", headers=auth).status_code == 404
        assert c.post("/v1/admin/drafts/not-a-draft/dismiss", headers=auth).status_code == 422
        assert c.get("/v1/admin/drafts").status_code == 401
