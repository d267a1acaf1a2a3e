"""Risk signals: which risky words a message contains, with the span that triggered each."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assist.normalize import Alternation, normalize_text
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
        # Literal terms are normalized; "re:" terms are regular expressions on normalized text.
        literal = {normalize_text(t): s for t, s in terms.items() if not t.startswith("re:")}
        patterns = [(t[3:], s) for t, s in terms.items() if t.startswith("re:")]
        # Longest first, so 黑猫投诉 wins over 黑猫; ASCII terms only as whole words (sb ≠ sbc).
        for t in sorted(literal, key=len, reverse=True):
            esc = re.escape(t)
            patterns.append((rf"(?<![a-z0-9]){esc}(?![a-z0-9])" if t.isascii() else esc, literal[t]))
        self._signals = [s for _, s in patterns]
        self._re = Alternation([p for p, _ in patterns])

    def find(self, text: str) -> list[Signal]:
        """Signals in normalized text (Message.text); spans index into it."""
        return [Signal(self._signals[i], m.group(0), m.start(), m.end()) for i, m in self._re.finditer(text)]
