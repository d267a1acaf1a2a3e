"""Risk signals: which risky words a message contains, with the span that triggered each."""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

from assist.normalize import Alternation, normalize_text
from assist.types import RISK_SIGNALS as SIGNALS


@dataclass(frozen=True)
class Signal:
    signal: str
    evidence: str        # the words that matched, as they stand in the normalized message
    start: int
    end: int


class RiskLexicon:
    """Literal terms in one Aho-Corasick automaton (pyahocorasick: one pass over the text,
    however many terms; a regular-expression alternation of them cost ~25 ms on a
    2000-character message), "re:" terms as regular expressions."""

    def __init__(self, *, terms: dict[str, str]):
        bad = {s for s in terms.values() if s not in SIGNALS}
        if bad:
            raise ValueError(f"unknown risk signal(s) {sorted(bad)}; valid: {', '.join(SIGNALS)}")
        # Literal terms are normalized; "re:" terms are regular expressions on normalized text.
        literal = {normalize_text(t): s for t, s in terms.items() if not t.startswith("re:")}
        patterns = [(t[3:], s) for t, s in terms.items() if t.startswith("re:")]
        self._automaton: ahocorasick.Automaton | None = None
        if literal:
            self._automaton = ahocorasick.Automaton()
            for t, signal in literal.items():
                self._automaton.add_word(t, (t, signal))
            self._automaton.make_automaton()
        self._signals = [s for _, s in patterns]
        self._re = Alternation([p for p, _ in patterns])

    def find(self, text: str) -> list[Signal]:
        """Signals in normalized text (Message.text), left to right, not overlapping (the
        longest term wins, so 黑猫投诉 over 黑猫; ASCII terms only as whole words, sb ≠ sbc);
        spans index into the text."""
        found = [Signal(self._signals[i], m.group(0), m.start(), m.end()) for i, m in self._re.finditer(text)]
        if self._automaton is not None:
            for end, (term, signal) in self._automaton.iter_long(text):
                start = end - len(term) + 1
                if term.isascii() and (_word_char(text, start - 1) or _word_char(text, end + 1)):
                    continue
                found.append(Signal(signal, term, start, end + 1))
        out: list[Signal] = []
        for sig in sorted(found, key=lambda s: (s.start, -s.end)):
            if not out or sig.start >= out[-1].end:
                out.append(sig)
        return out


def _word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isascii() and text[i].isalnum())
