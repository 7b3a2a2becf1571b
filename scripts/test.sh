#!/usr/bin/env bash
# Installs everything the tests need (pip packages; Debian's PostgreSQL, ClickHouse, ZooKeeper, Pushgateway
# and promtool when missing and we may use apt) and runs the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

# The unit tier first: no database, no root, seconds; a mistake there stops the run before any server starts.
python3 -m pytest -q -p no:cacheprovider tests/unit

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "scripts/test.sh: cannot install $* (needs root + apt): the tests that need it will skip" >&2
    return 0
  fi
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
command -v chromium >/dev/null || apt_install chromium   # renders the HTML report in the report tests
# The metrics tests push to a real Pushgateway and check the alerting rules with promtool (package prometheus).
[ -x /usr/bin/prometheus-pushgateway ] || apt_install prometheus-pushgateway
command -v promtool >/dev/null || apt_install prometheus
if [ -f .ci/install-cluster.sh ]; then
  bash .ci/install-cluster.sh || echo "scripts/test.sh: cluster packages not installed: cluster tests will skip" >&2
fi

# The house rules a reviewer would otherwise check by hand: lint and types, then the suite.
python3 -m ruff check chsync tests bench
python3 -m mypy chsync
exec python3 -m pytest -q --durations=25 --ignore=tests/unit "$@"   # the slowest, to keep the suite in its budget
