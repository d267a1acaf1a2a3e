"""Classifiers: intent (with phase), sentiment (with intensity) and escalation risk."""
