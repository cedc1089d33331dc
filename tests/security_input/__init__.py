"""Hostile input: a corpus of attack strings, property-based tests, API fuzzing, uploads, login."""
