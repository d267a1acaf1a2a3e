"""Personal data: recognise and mask phone, ID-card and bank-card numbers and addresses
before any text is logged or stored, and tell them apart from order numbers."""

from __future__ import annotations

import logging
import re

# Mainland mobile numbers, possibly written with spaces or dashes (138 1234 5678).
PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_CJK = r"\u4e00-\u9fff"
# A street address: an administrative unit, then a road/estate, then a number with a unit.
ADDRESS_RE = re.compile(
    rf"[{_CJK}]{{0,12}}(?:省|市|自治区|区|县|镇)[{_CJK}\w#-]{{0,30}}?"
    rf"(?:路|街|道|巷|弄|村|小区|大厦|花园|公寓|广场)[{_CJK}\w#-]{{0,20}}?"
    rf"(?:\d+|[一二三四五六七八九十百]+)(?:号|栋|幢|单元|室|楼|层)(?:[\w#-]{{0,12}}(?:号|室|层|楼))?"
)
# "地址是 …" / "收货地址：…": whatever follows, up to the end of the clause.
ADDRESS_LEAD_RE = re.compile(r"((?:收货|收件|寄件|新|我的?)?地址(?:是|为|改成|改为|换成)?[:：]?\s*)[^，。！？,.!?;；\n]{4,}")

ADDRESS_MASK = "[地址]"

# Mainland resident ID: 6-digit region, birth date, 3-digit sequence, check digit (0-9 or X).
ID_CARD_RE = re.compile(r"(?<![0-9a-z])([1-8]\d{5})((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[0-9x](?![0-9a-z])",
                        re.IGNORECASE)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Bank cards: 16-19 digits passing the Luhn check, and either UnionPay's 62 prefix or a
# card word just before them (a Luhn-valid order number is common; a 62… one near 卡 is not).
CARD_NUMBER_RE = re.compile(r"(?<!\d)\d{16,19}(?!\d)")
_CARD_WORDS_RE = re.compile(r"(?:卡号|银行卡|信用卡|储蓄卡|借记卡|卡)[:：是为]?\s*$")
CARD_MASK_KEEP = 4


def is_id_card(number: str) -> bool:
    """An 18-character mainland ID number: region, plausible birth date, and a valid check
    digit or an X. The check digit alone is not required, since shoppers mistype and an ID
    taken for an order number would be pasted into a reply; a random 18-digit order number
    has the region + date shape about 6 times in 10,000."""
    if not ID_CARD_RE.fullmatch(number):
        return False
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS)) % 11]
    return number[17].upper() == check or number[17].isdigit()


def _luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_bank_card(number: str, before: str = "") -> bool:
    """16-19 digits, Luhn-valid, with UnionPay's prefix or a card word in `before`."""
    if not (16 <= len(number) <= 19 and number.isdigit() and _luhn(number)):
        return False
    return number.startswith("62") or bool(_CARD_WORDS_RE.search(before[-8:]))


def personal_numbers(text: str) -> list[tuple[int, int, str]]:
    """Spans of ID-card and bank-card numbers in text: (start, end, kind)."""
    found = [(m.start(), m.end(), "id_card") for m in ID_CARD_RE.finditer(text) if is_id_card(m.group(0))]
    taken = {(a, b) for a, b, _ in found}
    for m in CARD_NUMBER_RE.finditer(text):
        if (m.start(), m.end()) not in taken and is_bank_card(m.group(0), text[:m.start()]):
            found.append((m.start(), m.end(), "bank_card"))
    return sorted(found)


def mask_personal_numbers(text: str) -> str:
    """ID numbers keep their first 2 characters; bank cards their last 4 digits."""
    out, pos = [], 0
    for a, b, kind in personal_numbers(text):
        num = text[a:b]
        out.append(text[pos:a])
        out.append(num[:2] + "*" * (len(num) - 2) if kind == "id_card"
                   else "*" * (len(num) - CARD_MASK_KEEP) + num[-CARD_MASK_KEEP:])
        pos = b
    out.append(text[pos:])
    return "".join(out)


def mask_phone(text: str) -> str:
    return PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_address(text: str) -> str:
    text = ADDRESS_LEAD_RE.sub(lambda m: m.group(1) + ADDRESS_MASK, text)
    return ADDRESS_RE.sub(ADDRESS_MASK, text)


def mask_pii(text: str) -> str:
    """Text safe to log: phone numbers keep only their first 3 and last 4 digits, ID and bank
    card numbers are starred, addresses go."""
    return mask_address(mask_phone(mask_personal_numbers(text)))


class PiiFilter(logging.Filter):
    """Logging filter that masks personal data in every record, whoever logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = mask_pii(record.msg)
        return True


def configure_logging(level: str = "INFO") -> None:
    """Called only by the CLI and the API app: libraries never set log levels."""
    handler = logging.StreamHandler()
    handler.addFilter(PiiFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("jieba").setLevel(logging.WARNING)
