"""Sources: where the truth lives. Only Postgres today (`postgres.py`)."""

from .postgres import PostgresSource, open_source

__all__ = ["PostgresSource", "open_source"]
