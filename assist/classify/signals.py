"""Risk signals: which risky words a message contains, with the span that triggered each."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assist.normalize import normalize_text
from assist.types import RISK_SIGNALS as SIGNALS


@dataclass(frozen=True)
class Signal:
    signal: str
    evidence: str        # the words that matched, as they stand in the normalized message
    start: int
    end: int


class RiskLexicon:
    def __init__(self, *, terms: dict[str, str]):
        bad = {s for s in terms.values() if s not in SIGNALS}
        if bad:
            raise ValueError(f"unknown risk signal(s) {sorted(bad)}; valid: {', '.join(SIGNALS)}")
        self.terms = {normalize_text(t): s for t, s in terms.items()}
        # Longest first, so 黑猫投诉 wins over 黑猫; ASCII terms only as whole words (sb ≠ sbc).
        parts = []
        for t in sorted(self.terms, key=len, reverse=True):
            esc = re.escape(t)
            parts.append(rf"(?<![a-z0-9]){esc}(?![a-z0-9])" if t.isascii() else esc)
        self._re = re.compile("|".join(parts)) if parts else None

    def find(self, text: str) -> list[Signal]:
        if self._re is None:
            return []
        norm = normalize_text(text)
        return [Signal(self.terms[m.group(0)], m.group(0), m.start(), m.end()) for m in self._re.finditer(norm)]
