"""Mask personal data (phone numbers, addresses) before any text is logged or stored."""

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


def mask_phone(text: str) -> str:
    return PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_address(text: str) -> str:
    text = ADDRESS_LEAD_RE.sub(lambda m: m.group(1) + ADDRESS_MASK, text)
    return ADDRESS_RE.sub(ADDRESS_MASK, text)


def mask_pii(text: str) -> str:
    """Text safe to log: phone numbers keep only their first 3 and last 4 digits, addresses go."""
    return mask_address(mask_phone(text))


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
