"""Table specs: what a table is, declared once (a TOML file; the seed's table is the shipped default)."""

from .load import load_specs, pick
from .model import IDENTIFIER, Column, Predicate, TableSpec, validate_customer
from .types import ColumnType

__all__ = ["load_specs", "pick", "IDENTIFIER", "Column", "ColumnType", "Predicate", "TableSpec",
           "validate_customer"]
