#!/usr/bin/env bash
# What tracing costs (issue 24 item 3): the same run workload on one instance of the service, tracing
# off (no OTEL_EXPORTER_OTLP_ENDPOINT), then on (OTLP/HTTP to a local receiver, every run sampled).
# Prints one markdown table: runs per second and start lag p50 / p99 for each, then on / off.
# Results in docs/observability.md ("What tracing costs").
#   bench/tracing.sh [tasks due every second=500] [seconds per mode=30]
# BUILD_DIR: Maven's output directory (target-bench). Several threads busy: run it alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
build=${BUILD_DIR:-target-bench}
java=$(starpets_java)
starpets_package "$build"
cp=$(starpets_test_classpath "$build")

echo "| mode | runs per second | start lag p50 / p99 | runs measured | spans received |"
echo "|---|---|---|---|---|"
"$java" -Xmx2g -Dlogging.level.root=warn -cp "$cp" gg.starpets.bench.TracingCostBenchmark "${1:-500}" "${2:-30}" \
  2>/dev/null | grep '^|'
