"""Executing changes on the sink: the per-day swap and the daily sync built on it."""
