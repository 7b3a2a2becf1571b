"""What a sink can do. The planner and the sync read these flags; nothing else branches on versions."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Capabilities:
    backend: str                     # "chdb" or "server"
    version: str
    time_precision: int              # 3 for DateTime64(3), 0 for DateTime
    partition_key: str               # e.g. "toYYYYMMDD(ended_at)"
    cluster: str | None = None
    shards: int = 1
    replicated: bool = False
    distributed: bool = False
    sharding_key: str | None = None
    lightweight_delete: bool = False
    mutations_sync: bool = False
    replace_partition_on_cluster: bool = False
    exchange_tables: bool = False
    postgresql_function: bool = False
    low_cardinality: bool = True
    insert_deduplication_token: bool = False
    mutation_fail_reason: bool = True   # system.mutations.latest_fail_reason (not in 18.16)
    # 26.x refuses REPLACE PARTITION from a staging table without rows in that partition.
    replace_partition_needs_rows: bool = True

    @property
    def partitions_are_days(self) -> bool:
        return self.partition_key.replace(" ", "") in ("toYYYYMMDD(ended_at)", "toDate(ended_at)")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"partitions_are_days": self.partitions_are_days}
