#!/usr/bin/env bash
# The scheduler's benchmarks (issue 3): failover after SIGKILL, start lag, runs per second; a backlog
# of one-off runs drained by 3 instances and the start lag of one-off runs asked for a time (issue 21).
# Prints one markdown table; results and analysis in docs/benchmarks-scheduler.md.
#   bench/scheduler.sh [kills=20] [seconds per in-JVM benchmark=30] [one-off runs in the backlog=100000]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
build=${BUILD_DIR:-target-bench}
java=$(starpets_java)
./mvnw -B -q -Dbuild.dir="$build" -DskipTests package
cp=$(starpets_test_classpath "$build")
jar=$(starpets_built_jar "$build")
run() { "$java" -Xmx2g -Dstarpets.jar="$jar" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dlogback.configurationFile=/dev/null -cp "$cp" "$@" 2>/dev/null | grep '^|'; }

echo "| benchmark | p50 / rate | p99 | target | | notes |"
echo "|---|---|---|---|---|---|"
run gg.starpets.bench.FailoverBenchmark "${1:-20}"
run gg.starpets.bench.SchedulerBenchmark "${2:-30}"
run gg.starpets.bench.OneOffBacklogBenchmark "${3:-100000}"
