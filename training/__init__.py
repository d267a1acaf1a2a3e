"""Offline training and evaluation. Imports assist; assist never imports this at import time."""
