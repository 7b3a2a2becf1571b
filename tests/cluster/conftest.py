"""One local 3-shard ClickHouse 18.16 + ZooKeeper cluster for the whole test session."""

from __future__ import annotations

import pytest
from harness.cluster import LocalCluster, find_binaries


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory):
    problem = find_binaries()
    if problem:
        pytest.skip(problem)
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    cluster.start()  # cleans up after itself if it fails
    try:
        yield cluster
    finally:  # servers also die with this process (PR_SET_PDEATHSIG) if pytest itself is killed
        cluster.stop()
