"""HTTP API (FastAPI). Only this package imports FastAPI."""
