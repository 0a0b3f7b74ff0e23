#!/usr/bin/env bash
# The exec supervisor's benchmark (issue 18): how fast a run's programs end after SIGKILL of the JVM,
# how early before the hold's end they stop when the JVM is frozen, and the supervisor's start and memory.
# Prints markdown table rows; results in docs/scheduler.md ("How exec runs are fenced").
#   bench/exec.sh [kills=20] [freezes=5]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
build=${BUILD_DIR:-target-bench}
java=$(starpets_java)
./mvnw -B -q -Dbuild.dir="$build" -DskipTests test-compile
cp=$(starpets_test_classpath "$build")
echo "| benchmark | p50 | p99 | target | | notes |"
echo "|---|---|---|---|---|---|"
"$java" -Xmx512m -Dlogback.configurationFile=/dev/null -cp "$cp" gg.starpets.bench.ExecFencingBenchmark \
  "${1:-20}" "${2:-5}" 2>/dev/null | grep '^|'
