"""Sources: where the truth lives. Postgres (`postgres.py`), its SQL generated from the table spec (`sql.py`)."""

from .postgres import PostgresSource, open_source

__all__ = ["PostgresSource", "open_source"]
