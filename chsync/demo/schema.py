"""The seed's source schema (the tables its filter reads), for the demo generator and tests (chsync never
alters a real source).

Tables first, constraints after loading (measured: loading into constrained tables is 2.5x slower).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

TABLES = """
CREATE TABLE customers(id text, name text NOT NULL);
CREATE TABLE profiles(id text, customer_id text NOT NULL, name text NOT NULL);
CREATE TABLE users(id text, customer_id text NOT NULL, is_dev_user boolean NOT NULL DEFAULT false);
CREATE TABLE usecases(id text, customer_id text NOT NULL, name text NOT NULL);
CREATE TABLE conversations(
  id uuid, customer_id text NOT NULL, profile_id text NOT NULL,
  usecase_id text NULL, agent_user_id text NULL, source_type text NOT NULL,
  started_at timestamptz NOT NULL, ended_at timestamptz NULL,
  has_agent_assistance boolean NOT NULL DEFAULT true, updated_at timestamptz NOT NULL);
CREATE TABLE conversation_labels(conversation_id uuid NOT NULL, label text NOT NULL);
"""

CONSTRAINTS = """
ALTER TABLE customers ADD PRIMARY KEY (id);
ALTER TABLE profiles ADD PRIMARY KEY (id);
ALTER TABLE users ADD PRIMARY KEY (id);
ALTER TABLE usecases ADD PRIMARY KEY (id);
ALTER TABLE conversations ADD PRIMARY KEY (id);
ALTER TABLE conversation_labels ADD PRIMARY KEY (conversation_id, label);
ALTER TABLE profiles ADD FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE conversation_labels ADD FOREIGN KEY (conversation_id) REFERENCES conversations(id);
CREATE INDEX conversations_customer_ended ON conversations (customer_id, ended_at);
"""

DROP = "DROP TABLE IF EXISTS conversation_labels, conversations, usecases, users, profiles, customers CASCADE;"


def create(conn: psycopg.Connection, *, constraints: bool = True) -> None:
    """(Re)create the source tables on a psycopg connection."""
    conn.execute(DROP)
    conn.execute(TABLES)
    if constraints:
        conn.execute(CONSTRAINTS)


def add_constraints(conn: psycopg.Connection) -> None:
    conn.execute(CONSTRAINTS)
