"""The rank stage: a learned ranker orders retrieved entries (learned.py) and
suggestions.py turns them into ready-to-send replies for the agent."""

from assist.rank.learned import LearnedRanker, RankedHit
from assist.rank.suggestions import Source, Suggestion, fill_template, rank, sources_for

__all__ = ["LearnedRanker", "RankedHit", "Source", "Suggestion", "fill_template", "rank", "sources_for"]
