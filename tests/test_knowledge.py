from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from assist.cli import main
from assist.config import ROOT
from assist.knowledge import load_knowledge


def _edit_faq(kb: Path, fn) -> None:
    path = kb / "faq" / "faq.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(doc["faqs"])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_bundled_demo_knowledge_is_valid_and_big_enough():
    kb, errors = load_knowledge(ROOT / "knowledge")
    assert errors == []
    assert len(kb.faqs) >= 200 and len(kb.products) >= 40
    assert all(len(f.paraphrases) >= 4 for f in kb.faqs.values())
    phases = {f.intent for f in kb.faqs.values()}
    assert {"return_exchange", "logistics_status", "size_advice"} <= phases
    scenes = {s.scene for s in kb.scripts.values()}
    assert {"welcome", "bargaining", "urge_payment", "address_confirm", "shipping_delay",
            "wrong_missing_apology", "quality_complaint", "refund_progress", "closing"} <= scenes


def test_every_error_is_reported_with_file_and_id(kb_copy):
    def break_it(faqs):
        faqs[0]["intent"] = "teleport"
        faqs[1]["rule_ids"] = ["rule-missing"]
        faqs[2]["paraphrases"] = faqs[2]["paraphrases"][:2]
        faqs[3]["id"] = faqs[4]["id"]
    _edit_faq(kb_copy, break_it)
    (kb_copy / "scripts" / "scripts.yaml").write_text(
        "version: 1\nscripts:\n  - id: script-x\n    scene: welcome\n    intent: greeting\n"
        "    template: 亲，订单{order_id}已发出\n    variables: [tracking_no]\n", encoding="utf-8")
    kb, errors = load_knowledge(kb_copy)
    assert kb is None
    text = "\n".join(errors)
    assert "faq/faq.yaml:faq-return-shipping-fee: unknown intent 'teleport'" in text
    assert "faq/faq.yaml:faq-7day-return: rule_ids names unknown rule 'rule-missing'" in text
    assert "faq/faq.yaml:faq-refund-time: paraphrases" in text
    assert "duplicate id" in text
    assert "scripts/scripts.yaml:script-x: placeholder {order_id} is not declared in variables" in text
    assert "scripts/scripts.yaml:script-x: variable 'tracking_no' is declared but not used" in text


def test_phrasing_shared_by_two_entries_is_an_error(kb_copy):
    _edit_faq(kb_copy, lambda faqs: faqs[1]["paraphrases"].append(faqs[0]["question"]))
    _, errors = load_knowledge(kb_copy)
    assert any("also belongs to faq-return-shipping-fee" in e for e in errors)


def test_broken_yaml_and_json_are_reported_not_raised(kb_copy):
    (kb_copy / "rules" / "bad.yaml").write_text("version: 1\nrules: [\n", encoding="utf-8")
    (kb_copy / "products" / "items.jsonl").open("a", encoding="utf-8").write("{not json}\n")
    _, errors = load_knowledge(kb_copy)
    assert any(e.startswith("rules/bad.yaml:line 3: cannot parse YAML") for e in errors), errors
    assert any(e.startswith("products/items.jsonl:line 5: invalid JSON") for e in errors)


def test_cli_validate_exits_nonzero_and_lists_errors(kb_copy):
    _edit_faq(kb_copy, lambda faqs: faqs[0].update(intent="teleport"))
    result = CliRunner().invoke(main, ["kb", "validate", "--knowledge", str(kb_copy)])
    assert result.exit_code == 1
    assert "faq/faq.yaml:faq-return-shipping-fee: unknown intent 'teleport'" in result.output
    ok = CliRunner().invoke(main, ["kb", "validate", "--knowledge", str(ROOT / "tests" / "data" / "kb")])
    assert ok.exit_code == 0 and ok.output.startswith("ok: 12 FAQs")


def test_kb_version_changes_with_content(kb_copy):
    before, _ = load_knowledge(kb_copy)
    _edit_faq(kb_copy, lambda faqs: faqs[0].update(answer="亲，新的答案内容哦"))
    after, _ = load_knowledge(kb_copy)
    assert before.version != after.version


def test_risk_terms_with_unknown_signal_are_reported(kb_copy):
    with (kb_copy / "lexicon" / "risk_terms.tsv").open("a", encoding="utf-8") as f:
        f.write("气炸了\trage\n")
    _, errors = load_knowledge(kb_copy)
    assert any("risk_terms.tsv:line" in e and "unknown signal 'rage'" in e for e in errors)


def test_bad_boilerplate_and_risk_patterns_are_reported(kb_copy):
    (kb_copy / "lexicon" / "boilerplate.tsv").write_text(
        "我要转人工\thuman_request\nre:(unclosed\tmenu\n[订单x]\tplaceholder:teleport\nre:.*\theader\n", encoding="utf-8")
    with open(kb_copy / "lexicon" / "risk_terms.tsv", "a", encoding="utf-8") as f:
        f.write("re:[bad\trepeat_contact\n")
    _, errors = load_knowledge(kb_copy)
    text = "\n".join(errors)
    assert "boilerplate.tsv:line 2: invalid regular expression" in text
    assert "boilerplate.tsv:line 3: unknown kind 'placeholder:teleport'" in text
    assert "boilerplate.tsv:line 4: regular expression matches the empty string" in text
    assert "risk_terms.tsv" in text and "invalid regular expression" in text.split("risk_terms.tsv")[-1]


def test_validate_warns_about_near_duplicate_entries_naming_both(kb_copy):
    def add_twin(faqs):
        twin = dict(faqs[0])
        twin["id"] = faqs[0]["id"] + "-copy"
        twin["question"] = faqs[0]["question"] + "呀"
        twin["paraphrases"] = [p + "呀呀" for p in faqs[0]["paraphrases"]]
        faqs.append(twin)
    _edit_faq(kb_copy, add_twin)
    result = CliRunner().invoke(main, ["kb", "validate", "--knowledge", str(kb_copy)])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load((kb_copy / "faq" / "faq.yaml").read_text(encoding="utf-8"))
    first = doc["faqs"][0]["id"]
    warning = next(line for line in result.output.splitlines() if "warning" in line)
    assert first in warning and f"{first}-copy" in warning
    assert "warning(s)" in result.output


def test_demo_knowledge_has_no_near_duplicate_entries():
    from assist.knowledge import lint

    assert lint(load_knowledge(ROOT / "knowledge")[0]) == []


def _break(kb: Path, how: str) -> None:
    if how == "faq not UTF-8":
        (kb / "faq" / "faq.yaml").write_bytes("version: 1\nfaqs: []\n# 退货".encode("gbk"))
    elif how == "shop is a list":
        (kb / "shop.yaml").write_text("- a\n- b\n", encoding="utf-8")
    elif how == "shop is text":
        (kb / "shop.yaml").write_text("just some words\n", encoding="utf-8")
    elif how == "shop not UTF-8":
        (kb / "shop.yaml").write_bytes("shop:\n  name: 云杉\n".encode("gbk"))
    elif how == "a folder named .yaml":
        (kb / "rules" / "more.yaml").mkdir()
    elif how == "lexicon not UTF-8":
        (kb / "lexicon" / "synonyms.tsv").write_bytes(b"\xff\xfe\t\xa1\n")
    elif how == "products not UTF-8":
        (kb / "products" / "items.jsonl").write_bytes('{"sku": "退"}\n'.encode("gbk"))
    elif how == "bad order-number pattern":
        doc = yaml.safe_load((kb / "shop.yaml").read_text(encoding="utf-8"))
        doc["shop"]["order_id_pattern"] = "(\\d{12"
        (kb / "shop.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("how, where", [
    ("faq not UTF-8", "faq/faq.yaml"), ("shop is a list", "shop.yaml"), ("shop is text", "shop.yaml"),
    ("shop not UTF-8", "shop.yaml"), ("a folder named .yaml", "rules/more.yaml"),
    ("lexicon not UTF-8", "lexicon/synonyms.tsv"), ("products not UTF-8", "products/items.jsonl"),
    ("bad order-number pattern", "shop.yaml"),
])
def test_broken_files_are_named_never_a_traceback(kb_copy, how, where):
    _break(kb_copy, how)
    result = CliRunner().invoke(main, ["kb", "validate", "--knowledge", str(kb_copy)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert any(line.startswith(f"{where}:") for line in result.output.splitlines()), result.output


def test_serve_refuses_a_broken_kb_or_model_with_file_messages(kb_copy, tmp_path, monkeypatch):
    import shutil

    _break(kb_copy, "shop is a list")
    monkeypatch.setenv("ASSIST_PATHS__KNOWLEDGE_DIR", str(kb_copy))
    emb = tmp_path / "embedding"
    shutil.copytree(ROOT / "models" / "embedding", emb)
    data = bytearray((emb / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit flipped
    (emb / "model.safetensors").write_bytes(bytes(data))
    monkeypatch.setenv("ASSIST_MODELS__EMBEDDING", str(emb))
    from assist.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "shop.yaml:" in result.output and "model.safetensors" in result.output and "Traceback" not in result.output
