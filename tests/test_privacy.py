"""The personal-data policy: no phone, ID, bank-card number, e-mail or name after 收件人
leaves in clear, in a log line, an evidence span or a ready-to-send reply."""

from __future__ import annotations

import json
import logging

from hypothesis import given, settings
from hypothesis import strategies as st

from assist.normalize import extract_entities
from assist.privacy import JsonFormatter, find_pii, mask_pii

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(region: int, year: int, month: int, day: int, seq: int) -> str:
    body = f"{region}{year}{month:02d}{day:02d}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        n = body + check
        total = sum(int(c) if i % 2 == 0 else (2 * int(c) - 9 if int(c) > 4 else 2 * int(c))
                    for i, c in enumerate(reversed(n)))
        if total % 10 == 0:
            return n
    raise AssertionError


ids = st.builds(_id_number, st.integers(110000, 659999), st.integers(1950, 2010), st.integers(1, 12),
                st.integers(1, 28), st.integers(0, 999))
cards = st.builds(lambda d: _luhn_complete("62" + d), st.text("0123456789", min_size=14, max_size=16))
mobiles = st.builds(lambda p, d: f"1{p}{d}", st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9))
mobiles_86 = st.builds(lambda m, sep: f"+86{sep}{m[:3]}{sep}{m[3:7]}{sep}{m[7:]}", mobiles, st.sampled_from(["", " ", "-"]))
landlines = st.builds(lambda a, n: f"{a}-{n}", st.sampled_from(["010", "021", "0571", "0755"]),
                      st.text("0123456789", min_size=8, max_size=8).filter(lambda n: n[0] != "0"))
emails = st.builds(lambda u, d: f"{u}@{d}.com", st.text("abcdefghijklmnopqrstuvwxyz0123456789._", min_size=2, max_size=12)
                   .filter(lambda u: u[0].isalnum()), st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10))
names = st.builds(lambda a, b: a + b, st.sampled_from("王李张刘陈杨赵黄周吴"), st.text("伟芳娜敏静丽强磊军洋", min_size=1, max_size=2))
chinese = st.text("我的订单想问一下退货怎么办好谢谢亲您发票地址改号码是", max_size=12)


def _leaks(value: str, text: str) -> bool:
    digits = "".join(c for c in value if c.isdigit())
    return value in text or (len(digits) >= 7 and digits in "".join(c for c in text if c.isdigit()))


@settings(max_examples=150, deadline=None)
@given(before=chinese, after=chinese, value=st.one_of(ids, cards, mobiles, mobiles_86, landlines, emails),
       lead=st.sampled_from(["", "身份证", "卡号", "电话", "手机", "邮箱", "座机 ", " "]))
def test_no_personal_value_survives_masking(before, after, value, lead):
    text = f"{before}{lead}{value}{after}"
    assert not _leaks(value, mask_pii(text)), (text, mask_pii(text))


@settings(max_examples=100, deadline=None)
@given(name=names, word=st.sampled_from(["收件人", "收货人", "姓名：", "联系人是"]), after=chinese)
def test_names_after_their_lead_word_are_masked(name, word, after):
    assert name not in mask_pii(f"{word}{name} {after}")


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(ids, cards, mobiles_86, emails), before=chinese)
def test_a_log_line_is_one_json_object_with_nothing_personal(value, before):
    record = logging.makeLogRecord({"name": "assist.api", "levelno": logging.INFO, "levelname": "INFO",
                                    "msg": "suggest msg=%s", "args": (f"{before}{value}\n2026-12-01 ERROR forged\x00",),
                                    "request_id": "r1", "text": f"{before} {value}"})
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\x00" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "r1" and "forged" in entry["msg"]
    assert not _leaks(value, line)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(ids, cards, mobiles))
def test_personal_numbers_are_never_order_numbers(value):
    e = extract_entities(f"订单号 {value} 麻烦查一下")
    assert e["order_ids"] == []
    assert find_pii(value)


def test_order_numbers_follow_the_shops_format():
    assert extract_entities("订单3100365762303805 查下")["order_ids"] == ["3100365762303805"]
    assert extract_entities("订单236571234567 查下")["order_ids"] == []
    assert extract_entities("订单236571234567 查下", order_id_pattern=r"\d{10,13}")["order_ids"] == ["236571234567"]
    assert extract_entities("电话13812345678", order_id_pattern=r"\d{10,13}")["order_ids"] == []


def test_evidence_and_replies_carry_no_personal_number(client):
    r = client.post("/v1/suggest", json={
        "message": "订单改地址 身份证110101199003071234 手机+86 139 1234 5678 你们再不处理我就投诉到12315",
        "history": [{"role": "customer", "text": "邮箱zhangsan@example.com 收件人李四"}]})
    assert r.status_code == 200
    body = json.dumps(r.json(), ensure_ascii=False)
    for value in ("110101199003071234", "13912345678", "139 1234 5678", "zhangsan@example.com", "李四"):
        assert value not in body
    assert r.json()["escalation"]["reasons"]
