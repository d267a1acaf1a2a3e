"""Operations analytics over the interaction log and feedback, in SQL (the same queries on
SQLite and PostgreSQL): what was asked, what was answered, what agents did with the
suggestions and why, where escalations went, how fast agents replied and whether the SLA
deadlines were met. `GET /v1/admin/stats` and `assist report`.
Answers are counted per day and dimension as they are logged (add_counts), so a month's
report reads those counts rather than a million rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from assist.store.tables import Feedback, Interaction, InteractionCount

TOP = 20
# First-response time bands (seconds), for a distribution any database can count.
RESPONSE_BANDS = (30, 60, 180, 600, 3600)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def window(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Whole UTC days, the last one included."""
    return (dt.datetime.combine(first, dt.time(), dt.UTC),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC))


def _dimensions(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The (dimension, value) pairs one logged answer counts for."""
    out = [("endpoint", row["endpoint"])]
    for dim, key in (("intent", "intent"), ("top_entry", "top_entry_id"), ("escalation", "escalation")):
        if row.get(key):
            out.append((dim, str(row[key])))
    if row.get("escalation") == "escalate":
        out += [("route", str(row.get("route")))] + [("reason", code) for code in row.get("reasons") or []]
    if row["endpoint"] == "faq":
        out.append(("answered", "yes" if row.get("answered") else "no"))
        if not row.get("answered"):
            out.append(("handoff", str(row.get("handoff_reason"))))
    return out


def add_counts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add rows to the daily counts (upsert, in the caller's transaction)."""
    counts = Counter((r["created_at"].date(), dim, value[:128]) for r in rows for dim, value in _dimensions(r))
    if not counts:
        return
    values = [{"day": d, "dimension": k, "value": v, "n": n} for (d, k, v), n in counts.items()]
    upsert = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(InteractionCount)
    conn.execute(upsert.on_conflict_do_update(index_elements=["day", "dimension", "value"],
                                              set_={"n": InteractionCount.n + upsert.excluded.n}), values)


def report(engine: Engine, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Everything logged from start (inclusive) to end (exclusive), whole UTC days: the
    answers from the daily counts, the feedback from its own rows (by when it was given)."""
    c, f = InteractionCount, Feedback
    n = func.count()
    with Session(engine) as s:
        counts: dict[str, Counter[str]] = {}
        for dim, value, total in s.execute(select(c.dimension, c.value, func.sum(c.n))
                                           .where(c.day >= start.date(), c.day < end.date())
                                           .group_by(c.dimension, c.value)):
            counts.setdefault(dim, Counter())[value] = int(total)
        window = and_(f.created_at >= start, f.created_at < end)
        sidebar = and_(window, f.source == "sidebar")
        actions = {a: k for a, k in s.execute(select(f.action, n).where(sidebar).group_by(f.action))}
        by_rank = s.execute(select(f.rank, f.action, n).where(sidebar).group_by(f.rank, f.action).order_by(f.rank)).all()
        accepted = func.sum(case((f.action == "accepted", 1), else_=0))
        by_entry = s.execute(select(f.entry_id, accepted, n).where(sidebar).group_by(f.entry_id)
                             .order_by(n.desc()).limit(TOP)).all()
        by_intent = s.execute(select(f.answer_intent, accepted, n).where(sidebar)
                              .group_by(f.answer_intent).order_by(n.desc())).all()
        why = Counter((a, r) for a, rs in s.execute(select(f.action, f.reasons)
                                                      .where(sidebar, f.action.in_(["edited", "rejected"])))
                      for r in rs or [])
        helpful = {h: k for h, k in s.execute(select(f.helpful, n).where(window, f.source == "widget")
                                              .group_by(f.helpful))}
        responses = _first_responses(s, sidebar)
        sla = _sla(s, start, end)
    get = lambda dim: counts.get(dim, Counter())
    faq_total, faq_answered = get("endpoint")["faq"], get("answered")["yes"]
    feedback_total = sum(actions.values())
    return {
        "from": start.isoformat(), "to": end.isoformat(),
        "requests": {"suggest": get("endpoint")["suggest"], "faq": faq_total},
        "top_entries": [{"entry_id": e, "n": k} for e, k in sorted(get("top_entry").items(), key=lambda x: (-x[1], x[0]))[:TOP]],
        "top_intents": [{"intent": e, "n": k} for e, k in sorted(get("intent").items(), key=lambda x: (-x[1], x[0]))[:TOP]],
        "widget": {"questions": faq_total, "answered": faq_answered,
                   "deflection_rate": _rate(faq_answered, faq_total),
                   "unanswered_rate": _rate(faq_total - faq_answered, faq_total),
                   "handoffs": dict(get("handoff").most_common()),
                   "helpful": {"yes": helpful.get(True, 0), "no": helpful.get(False, 0)}},
        "suggestions": {"feedback": feedback_total, "acceptance_rate": _rate(actions.get("accepted", 0), feedback_total),
                        "actions": actions,
                        "by_rank": [{"rank": r, "action": a, "n": k} for r, a, k in by_rank],
                        "by_entry": [{"entry_id": e, "accepted": int(a), "n": k,
                                      "acceptance_rate": _rate(int(a), k)} for e, a, k in by_entry],
                        "by_intent": [{"intent": e, "accepted": int(a), "n": k,
                                       "acceptance_rate": _rate(int(a), k)} for e, a, k in by_intent],
                        "reasons": [{"action": a, "reason": r, "n": k} for (a, r), k in why.most_common()]},
        "escalations": {"decisions": dict(get("escalation").most_common()), "routes": dict(get("route").most_common()),
                        "reasons": dict(get("reason").most_common())},
        "first_response": responses,
        "sla": sla,
    }


def _first_responses(s: Session, sidebar: Any) -> dict[str, Any]:
    """First-response times the agents' clients reported with their feedback: count, mean and
    how many fell in each band (≤ 30 s, ≤ 1 min, …, over an hour)."""
    f = Feedback
    t = f.first_response_s
    band = case(*((t <= b, str(b)) for b in RESPONSE_BANDS), else_="more")
    rows = s.execute(select(band, func.count(), func.sum(t)).where(sidebar, t.is_not(None)).group_by(band)).all()
    n = sum(k for _, k, _ in rows)
    total = sum(float(v or 0) for _, _, v in rows)
    by_band = {b: 0 for b in [*map(str, RESPONSE_BANDS), "more"]}
    by_band.update({b: int(k) for b, k, _ in rows})
    return {"n": n, "mean_s": round(total / n, 1) if n else None,
            "within_s": {f"<={b}" if b != "more" else f">{RESPONSE_BANDS[-1]}": k for b, k in by_band.items()}}


def _sla(s: Session, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Answers logged in the window that came with an SLA deadline (returns within 1 working
    day, repairs within 2 …): met when an agent sent a reply (accepted or edited a suggestion)
    by the deadline, missed when the reply came later or the deadline passed without one,
    open while the deadline is ahead and no reply is recorded. By the rule they follow."""
    i, f = Interaction, Feedback
    replied = (select(f.request_id, func.min(f.created_at).label("at"))
               .where(f.source == "sidebar", f.action.in_(("accepted", "edited"))).group_by(f.request_id).subquery())
    now = dt.datetime.now(dt.UTC)
    state = case((replied.c.at.is_not(None) & (replied.c.at <= i.sla_deadline), "met"),
                 (replied.c.at.is_not(None), "missed"),
                 (i.sla_deadline < now, "missed"), else_="open")
    rows = s.execute(select(i.sla_rule, state, func.count())
                     .select_from(i).outerjoin(replied, replied.c.request_id == i.request_id)
                     .where(i.created_at >= start, i.created_at < end, i.sla_deadline.is_not(None))
                     .group_by(i.sla_rule, state)).all()
    by_rule: dict[str, dict[str, int]] = {}
    for rule, st, k in rows:
        by_rule.setdefault(str(rule), {"met": 0, "missed": 0, "open": 0})[st] = int(k)
    met, missed = sum(r["met"] for r in by_rule.values()), sum(r["missed"] for r in by_rule.values())
    return {"met": met, "missed": missed, "open": sum(r["open"] for r in by_rule.values()),
            "met_rate": _rate(met, met + missed), "by_rule": by_rule}


def table(r: dict[str, Any]) -> str:
    """The report as text, for `assist report`."""
    w, sg, esc = r["widget"], r["suggestions"], r["escalations"]
    lines = [f"from {r['from']} to {r['to']}: {r['requests']['suggest']} sidebar requests, "
             f"{r['requests']['faq']} widget questions",
             f"widget: deflection {w['deflection_rate']}, unanswered {w['unanswered_rate']}, handoffs {w['handoffs']}, "
             f"helpful {w['helpful']}",
             f"suggestions: {sg['feedback']} with feedback, acceptance {sg['acceptance_rate']}, actions {sg['actions']}",
             f"escalations: {esc['decisions']}; routes {esc['routes']}; reasons {esc['reasons']}",
             f"first response (client-reported): {r['first_response']['n']} replies, mean "
             f"{r['first_response']['mean_s']} s, {r['first_response']['within_s']}",
             f"SLA deadlines: met {r['sla']['met']}, missed {r['sla']['missed']}, open {r['sla']['open']} "
             f"(met rate {r['sla']['met_rate']}); by rule {r['sla']['by_rule']}", "",
             f"{'top entries':<40}{'n':>8}"]
    lines += [f"{x['entry_id']:<40}{x['n']:>8}" for x in r["top_entries"]]
    lines += ["", f"{'top intents':<40}{'n':>8}"] + [f"{x['intent']:<40}{x['n']:>8}" for x in r["top_intents"]]
    lines += ["", f"{'acceptance by entry':<40}{'n':>8}{'rate':>8}"]
    lines += [f"{x['entry_id']!s:<40}{x['n']:>8}{x['acceptance_rate']!s:>8}" for x in sg["by_entry"]]
    lines += ["", "edit / reject reasons: " + ", ".join(f"{x['action']} {x['reason']} {x['n']}" for x in sg["reasons"])]
    return "\n".join(lines)
