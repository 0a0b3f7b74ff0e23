#!/usr/bin/env bash
# How the scheduler's database cost grows (issue 14): idle load per instance, claim time and start
# lag as tasks grow 1k -> 100k and instances 3 -> 50, and the due rate at which one PostgreSQL
# saturates. Prints markdown tables (also kept in starpets-service/$BUILD_DIR/cost-<mode>.md) and writes
# docs/img/cost-*.png; results and analysis in docs/benchmarks-cost.md.
#   bench/cost.sh [smoke|quick|full|runcost] [durable|fast]
#     smoke: one point of each part (a minute); quick: about 4 minutes; full: about 11; runcost: only the
#     saturation at 1,000 and 10,000 due/s and the cost of one run (about a minute, no plots).
#     durable (default): fsync and synchronous_commit on, as in production; fast: both off, as in
#     the test server.
# It loads the machine's cores fully: run it alone (here: flock /tmp/starpets-heavy.lock nice -n 5 ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
mode=${1:-quick}
durability=${2:-durable}
build=${BUILD_DIR:-target-bench}
java=$(starpets_java)
./mvnw -B -q -Dbuild.dir="$build" test-compile
cp=$(starpets_test_classpath "$build")
"$java" -Xmx3g -cp "$cp" gg.starpets.bench.CostBenchmark "$mode" docs/img "$durability" \
  | tee "$STARPETS_SERVICE_MODULE/$build/cost-$mode.md"
