"""chsync: keep a ClickHouse copy of Postgres conversations in sync."""

__version__ = "0.1.0"
