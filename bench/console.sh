#!/usr/bin/env bash
# The console's benchmark (issue 13): time to a usable board with 1,000 tasks in headless Chromium,
# bytes per live update, polling against a stream of changes, API latency. Prints one markdown
# table; results and analysis in docs/benchmarks-console.md. Needs chromium and chromium-driver.
#   bench/console.sh [tasks=1000] [page loads=10] [seconds of live updates=30]
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

echo "| benchmark | p50 | p99 | target | | notes |"
echo "|---|---|---|---|---|---|"
"$java" -Xmx1g -Dstarpets.jar="$jar" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dlogback.configurationFile=/dev/null -cp "$cp" gg.starpets.bench.ConsoleBenchmark "$@" 2>/dev/null | grep '^|'
