#!/usr/bin/env bash
# The chaos suite (issues 10, 18): instances of the packaged jar run tasks of every built-in handler kind,
# each witnessed from real execution outside the JVMs under test (the in-JVM witness handler's lines, an
# exec program's own lines: bench/chaos-exec-witness.sh, sql statements in pg_stat_activity and the rows
# only committed work writes) while SIGKILL, SIGSTOP/SIGCONT, pg_terminate_backend, PostgreSQL fast
# restarts, crash-restarts and standby promotions, connection cuts and SIGTERM are injected in a loop.
# Prints, per fault kind (and per fault and handler kind), a markdown table, then each target with PASS
# or FAIL.
#   bench/chaos.sh [rounds=3] [instances=3]
# Settings (environment): CHAOS_LEASE (10s: the service's default) and CHAOS_HEARTBEAT (lease/10),
# CHAOS_TASKS (12), CHAOS_HANDLERS (witness,exec,sql), CHAOS_RUN (2 x CHAOS_LONG), CHAOS_STEP (100ms),
# CHAOS_SCHEDULE (1s), CHAOS_SHORT / CHAOS_LONG (lease x 0.5 / x 1.5), CHAOS_SETTLE_LIMIT, CHAOS_KINDS
# (e.g. sigkill,pg-restart), CHAOS_STRICT=1 (exit 1 when a correctness target fails). BUILD_DIR: Maven's
# output directory (target-bench).
# Results and how to read them: docs/benchmarks-chaos.md. Several JVMs: run it alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
build=${BUILD_DIR:-target-bench}
java=$(starpets_java)
starpets_package "$build"
cp=$(starpets_test_classpath "$build")
jar=$(starpets_built_jar "$build")
# Progress goes to stderr, the table to stdout.
exec "$java" -Xmx1g -Dstarpets.jar="$jar" -Dchaos.exec-witness="$root/bench/chaos-exec-witness.sh" -cp "$cp" \
  gg.starpets.chaos.ChaosSuite "${1:-3}" "${2:-3}"
