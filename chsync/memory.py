"""How a chsync process allocates: set once, when the command starts, before any thread does.

Two allocators kept memory a long process had freed, and never gave it back to the system (`chsync demo`
runs its whole story in one process, and each step's peak came on top of what the earlier ones left):

- pyarrow's default pool (mimalloc) kept freed Arrow buffers, ~55 MB at the demo's end: Arrow's buffers
  come from the system allocator instead, which unmaps a large block when it is freed;
- glibc gives every thread that allocates its own arena (up to eight per core) and keeps each arena's
  free pages: two arenas are enough for chsync's few threads (the days' workers, the check, the sink's
  side of a fingerprint).

`give_back` returns the free pages glibc still holds, after a step that used much memory
(`ClickHouseSink.release_memory`). Measured on `chsync demo` at scale 1 (one run each): peak 727 MB with
none of the three, 670 MB with Arrow's pool changed, 644 MB with the arenas capped too, 607 MB with
`give_back`; 580-597 MB (two runs) once a scope's end released memory as well. Same speed.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

M_ARENA_MAX = -8      # mallopt's parameter number in glibc's malloc.h
ARENAS = 2


@functools.cache
def _glibc() -> Any:
    """glibc, or None where the C library is another (musl, macOS): its own defaults then stand."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def configure() -> None:
    import pyarrow as pa
    pa.set_memory_pool(pa.system_memory_pool())
    if _glibc():
        _glibc().mallopt(M_ARENA_MAX, ARENAS)


def give_back() -> None:
    """Return the free pages glibc's arenas hold to the system."""
    if _glibc():
        _glibc().malloc_trim(0)
