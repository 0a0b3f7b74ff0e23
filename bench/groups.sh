#!/usr/bin/env bash
# Concurrency groups under load (issue 22 item 6): 2,000 tasks due every second on 3 instances, in no
# group and then in 20 groups of max-concurrent 3. Prints one markdown table: start lag p50/p99, starts
# per second and the highest concurrency per group from the runs' recorded start and end times.
# Results in docs/benchmarks-scheduler.md.
#   bench/groups.sh [seconds per run=30] [run length in ms=10]
# It loads the machine: run it alone (here: flock /tmp/starpets-heavy.lock bench/groups.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
build=${BUILD_DIR:-target-bench}
java=$(starpets_java)
./mvnw -B -q -Dbuild.dir="$build" test-compile
cp=$(starpets_test_classpath "$build")
"$java" -Xmx2g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dlogback.configurationFile=/dev/null \
  -cp "$cp" gg.starpets.bench.GroupBenchmark "${1:-30}" "${2:-10}" 2>/dev/null | grep '^|'
