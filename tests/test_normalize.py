from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assist.normalize import TextNormalizer, extract_entities, normalize_text
from assist.privacy import mask_pii

NORMALIZER = TextNormalizer(synonyms={"啥时候": "什么时候", "咋": "怎么"}, user_words=["运费险"])


def test_full_width_traditional_case_and_spaces():
    assert normalize_text("  ＸＬ碼　有貨嗎？ ") == "xl码 有货吗?"
    assert normalize_text("退貨運費誰付") == "退货运费谁付"


def test_synonyms_make_colloquial_text_canonical():
    assert NORMALIZER.canonical("啥时候发货") == "什么时候发货"
    assert "怎么" in NORMALIZER.tokens("运费险咋理赔")


def test_user_words_stay_whole():
    assert "运费险" in NORMALIZER.tokens("运费险怎么理赔")


def test_order_tracking_phone_and_sku_are_single_tokens():
    toks = NORMALIZER.tokens("订单2026111812345678 AP-1001 顺丰SF1234567890123 电话13812345678")
    for t in ("2026111812345678", "ap-1001", "sf1234567890123", "13812345678"):
        assert t in toks


def test_entities_are_extracted_but_phones_are_not_orders():
    e = extract_entities("订单２０２６１１１８１２３４５６７８ ap-1006 电话13812345678")
    assert e["order_ids"] == ["2026111812345678"]
    assert e["skus"] == ["AP-1006"]


def test_pii_is_masked():
    out = mask_pii("电话13812345678，地址是浙江省杭州市西湖区文三路100号5栋302室")
    assert "13812345678" not in out and "138****5678" in out
    assert "文三路" not in out and "[地址]" in out
    assert "1381234" not in mask_pii("换成 138 1234 5678 这个号")


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_normalize_is_idempotent_and_never_raises(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@hsettings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("退货运费谁出在吗亲ＸＬ码 123ab😂？!發貨")), max_size=40))
def test_tokens_are_pieces_of_the_canonical_text(text):
    canonical = NORMALIZER.canonical(text)
    for tok in NORMALIZER.tokens(text):
        assert tok in canonical
