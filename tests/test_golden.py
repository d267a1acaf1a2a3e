"""Key customer questions on the bundled demo shop keep their answer (and escalation outcome)."""

import pytest
from click.testing import CliRunner

from assist.cli import main

GOLDEN = [
    ("衣服不合适想退货 运费谁出", "faq-return-shipping-fee"),
    ("发票怎么开", "faq-invoice-how-to"),
    ("羽绒服能机洗吗", "faq-machine-washable"),
    ("什么时候发货", "faq-ship-time"),
    ("地址填错了", "faq-change-address"),
    ("退款多久到账", "faq-refund-arrival-time"),
    ("电饭煲不加热了", "faq-quality-not-heating"),
    ("少发了一件", "faq-missing-item"),
    ("170 65kg穿什么码", "faq-size-by-height-weight"),
    ("是正品吗", "faq-authentic-guarantee"),
    ("能便宜点吗", "faq-bargain-discount"),
    ("花呗分期可以吗", "faq-installment"),
    ("转人工", "faq-transfer-human-agent"),
    ("保修多久", "faq-warranty-period"),
    ("吊牌剪了还能退吗", "faq-return-tag-cut"),
    ("空气炸锅能烤蛋糕吗", "faq-air-fryer-bake-cake"),
    ("在吗", "faq-greeting-anyone-there"),
]


@pytest.mark.parametrize("query, expected", GOLDEN)
def test_demo_shop_top_answer(demo_pipeline, query, expected):
    # What the agent sidebar shows: the first FAQ answer after intent-aware ranking.
    result = demo_pipeline.suggest(query, history=[], order={}, top_k=5)
    first_faq = next(s for s in result.suggestions if s.kind == "faq")
    assert first_faq.entry_id == expected


def test_ask_puts_the_return_shipping_answer_first():
    result = CliRunner().invoke(main, ["ask", "衣服不合适想退货 运费谁出"])
    assert result.exit_code == 0, result.output
    first = next(line for line in result.output.splitlines() if line.startswith("1. "))
    assert "faq-return-shipping-fee" in first


def test_ask_json_and_user_errors():
    ok = CliRunner().invoke(main, ["ask", "发票怎么开", "--json", "--top-k", "2"])
    assert ok.exit_code == 0 and '"suggestions"' in ok.output
    bad = CliRunner().invoke(main, ["ask", "😂😂"])
    assert bad.exit_code == 1 and "no words or digits" in bad.output
