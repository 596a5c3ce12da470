"""Persistence: the SQLite store (registry, runs, history) and, later, conversational memory."""
