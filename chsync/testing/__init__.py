"""Test harnesses users can run too (a local ClickHouse cluster)."""
