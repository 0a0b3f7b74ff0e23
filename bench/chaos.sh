#!/usr/bin/env bash
# The chaos suite (issue 10): instances of the packaged jar run witness tasks (every step they take is
# written outside the scheduler's tables) while SIGKILL, SIGSTOP/SIGCONT, pg_terminate_backend,
# PostgreSQL fast restarts, connection cuts and SIGTERM are injected in a loop. Prints, per fault
# kind, a markdown table judged from real execution, then each target with PASS or FAIL.
#   bench/chaos.sh [rounds=3] [instances=3]
# Settings (environment): CHAOS_LEASE (10s: the service's default) and CHAOS_HEARTBEAT (lease/10),
# CHAOS_TASKS (12), CHAOS_RUN (4s), CHAOS_STEP (100ms), CHAOS_SCHEDULE (1s), CHAOS_SHORT / CHAOS_LONG
# (lease x 0.5 / x 1.5), CHAOS_SETTLE_LIMIT, CHAOS_KINDS (e.g. sigkill,pg-restart), CHAOS_STRICT=1
# (exit 1 when a correctness target fails). BUILD_DIR: Maven's output directory (target-bench).
# Results and how to read them: docs/benchmarks-chaos.md. Several JVMs: run it alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
build=${BUILD_DIR:-target-bench}
java=$(starpets_java)
./mvnw -B -q -Dbuild.dir="$build" -DskipTests package
./mvnw -B -q -Dbuild.dir="$build" dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$build/bench.classpath" >/dev/null
cp="$build/test-classes:$build/classes:$(cat "$build/bench.classpath")"
jar=$(ls "$build"/starpets-*.jar | head -n 1)
# Progress goes to stderr, the table to stdout.
exec "$java" -Xmx1g -Dstarpets.jar="$jar" -cp "$cp" gg.starpets.chaos.ChaosSuite "${1:-3}" "${2:-3}"
