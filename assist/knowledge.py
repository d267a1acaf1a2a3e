"""Load and validate the shop's knowledge base (knowledge/), and turn it into entries.

Every problem is collected, not just the first: `validate()` returns all of them as
`file:id: message`, which is what `assist kb validate` prints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assist.errors import KnowledgeValidationError
from assist.types import INTENTS, RISK_SIGNALS, Entry

ID_RE = r"^[a-z0-9][a-z0-9-]*$"
SKU_PATTERN = r"^(AP|HA)-\d{4}$"
PLACEHOLDER_RE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
MIN_PARAPHRASES = 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# How each platform's order numbers look, unless shop.yaml says otherwise.
ORDER_ID_PATTERNS = {"tmall": r"\d{16,19}", "taobao": r"\d{16,19}", "jd": r"\d{10,13}"}


class Shop(_Strict):
    id: str = Field(pattern=ID_RE)
    name: str = Field(min_length=1)
    platform: Literal["tmall", "taobao", "jd"]
    service_hours: str = "09:00-23:00"
    agent_name: str = "小二"
    # A regular expression for the shop's order numbers (whole match); default: the platform's.
    order_id_pattern: str | None = Field(default=None, max_length=200)

    @field_validator("order_id_pattern")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from e
        return v

    @property
    def order_id_regex(self) -> str:
        return self.order_id_pattern or ORDER_ID_PATTERNS[self.platform]


class Product(_Strict):
    sku: str = Field(pattern=SKU_PATTERN)
    title: str = Field(min_length=2)
    category: Literal["apparel", "appliance"]
    subcategory: str
    price: float = Field(gt=0)
    colors: list[str] = Field(min_length=1)
    sizes: list[str] = []
    material: str = ""
    size_chart: dict[str, str] | None = None
    stock: dict[str, int]
    warranty_months: int = Field(ge=0)
    attrs: dict[str, Any] = {}
    keywords: list[str] = []
    faq_ids: list[str] = []

    @field_validator("stock")
    @classmethod
    def _stock_non_negative(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k, n in v.items() if n < 0]
        if bad:
            raise ValueError(f"stock must be >= 0, got negative stock for {bad}")
        return v


class SLA(_Strict):
    intents: list[str] = Field(min_length=1)
    working_days: int = Field(ge=1, le=30)


class Rule(_Strict):
    id: str = Field(pattern=ID_RE)
    platform: Literal["tmall", "taobao", "jd", "shop"]
    title: str = Field(min_length=2)
    text: str = Field(min_length=10)
    effective_date: dt.date
    source: str = Field(min_length=1)
    severity: Literal["standard", "red_line"] = "standard"
    sla: SLA | None = None


class AppliesTo(_Strict):
    category: Literal["apparel", "appliance"] | None = None
    skus: list[str] = []


class Faq(_Strict):
    id: str = Field(pattern=ID_RE)
    intent: str
    question: str = Field(min_length=2)
    paraphrases: list[str] = Field(min_length=MIN_PARAPHRASES)
    answer: str = Field(min_length=4)
    applies_to: AppliesTo | None = None
    rule_ids: list[str] = []
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    updated_at: dt.date | None = None


class Script(_Strict):
    id: str = Field(pattern=ID_RE)
    scene: str = Field(pattern=r"^[a-z_]+$")
    intent: str
    tone: Literal["warm", "firm", "apologetic", "neutral"] = "neutral"
    template: str = Field(min_length=4)
    variables: list[str] = []


@dataclass
class KnowledgeBase:
    root: Path
    shop: Shop
    products: dict[str, Product] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    faqs: dict[str, Faq] = field(default_factory=dict)
    scripts: dict[str, Script] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    risk_terms: dict[str, str] = field(default_factory=dict)  # term -> risk signal
    boilerplate: dict[str, str] = field(default_factory=dict)  # pattern -> kind
    sources: dict[str, str] = field(default_factory=dict)  # id -> file it came from
    version: str = ""

    def entries(self) -> list[Entry]:
        """Everything retrievable, in a stable order (by kind, then id)."""
        out: list[Entry] = []
        for f in sorted(self.faqs.values(), key=lambda f: f.id):
            out.append(Entry(
                id=f.id, kind="faq", title=f.question, texts=(f.question, *f.paraphrases),
                answer=f.answer, source=self.sources[f.id], intent=f.intent,
                meta={"rule_ids": list(f.rule_ids),
                      "applies_to": f.applies_to.model_dump() if f.applies_to else None},
            ))
        for p in sorted(self.products.values(), key=lambda p: p.sku):
            out.append(Entry(
                id=p.sku, kind="product", title=p.title,
                texts=(p.title, " ".join([p.subcategory, *p.keywords, p.sku])),
                answer=product_reply(p), source=self.sources[p.sku], intent="product_info",
                meta={"category": p.category, "price": p.price},
            ))
        for r in sorted(self.rules.values(), key=lambda r: r.id):
            out.append(Entry(
                id=r.id, kind="rule", title=r.title, texts=(r.title,), answer=r.text,
                source=self.sources[r.id], intent=None,
                meta={"severity": r.severity, "effective_date": r.effective_date.isoformat()},
            ))
        for s in sorted(self.scripts.values(), key=lambda s: s.id):
            out.append(Entry(
                id=s.id, kind="script", title=s.scene, texts=(s.template,), answer=s.template,
                source=self.sources[s.id], intent=s.intent,
                meta={"variables": list(s.variables), "tone": s.tone, "scene": s.scene},
            ))
        return out

    def sla_for(self, intent: str) -> tuple[Rule, int] | None:
        """The rule that sets the reply deadline for this intent, with its working days."""
        for rule in sorted(self.rules.values(), key=lambda r: r.id):
            if rule.sla and intent in rule.sla.intents:
                return rule, rule.sla.working_days
        return None

    def lexicon_words(self) -> list[str]:
        """Words the segmenter must keep whole: the shop's own vocabulary."""
        words: set[str] = set()
        for p in self.products.values():
            words.update([p.subcategory, *p.keywords, *p.colors])
        words.update(r.title for r in self.rules.values() if len(r.title) <= 8)
        return sorted(w for w in words if 2 <= len(w) <= 12)


def product_reply(p: Product) -> str:
    """A product fact sheet an agent can send as it is."""
    parts = [f"亲，{p.title}（{p.sku}）售价¥{p.price:g}"]
    in_stock = [c for c, n in p.stock.items() if n > 0]
    out = [c for c, n in p.stock.items() if n == 0]
    parts.append("颜色：" + "、".join(p.colors))
    if p.sizes:
        parts.append("尺码：" + "/".join(p.sizes))
    if p.material:
        parts.append("材质：" + p.material)
    if p.warranty_months:
        parts.append(f"整机保修{p.warranty_months}个月")
    if out:
        parts.append("目前" + "、".join(out) + "暂时缺货，" + ("、".join(in_stock) + "有现货" if in_stock else "到货时间以页面为准"))
    return "，".join(parts) + "。"


# --- loading --------------------------------------------------------------------------------

def _fmt_pydantic(err: ValidationError) -> list[str]:
    return [f"{'.'.join(str(x) for x in e['loc']) or 'record'}: {e['msg']}" for e in err.errors()]


def _read_text(path: Path, errors: list[str], rel: str) -> str | None:
    """A knowledge file's text, or None with the reason in errors (not a file, not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        errors.append(f"{rel}:-: not UTF-8 text (byte {e.start}): save it as UTF-8")
    except IsADirectoryError:
        errors.append(f"{rel}:-: is a folder, expected a file")
    except OSError as e:
        errors.append(f"{rel}:-: cannot read: {e.strerror}")
    return None


def _load_yaml(path: Path, key: str, errors: list[str], rel: str) -> list[Any]:
    if (text := _read_text(path, errors, rel)) is None:
        return []
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        errors.append(f"{rel}:{_yaml_line(e)}: cannot parse YAML: {e}".replace("\n", " "))
        return []
    if not isinstance(doc, dict) or doc.get("version") != 1:
        errors.append(f"{rel}:-: file must be a mapping starting with 'version: 1'")
        return []
    items = doc.get(key)
    if not isinstance(items, list):
        errors.append(f"{rel}:-: missing list '{key}'")
        return []
    return items


def _yaml_line(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    return f"line {mark.line + 1}" if mark is not None else "-"


def _kb_version(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def _check_regex(pattern: str) -> str | None:
    if not pattern.startswith("re:"):
        return None
    try:
        rx = re.compile(pattern[3:])
    except re.error as e:
        return f"invalid regular expression: {e}"
    return "regular expression matches the empty string" if rx.search("") else None


def _check_risk_signal(term: str, signal: str) -> str | None:
    if signal not in RISK_SIGNALS:
        return f"unknown signal '{signal}' (valid: {', '.join(RISK_SIGNALS)})"
    return _check_regex(term)


def _check_boilerplate(pattern: str, kind: str) -> str | None:
    from assist.normalize import BOILERPLATE_KINDS  # local: keeps import of this module light

    if kind not in BOILERPLATE_KINDS:
        return f"unknown kind '{kind}' (valid: {', '.join(BOILERPLATE_KINDS)})"
    return _check_regex(pattern)


def _read_pairs(path: Path, columns: str, errors: list[str],
                check: Callable[[str, str], str | None] | None = None) -> dict[str, str]:
    """A lexicon TSV of key<TAB>value lines (blank and '#' lines skipped); each bad line goes
    to errors as lexicon/<file>:line N: message."""
    pairs: dict[str, str] = {}
    text = _read_text(path, errors, f"lexicon/{path.name}")
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        where = f"lexicon/{path.name}:line {n}"
        if len(parts) != 2 or not all(parts):
            errors.append(f"{where}: expected '{columns}'")
        elif check is not None and (problem := check(parts[0], parts[1])) is not None:
            errors.append(f"{where}: {problem}")
        elif parts[0] in pairs:
            errors.append(f"{where}: '{parts[0]}' listed twice")
        else:
            pairs[parts[0]] = parts[1]
    return pairs


def load_knowledge(root: Path) -> tuple[KnowledgeBase | None, list[str]]:
    """Parse and cross-check the knowledge base. Returns (kb or None, every error found)."""
    root = Path(root)
    errors: list[str] = []
    if not root.is_dir():
        return None, [f"{root}:-: knowledge folder not found"]

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    shop: Shop | None = None
    shop_file = root / "shop.yaml"
    if not shop_file.exists():
        errors.append("shop.yaml:-: missing")
    elif (text := _read_text(shop_file, errors, "shop.yaml")) is not None:
        try:
            doc = yaml.safe_load(text) or {}
            if not isinstance(doc, dict) or not isinstance(doc.get("shop"), dict):
                errors.append("shop.yaml:-: expected a mapping with a 'shop:' section (id, name, platform)")
            else:
                shop = Shop.model_validate(doc["shop"])
        except yaml.YAMLError as e:
            errors.append(f"shop.yaml:{_yaml_line(e)}: cannot parse YAML: {e}".replace("\n", " "))
        except ValidationError as e:
            errors.extend(f"shop.yaml:shop: {m}" for m in _fmt_pydantic(e))

    kb = KnowledgeBase(root=root, shop=shop or Shop(id="unknown", name="unknown", platform="tmall"))
    seen: dict[str, str] = {}

    def add(obj_id: str, rel_path: str) -> bool:
        if obj_id in seen:
            errors.append(f"{rel_path}:{obj_id}: duplicate id (also in {seen[obj_id]})")
            return False
        seen[obj_id] = rel_path
        kb.sources[obj_id] = rel_path
        return True

    def parse(model: type[BaseModel], raw: Any, rel_path: str, id_key: str) -> Any:
        rid = raw.get(id_key, "?") if isinstance(raw, dict) else "?"
        try:
            obj = model.model_validate(raw)
        except ValidationError as e:
            errors.extend(f"{rel_path}:{rid}: {m}" for m in _fmt_pydantic(e))
            return None
        return obj if add(getattr(obj, id_key), rel_path) else None

    files: list[Path] = [shop_file] if shop_file.exists() else []
    for path in sorted((root / "products").glob("*.jsonl")):
        files.append(path)
        for n, line in enumerate((_read_text(path, errors, rel(path)) or "").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{rel(path)}:line {n}: invalid JSON: {e.msg}")
                continue
            if (p := parse(Product, raw, rel(path), "sku")) is not None:
                kb.products[p.sku] = p
    for path in sorted((root / "rules").glob("*.yaml")):
        files.append(path)
        for raw in _load_yaml(path, "rules", errors, rel(path)):
            if (r := parse(Rule, raw, rel(path), "id")) is not None:
                kb.rules[r.id] = r
    for path in sorted((root / "faq").glob("*.yaml")):
        files.append(path)
        for raw in _load_yaml(path, "faqs", errors, rel(path)):
            if (f := parse(Faq, raw, rel(path), "id")) is not None:
                kb.faqs[f.id] = f
    for path in sorted((root / "scripts").glob("*.yaml")):
        files.append(path)
        for raw in _load_yaml(path, "scripts", errors, rel(path)):
            if (s := parse(Script, raw, rel(path), "id")) is not None:
                kb.scripts[s.id] = s
    syn = root / "lexicon" / "synonyms.tsv"
    if syn.exists():
        files.append(syn)
        kb.synonyms = _read_pairs(syn, "colloquial<TAB>canonical", errors)
    risk = root / "lexicon" / "risk_terms.tsv"
    if risk.exists():
        files.append(risk)
        kb.risk_terms = _read_pairs(risk, "term<TAB>signal", errors, check=_check_risk_signal)
    boiler = root / "lexicon" / "boilerplate.tsv"
    if boiler.exists():
        files.append(boiler)
        kb.boilerplate = _read_pairs(boiler, "pattern<TAB>kind", errors, check=_check_boilerplate)

    errors.extend(_cross_check(kb))
    if not kb.faqs:
        errors.append("faq:-: no FAQ entries found")
    kb.version = _kb_version(files, root) if files and not errors else ""
    return (None if errors else kb), errors


def _cross_check(kb: KnowledgeBase) -> list[str]:
    """Checks that span records: references, intents, placeholders, ambiguous phrasings."""
    errors: list[str] = []
    phrasing_owner: dict[str, str] = {}
    from assist.normalize import normalize_text  # local: keeps import of this module light

    for f in kb.faqs.values():
        where = f"{kb.sources[f.id]}:{f.id}"
        if f.intent not in INTENTS:
            errors.append(f"{where}: unknown intent '{f.intent}' (valid: {', '.join(INTENTS)})")
        for rid in f.rule_ids:
            if rid not in kb.rules:
                errors.append(f"{where}: rule_ids names unknown rule '{rid}'")
        for sku in f.applies_to.skus if f.applies_to else []:
            if sku not in kb.products:
                errors.append(f"{where}: applies_to names unknown sku '{sku}'")
        if f.valid_from and f.valid_to and f.valid_to < f.valid_from:
            errors.append(f"{where}: valid_to is before valid_from")
        for text in (f.question, *f.paraphrases):
            key = normalize_text(text)
            if not key:
                errors.append(f"{where}: empty phrasing")
            elif key in phrasing_owner and phrasing_owner[key] != f.id:
                errors.append(f"{where}: phrasing '{text}' also belongs to {phrasing_owner[key]}")
            elif key in phrasing_owner:
                errors.append(f"{where}: phrasing '{text}' repeated")
            phrasing_owner[key] = f.id
    for p in kb.products.values():
        where = f"{kb.sources[p.sku]}:{p.sku}"
        if p.category == "apparel" and not p.size_chart:
            errors.append(f"{where}: apparel needs a size_chart")
        if p.category == "appliance" and p.warranty_months < 12:
            errors.append(f"{where}: appliances need warranty_months >= 12")
        for fid in p.faq_ids:
            if fid not in kb.faqs:
                errors.append(f"{where}: faq_ids names unknown FAQ '{fid}'")
    for r in kb.rules.values():
        for intent in r.sla.intents if r.sla else []:
            if intent not in INTENTS:
                errors.append(f"{kb.sources[r.id]}:{r.id}: sla names unknown intent '{intent}'")
    for s in kb.scripts.values():
        where = f"{kb.sources[s.id]}:{s.id}"
        if s.intent not in INTENTS:
            errors.append(f"{where}: unknown intent '{s.intent}'")
        used = set(PLACEHOLDER_RE.findall(s.template))
        for name in sorted(used - set(s.variables)):
            errors.append(f"{where}: placeholder {{{name}}} is not declared in variables")
        for name in sorted(set(s.variables) - used):
            errors.append(f"{where}: variable '{name}' is declared but not used in template")
    return errors


NEAR_DUPLICATE_PHRASING = 0.8   # char-bigram Jaccard of two phrasings of different entries
NEAR_DUPLICATE_ANSWER = 0.5


def _bigram_sets(texts: list[str]) -> list[set[str]]:
    from assist.normalize import normalize_text

    out = []
    for t in texts:
        # Digits left out: two phrasings quoting order numbers are not alike for that.
        n = "".join(ch for ch in normalize_text(t) if ch.isalnum() and not ch.isdigit())
        out.append({n[i:i + 2] for i in range(len(n) - 1)} or {n})
    return out


def _similar_pairs(sets: list[set[str]], threshold: float) -> list[tuple[int, int, float]]:
    """Pairs (i < j) whose Jaccard similarity is at least threshold, via a sparse product."""
    import numpy as np
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, s in enumerate(sets):
        for g in s:
            rows.append(i)
            cols.append(vocab.setdefault(g, len(vocab)))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sets), max(len(vocab), 1)))
    inter = sp.triu(m @ m.T, k=1).tocoo()
    size = np.array([len(s) for s in sets], dtype=np.float64)
    jac = inter.data / (size[inter.row] + size[inter.col] - inter.data)
    keep = np.flatnonzero(jac >= threshold)
    return [(int(inter.row[k]), int(inter.col[k]), float(jac[k])) for k in keep]


def lint(kb: KnowledgeBase) -> list[str]:
    """Warnings that do not stop the service: near-duplicate FAQ entries (a phrasing or the
    answer almost the same as another entry's), which split matches between twins; merge
    them, or make each phrasing say which case it is."""
    faqs = sorted(kb.faqs.values(), key=lambda f: f.id)
    owner, texts = [], []
    for f in faqs:
        for t in (f.question, *f.paraphrases):
            owner.append(f)
            texts.append(t)
    warnings = []
    seen: set[tuple[str, str]] = set()
    for i, j, jac in _similar_pairs(_bigram_sets(texts), NEAR_DUPLICATE_PHRASING):
        a, b = owner[i], owner[j]
        if a.id != b.id and (a.id, b.id) not in seen:
            seen.add((a.id, b.id))
            warnings.append(f"{kb.sources[a.id]}:{a.id}: warning: phrasing '{texts[i]}' is nearly the same as "
                            f"'{texts[j]}' of {b.id} (similarity {jac:.2f}); merge the entries or tell them apart")
    for i, j, jac in _similar_pairs(_bigram_sets([f.answer for f in faqs]), NEAR_DUPLICATE_ANSWER):
        a, b = faqs[i], faqs[j]
        warnings.append(f"{kb.sources[a.id]}:{a.id}: warning: answer is nearly the same as the answer of {b.id} "
                        f"(similarity {jac:.2f}); merge the entries")
    return warnings


def require_knowledge(root: Path) -> KnowledgeBase:
    kb, errors = load_knowledge(root)
    if kb is None:
        raise KnowledgeValidationError(errors)
    return kb
