"""The promotion gate: a challenger replaces the champion only when its primary metric improves
and no guarded metric gets worse by more than its tolerance. Both are measured on the same
fixed sets; the decision, with every figure beside it, is kept with the challenger."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    name: str
    champion: float | None        # None: not measured (a set that is not there, a held-out slice too small)
    challenger: float | None
    role: str = "guard"           # primary | guard | info (shown, never decides)
    higher_is_better: bool = True
    tolerance: float = 0.0        # how much worse a guard may get, in the metric's own unit

    def gain(self) -> float | None:
        """How much better the challenger is (negative: worse)."""
        if self.champion is None or self.challenger is None:
            return None
        delta = self.challenger - self.champion
        return delta if self.higher_is_better else -delta


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    metrics: list[Metric]

    def as_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, "metrics": [asdict(m) for m in self.metrics]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Decision:
        """A decision kept in gate.json (as_dict), read back."""
        return cls(d["promote"], d["reason"], [Metric(**m) for m in d["metrics"]])

    def table(self, champion: str, challenger: str) -> str:
        def cell(v: float | None) -> str:
            return "—" if v is None else f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"

        head = f"{'metric':<44}{'champion':>12}{'challenger':>12}{'gain':>9}  rule"
        lines = [f"champion {champion} | challenger {challenger}", head, "-" * len(head)]
        for m in self.metrics:
            g = m.gain()
            rule = {"primary": "must improve", "guard": f"may fall ≤ {m.tolerance:g}", "info": ""}[m.role]
            lines.append(f"{m.name:<44}{cell(m.champion):>12}{cell(m.challenger):>12}"
                         f"{'' if g is None else f'{g:+.4f}':>9}  {rule}")
        lines.append(("PROMOTE: " if self.promote else "REJECT: ") + self.reason)
        return "\n".join(lines)


def decide(metrics: list[Metric], *, min_gain: float = 0.0) -> Decision:
    """Promote when the (one) primary metric gains more than min_gain and every measured guard
    stays within its tolerance; otherwise reject, saying which rule failed first."""
    primary = [m for m in metrics if m.role == "primary"]
    if len(primary) != 1:
        raise ValueError(f"the gate needs exactly one primary metric, got {len(primary)}")
    p = primary[0]
    gain = p.gain()
    if gain is None:
        return Decision(False, f"the primary metric ({p.name}) could not be measured", metrics)
    if gain <= min_gain:
        return Decision(False, f"{p.name} did not improve ({p.champion:.4f} → {p.challenger:.4f})", metrics)
    for m in metrics:
        g = m.gain()
        if m.role == "guard" and g is not None and -g > m.tolerance + 1e-12:
            return Decision(False, f"{m.name} got worse by {-g:.4f}, over its tolerance of {m.tolerance:g}", metrics)
    return Decision(True, f"{p.name} improved by {gain:+.4f} and no guarded metric fell beyond its tolerance",
                    metrics)


def runs_table(runs: list[dict[str, Any]]) -> str:
    """Retraining runs (registry.retraining_runs) as text, each with its gate's table."""
    if not runs:
        return "retraining: no model retrained in this window"
    parts = [f"retraining: {len(runs)} run(s)"]
    for run in runs:
        decision = Decision.from_dict(run["gate"])
        parts.append(f"\n{run['model']} {run['version']} ({run['state']}, made {run['created_at']})\n"
                     + decision.table(run["gate"].get("champion", "?"), run["version"]))
    return "\n".join(parts)
