"""AssistPipeline: the only place that knows the stage order.

request → normalize → classify → retrieve → rank → policy → response
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import faiss

from assist.artifacts import read_manifest
from assist.classify.models import EscalationModel, IntentModel, SentimentModel
from assist.classify.signals import RiskLexicon
from assist.classify.understand import MAX_HISTORY, Understander, Understanding
from assist.config import Settings
from assist.errors import ArtifactError, EmptyAfterNormalization, Incompatible, StoreError
from assist.knowledge import KnowledgeBase, load_knowledge, require_knowledge
from assist.normalize import Message, TextNormalizer
from assist.policy import WidgetDecision, widget_decision
from assist.rank import LearnedRanker, RankedHit, Source, Suggestion, rank, sources_for
from assist.retrieval.encoder import SentenceTransformerEncoder
from assist.retrieval.index import HybridIndex
from assist.store.db import ready_engine
from assist.types import Entry, Hit

log = logging.getLogger(__name__)

# Rules are not sent to customers; they reach the agent as sources cited by FAQ entries.
SUGGEST_KINDS = ("faq", "product", "script")
FAQ_KINDS = ("faq",)
RANK_CANDIDATES = 30  # retrieved entries the ranker re-orders


@dataclass
class SuggestResult:
    understanding: Understanding | None
    suggestions: list[Suggestion]
    entities: dict[str, list[str]]
    message: Message
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class FaqResult:
    understanding: Understanding | None
    decision: WidgetDecision
    related: list[RankedHit]
    sources: list[Source]  # of the answer given (or of the closest entry on handoff)
    message: Message


class AssistPipeline:
    def __init__(self, *, settings: Settings, kb: KnowledgeBase, normalizer: TextNormalizer,
                 index: HybridIndex, understander: Understander | None, ranker: LearnedRanker | None = None):
        self.settings = settings
        self.kb = kb
        self.normalizer = normalizer
        self.index = index
        self.understander = understander
        self.ranker = ranker
        self.scripts_by_intent: dict[str, list[Entry]] = defaultdict(list)
        for e in index.entries_:
            if e.kind == "script" and e.intent:
                self.scripts_by_intent[e.intent].append(e)

    @classmethod
    def load(cls, settings: Settings, *, with_classifiers: bool = True, with_ranker: bool = True) -> "AssistPipeline":
        """Load knowledge, encoder, index (saved one if it matches, else built) and models.
        with_ranker=False keeps the retrieval order (for training the ranker itself)."""
        faiss.omp_set_num_threads(settings.retrieval.faiss_threads)  # process-wide, so set here
        kb = require_knowledge(settings.paths.knowledge_dir)
        normalizer = TextNormalizer.for_shop(kb)
        normalizer.warm_up()
        encoder = SentenceTransformerEncoder(path=settings.model_path("embedding"))
        encoder.warm_up()
        index = new_index(settings, normalizer, encoder)
        saved = settings.paths.index_dir / kb.version
        try:
            index.load(saved, kb.entries(), kb_version=kb.version)
            log.info("loaded index %s", saved)
        except (ArtifactError, Incompatible, FileNotFoundError, KeyError) as e:
            log.info("building index in memory (%s)", e)
            index.build(kb.entries(), kb_version=kb.version)
        understander = load_understander(settings, kb, encoder) if with_classifiers else None
        ranker = (LearnedRanker.load(settings.model_path("ranker"), embedding_version=encoder.version,
                                     intent_labels=list(understander.intent.classifier.classes_))
                  if understander is not None and with_ranker else None)
        return cls(settings=settings, kb=kb, normalizer=normalizer, index=index, understander=understander,
                   ranker=ranker)

    @property
    def versions(self) -> dict[str, str]:
        out = {"knowledge": self.kb.version, "embedding": self.index.encoder.version}
        if self.understander is not None:
            out.update(self.understander.versions)
        if self.ranker is not None:
            out["ranker"] = self.ranker.version
        return out

    def parse(self, text: str, history: list[str]) -> tuple[Message, list[Message]]:
        """The one parse of the message and of the part of its history that is read (the
        last MAX_HISTORY turns, which need no BM25 terms); each within max_message_chars."""
        limit = self.settings.max_message_chars
        message = self.normalizer.parse(text, encoder=self.index.encoder, max_chars=limit)
        if not any(ch.isalnum() for ch in message.text):
            raise EmptyAfterNormalization("message has no words or digits after normalization")
        past = (self.normalizer.parse_many(history[-MAX_HISTORY:], encoder=self.index.encoder, max_chars=limit)
                if history and self.understander else [])
        return message, past

    def understand(self, message: Message, past: list[Message], context: str | None) -> Understanding | None:
        """context: the turn before the message (either side); the customer's own previous
        message is already parsed in past."""
        if self.understander is None:
            return None
        ctx = None
        if context:
            ctx = (past[-1] if past and past[-1].raw == context
                   else self.normalizer.parse(context, encoder=self.index.encoder, lexical=False,
                                              max_chars=self.settings.max_message_chars))
        return self.understander.understand(message, past, context=ctx)

    def suggest(self, message: str, *, history: list[str], order: dict[str, Any], top_k: int,
                context: str | None = None) -> SuggestResult:
        """history: the customer's earlier messages; context: the turn just before (either side)."""
        t0 = time.perf_counter()
        msg, past = self.parse(message, history)
        t1 = time.perf_counter()
        understanding = self.understand(msg, past, context if context is not None else (history[-1] if history else None))
        t2 = time.perf_counter()
        hits = self.index.search(msg, top_k=RANK_CANDIDATES, kinds=SUGGEST_KINDS)
        t3 = time.perf_counter()
        faq = self.rank_faq(msg, [h for h in hits if h.entry.kind == "faq"], understanding)
        values = self._fill_values(order, msg)
        intent = understanding.intent if understanding else None
        suggestions = rank(
            faq, [h for h in hits if h.entry.kind != "faq"][:max(top_k * 2, 10)], kb=self.kb,
            scripts_by_intent=self.scripts_by_intent, intent=intent.intent if intent else None,
            intent_confidence=intent.confidence if intent else 0.0, values=values, top_k=top_k,
        )
        suggestions = [s for s in suggestions if s.confidence >= self.settings.policy.suggest_threshold]
        t4 = time.perf_counter()
        timings = {"parse": t1 - t0, "classify": t2 - t1, "retrieve": t3 - t2, "rank": t4 - t3}
        return SuggestResult(understanding=understanding, suggestions=suggestions, entities=msg.entities.as_dict(),
                             message=msg, timings_ms={k: round(v * 1000, 3) for k, v in timings.items()})

    def faq(self, question: str, *, history: list[str], top_k: int) -> FaqResult:
        msg, past = self.parse(question, history)
        understanding = self.understand(msg, past, history[-1] if history else None)
        ranked = self.rank_faq(msg, self.index.search(msg, top_k=RANK_CANDIDATES, kinds=FAQ_KINDS), understanding)
        threshold = self.settings.policy.answer_threshold
        decision = widget_decision(
            ranked, understanding, asked_for_human=msg.asked_for_human,
            answer_threshold=threshold if threshold is not None else (self.ranker.answer_threshold if self.ranker else 0.8),
            min_margin=self.ranker.min_margin if self.ranker else 0.0,
            min_similarity=self.ranker.min_similarity if self.ranker else 0.0,
            margin=self.ranker.margin(ranked) if self.ranker else float("inf"))
        sources = sources_for(decision.hit.entry, self.kb) if decision.hit else []
        return FaqResult(understanding=understanding, decision=decision, related=ranked[:top_k], sources=sources,
                         message=msg)

    def rank_faq(self, message: Message, hits: list[Hit], understanding: Understanding | None) -> list[RankedHit]:
        """FAQ hits in the learned ranker's order, with calibrated confidence. Without a
        ranker (index-only use) they keep the retrieval order and their cosine."""
        if self.ranker is None or understanding is None:
            return [RankedHit(hit=h, raw=h.score, confidence=h.similarity) for h in hits]
        return self.ranker.rank(message, hits, understanding.intent.probabilities)

    def _fill_values(self, order: dict[str, Any], message: Message) -> dict[str, Any]:
        shop = self.kb.shop
        entities = message.entities
        values: dict[str, Any] = {"shop_name": shop.name, "agent_name": shop.agent_name}
        if entities.order_ids:
            values["order_id"] = entities.order_ids[0]
        if entities.tracking_nos:
            values["tracking_no"] = entities.tracking_nos[0]
        sku = order.get("sku") or (entities.skus[0] if entities.skus else None)
        if sku and sku in self.kb.products:
            values.update(sku=sku, product_title=self.kb.products[sku].title)
        values.update({k: v for k, v in order.items() if v not in (None, "")})
        return values


def preflight(settings: Settings) -> list[str]:
    """What would stop the service from starting, each as `file: message`, found without
    loading the models: the knowledge base's errors, each model folder's manifest and file
    hashes, and a database it cannot open or whose schema it does not know."""
    kb_dir = settings.paths.knowledge_dir
    problems = [f"{kb_dir}/{e}" for e in load_knowledge(kb_dir)[1]]
    for name in ("intent", "sentiment", "escalation", "ranker"):
        try:
            folder = settings.model_path(name)
            if not folder.is_dir():
                raise ArtifactError(f"{folder}: no {name} model; train it with `assist train {name}`")
            read_manifest(folder)
        except ArtifactError as e:
            problems.append(str(e))
    try:
        SentenceTransformerEncoder.check(settings.model_path("embedding"))
    except ArtifactError as e:
        problems.append(str(e))
    try:
        ready_engine(settings.db_url).dispose()
    except StoreError as e:
        problems.append(str(e))
    return problems


def new_index(settings: Settings, normalizer: TextNormalizer, encoder: SentenceTransformerEncoder) -> HybridIndex:
    r = settings.retrieval
    return HybridIndex(normalizer=normalizer, encoder=encoder, rrf_k=r.rrf_k, bm25_weight=r.bm25_weight,
                       dense_weight=r.dense_weight, candidates=r.candidates, hnsw_min_rows=r.hnsw_min_rows,
                       hnsw_ef_search=r.hnsw_ef_search)


def load_understander(settings: Settings, kb: KnowledgeBase, encoder: SentenceTransformerEncoder) -> Understander:
    return Understander(
        intent=IntentModel.load(settings.model_path("intent"), embedding_version=encoder.version),
        sentiment=SentimentModel.load(settings.model_path("sentiment")),
        escalation=EscalationModel.load(settings.model_path("escalation"), embedding_version=encoder.version),
        lexicon=RiskLexicon(terms=kb.risk_terms), kb=kb,
    )
