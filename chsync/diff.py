"""Key-level comparison of one day: pure logic over (id, row hash) pairs from both sides.

- missing: in the source set, not in the sink
- stale: in the sink, not in the source set
- duplicate: more than one sink row for the id
- changed: in both, and no sink row of the id carries the source's row hash
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

import pyarrow as pa


@dataclasses.dataclass
class DayDiff:
    missing: list[str]
    stale: list[str]
    changed: list[str]
    duplicates: list[str]

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.stale or self.changed or self.duplicates)

    def counts(self) -> dict[str, int]:
        return {"missing": len(self.missing), "stale": len(self.stale),
                "changed": len(self.changed), "duplicates": len(self.duplicates)}


def compare_day(source: pa.Table, sink: pa.Table) -> DayDiff:
    """`source`: one row per id; `sink`: one row per sink row (ids repeat for duplicates). Columns: id, h."""
    src = dict(zip(source.column("conversation_id").to_pylist(), source.column("h").to_pylist()))
    sink_ids = sink.column("conversation_id").to_pylist()
    sink_hashes: dict[str, set[int]] = defaultdict(set)
    for key, h in zip(sink_ids, sink.column("h").to_pylist()):
        sink_hashes[key].add(h)
    row_counts = Counter(sink_ids)
    return DayDiff(
        missing=sorted(k for k in src if k not in sink_hashes),
        stale=sorted(k for k in sink_hashes if k not in src),
        changed=sorted(k for k, h in src.items() if k in sink_hashes and h not in sink_hashes[k]),
        duplicates=sorted(k for k, n in row_counts.items() if n > 1),
    )
