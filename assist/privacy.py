"""The one personal-data policy: recognise mobile and landline numbers, ID-card and
bank-card numbers, e-mail addresses, names after 收件人 / 姓名 and street addresses, and mask
them before any text is logged, stored, shown as evidence or pasted into a reply. Also
tells personal numbers apart from order numbers."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

_CJK = r"\u4e00-\u9fff"

# Mainland mobiles, bare or with +86 / 0086 / 86, possibly written 138 1234 5678.
MOBILE_RE = re.compile(r"(?<![\d+])((?:(?:\+|00)86[\s-]?)?)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
# Landlines: an area code set apart (0571-88881234, (010)12345678, +86 10 12345678) or a
# phone word just before (座机057188881234). A bare 0-leading digit run is too often an order.
LANDLINE_RE = re.compile(
    r"(?<![\d+])(?:(?:\+86[\s-]?0?[1-9]\d{1,2}|\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3})[\s-]|\(0\d{2,3}\)|（0\d{2,3}）)\d{7,8}(?!\d)")
LANDLINE_LEAD_RE = re.compile(r"(?:电话|座机|固话|热线)[:：是为]?\s*(0\d{9,11})(?!\d)")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A name after the word that introduces it: 收件人张三, 姓名：李四, 联系人是王小明.
NAME_RE = re.compile(rf"(?:收件人|收货人|寄件人|联系人|姓名)(?:是|叫|为|写|改成|改为)?[:：]?\s*([{_CJK}·]{{2,4}})")
# A street address: an administrative unit, then a road/estate, then a number with a unit.
ADDRESS_RE = re.compile(
    rf"[{_CJK}]{{0,12}}(?:省|市|自治区|区|县|镇)[{_CJK}\w#-]{{0,30}}?"
    rf"(?:路|街|道|巷|弄|村|小区|大厦|花园|公寓|广场)[{_CJK}\w#-]{{0,20}}?"
    rf"(?:\d+|[一二三四五六七八九十百]+)(?:号|栋|幢|单元|室|楼|层)(?:[\w#-]{{0,12}}(?:号|室|层|楼))?"
)
# "地址是 …" / "收货地址：…": whatever follows, up to the end of the clause.
ADDRESS_LEAD_RE = re.compile(r"((?:收货|收件|寄件|新|我的?)?地址(?:是|为|改成|改为|换成)?[:：]?\s*)[^，。！？,.!?;；\n]{4,}")

ADDRESS_MASK = "[地址]"
NAME_MASK = "[姓名]"

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


NUMBER_KINDS = frozenset({"mobile", "landline", "id_card", "bank_card"})  # never an order number


@dataclass(frozen=True)
class Pii:
    start: int
    end: int
    kind: str  # mobile | landline | id_card | bank_card | email | name


def find_pii(text: str) -> list[Pii]:
    """Personal numbers, e-mails and names in text, leftmost first; where two overlap the
    earlier (then longer) one wins, so an ID number is never also read as a phone.
    (Addresses have no exact extent: mask_pii masks them on what is left.)"""
    spans = [Pii(a, b, k) for a, b, k in personal_numbers(text)]
    spans += [Pii(m.start(), m.end(), "email") for m in EMAIL_RE.finditer(text)]
    spans += [Pii(m.start(), m.end(), "mobile") for m in MOBILE_RE.finditer(text)]
    spans += [Pii(m.start(), m.end(), "landline") for m in LANDLINE_RE.finditer(text)]
    spans += [Pii(m.start(1), m.end(1), "landline") for m in LANDLINE_LEAD_RE.finditer(text)]
    spans += [Pii(m.start(1), m.end(1), "name") for m in NAME_RE.finditer(text)]
    out: list[Pii] = []
    for s in sorted(spans, key=lambda s: (s.start, -s.end)):
        if not out or s.start >= out[-1].end:
            out.append(s)
    return out


def mask_address(text: str) -> str:
    text = ADDRESS_LEAD_RE.sub(lambda m: m.group(1) + ADDRESS_MASK, text)
    return ADDRESS_RE.sub(ADDRESS_MASK, text)


def _masked(value: str, kind: str) -> str:
    digits = re.sub(r"\D", "", value)
    if kind == "mobile":   # 138****5678: the first 3 and last 4 digits, as receipts show them
        return f"{digits[-11:-8]}****{digits[-4:]}"
    if kind == "landline":
        return "*" * (len(digits) - 4) + digits[-4:]
    if kind == "id_card":
        return value[:2] + "*" * (len(value) - 2)
    if kind == "bank_card":
        return "*" * (len(value) - CARD_MASK_KEEP) + value[-CARD_MASK_KEEP:]
    if kind == "email":
        user, _, domain = value.partition("@")
        return f"{user[:1]}***@{domain}"
    return NAME_MASK


def mask_pii(text: str) -> str:
    """Text safe to log, store or show: mobiles keep their first 3 and last 4 digits,
    landlines and bank cards their last 4, ID numbers their first 2, e-mails their first
    letter and domain; names and addresses go."""
    out, pos = [], 0
    for s in find_pii(text):
        out += [text[pos:s.start], _masked(text[s.start:s.end], s.kind)]
        pos = s.end
    out.append(text[pos:])
    return mask_address("".join(out))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, personal data masked in the message and in every extra
    field: a newline or a NUL in a message is escaped, never a new log line."""

    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
                                    "level": record.levelname, "logger": record.name,
                                    "msg": mask_pii(record.getMessage())}
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = mask_pii(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Called only by the CLI and the API app: libraries never set log levels."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through our formatter, not their own
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
