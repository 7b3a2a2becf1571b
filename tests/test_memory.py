"""A chsync process gives freed Arrow buffers back to the system (chsync/memory.py): a long process (the
demo) must not carry what one step freed into the next step's peak."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import pyarrow as pa
import pyarrow.compute as pc
from chsync import memory
memory.configure()

def resident():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1]) // 1024

one = pa.array(range(1_000_000))
before = resident()
arrays = [pc.add(one, i) for i in range(25)]    # 25 buffers of 8 MB, written by Arrow
held = resident()
del arrays
print(pa.default_memory_pool().backend_name, held - before, resident() - before)
"""


def test_freed_arrow_buffers_leave_the_process():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    backend, held, after = done.stdout.split()
    assert backend == "system"
    assert int(held) >= 150, "the probe allocated 200 MB"
    assert int(after) < 30, f"{after} MB still resident after the buffers were freed (pyarrow's own pool: 200)"
