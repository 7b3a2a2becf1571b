"""What a sink can do, declared once by its backend (chdb.py, server.py, cluster.py) and read by the
planner and the strategies: nothing else looks at versions or backend names."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Capabilities:
    backend: str                     # a description for people ("chdb", "server", "cluster"); never branched on
    version: str
    time_precision: int              # 3 for DateTime64(3), 0 for DateTime
    partition_key: str               # as the table has it, e.g. "toYYYYMMDD(ended_at)"
    partition_grain: str | None      # "day" | "month" when the key is the spec's day column; None otherwise
    cluster: str | None = None
    shards: int = 1
    replicas: int = 1                    # replicas of the most replicated shard
    replicated: bool = False
    distributed: bool = False
    sharding_key: str | None = None
    lightweight_delete: bool = False
    replace_partition_on_cluster: bool = False
    postgresql_function: bool = False    # the sink can read Postgres itself (pull)
    in_process: bool = False             # it runs inside chsync, so it reaches Postgres wherever chsync does
    http_copy: bool = False              # its rows can be copied over HTTP into an in-process chDB (diff)
    low_cardinality: bool = True
    insert_deduplication_token: bool = False
    mutation_fail_reason: bool = True    # system.mutations.latest_fail_reason (not in 18.16)

    @property
    def partitions_are_days(self) -> bool:
        return self.partition_grain == "day"

    @property
    def day_workers(self) -> int:
        """Days processed at once unless --workers says otherwise. Two, so that Postgres reads and hashes
        one day while the sink writes and checks another (the seed's 49 days on chDB: 17.5 s with one,
        10.8 s with two). One on a cluster, as before: there each day's DDL runs ON CLUSTER through
        ZooKeeper's queue, and two workers have not been measured against one."""
        return 1 if self.cluster else 2

    @property
    def replica_copies(self) -> bool:
        """Each shard keeps several copies of the table that replication keeps equal: a write lands on one
        replica and reaches the others later, so each must be waited for and proven."""
        return self.replicated and self.replicas > 1

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"partitions_are_days": self.partitions_are_days}


def partition_grain(found: str, day: str, timezone: str, day_is_date: bool) -> str | None:
    """"day", "month" or None for a table's partition key, given the spec's day column."""
    key = found.replace(" ", "")
    tz = "" if timezone == "UTC" or day_is_date else f",'{timezone}'"
    if key in (f"toYYYYMMDD({day}{tz})", f"toDate({day}{tz})") or (day_is_date and key == day):
        return "day"
    if key == f"toYYYYMM({day}{tz})":
        return "month"
    return None
