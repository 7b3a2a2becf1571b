"""Wait until every mutation of the sink table is done (on every shard), or fail naming the stuck one."""

from __future__ import annotations

import time

from .. import log
from ..errors import RuntimeFailure
from ..sink.base import ClickHouseSink


def wait_for_mutations(sink: ClickHouseSink, timeout: float = 600.0, poll: float = 0.5) -> float:
    """Returns the seconds waited. A mutation that failed at run time never finishes (it stays is_done = 0): the
    timeout turns that into a clear error instead of a hang."""
    started = time.monotonic()
    last_report = started
    while True:
        pending = sink.pending_mutations()
        if not pending:
            return time.monotonic() - started
        waited = time.monotonic() - started
        if waited > timeout:
            m = pending[0]
            reason = f"; last failure: {m['fail_reason']}" if m.get("fail_reason") else ""
            raise RuntimeFailure(f"mutation {m['mutation_id']} on {sink.table}"
                                 f"{' (' + m['shard'] + ')' if m.get('shard') else ''} is not done after "
                                 f"{timeout:.0f}s: {m['command'][:120]}{reason}")
        if time.monotonic() - last_report > 10:
            log.info(f"waiting for {len(pending)} mutation(s) on {sink.table} ({waited:.0f}s)")
            last_report = time.monotonic()
        time.sleep(poll)
