"""Days in parallel (--workers N): each worker thread has its own Postgres connections and sink client;
the first failure stops new days from starting, lets running days finish (each day is atomic and
journaled), and is raised."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource

T = TypeVar("T")
R = TypeVar("R")


class Workers:
    def __init__(self, source: PostgresSource, sink: ClickHouseSink, workers: int | None) -> None:
        """`workers` None: the sink's default (Capabilities.day_workers)."""
        self.source, self.sink = source, sink
        self.workers = max(1, sink.capabilities.day_workers if workers is None else workers)
        self._local = threading.local()
        self._opened: list = []
        self._lock = threading.Lock()

    def pair(self) -> tuple[PostgresSource, ClickHouseSink]:
        """This thread's (source, sink): the run's own in the calling thread, clones in workers."""
        if self.workers == 1 or threading.current_thread() is threading.main_thread():
            return self.source, self.sink
        if not hasattr(self._local, "pair"):
            self._local.pair = (self.source.clone(), self.sink.clone())
            with self._lock:
                self._opened.append(self._local.pair)
        return self._local.pair

    def run(self, items: Iterable[T], fn: Callable[[T], R], on_done: Callable[[T, R], None]) -> None:
        items = list(items)
        if self.workers == 1:
            for item in items:
                on_done(item, fn(item))
            return
        stop = threading.Event()

        def task(item: T) -> tuple[Any, bool]:   # (fn(item), True), or (None, False) once stopped
            if stop.is_set():
                return None, False
            return fn(item), True

        first_error = None
        try:
            with concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="chsync-day") as pool:
                futures = {pool.submit(task, item): item for item in items}
                for future in concurrent.futures.as_completed(futures):
                    try:
                        result, ran = future.result()
                    except BaseException as e:
                        stop.set()
                        first_error = first_error or e
                        continue
                    if ran:
                        on_done(futures[future], result)
        finally:
            for source, sink in self._opened:
                source.close()
                sink.close()
            self._opened.clear()
        if first_error is not None:
            raise first_error
