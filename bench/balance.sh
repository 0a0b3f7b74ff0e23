#!/usr/bin/env bash
# Balance benchmark: withdrawals per second and p50/p99 latency of POST /balance/update with 64 and
# 256 concurrent clients against 1 and 3 instances of the packaged jar, next to pgbench running the
# same UPDATE directly on the same PostgreSQL (the ceiling). Everything on 127.0.0.1, bounded in
# time; every process started here is stopped on exit.
#
#   bench/balance.sh                      # about 3.5 minutes
#
# pgbench runs with the same client counts as wrk, and also with as many clients as one copy has
# pooled connections: the second ratio compares like with like (20 backends on the hot row).
#   DURATION=10 CLIENTS="64" bench/balance.sh
#
# Settings (environment): DURATION seconds per measurement (15), WARMUP seconds (10), CLIENTS ("64 256"),
# JAR (target/starpets-*.jar, built if missing), BUILD_DIR (target); the instances take the app's own
# settings from the environment as usual (e.g. DB_POOL_SIZE, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-10}
CLIENTS=${CLIENTS:-"64 256"}
# Each copy's connection pool (the app's DB_POOL_SIZE); pgbench also runs with this many clients.
POOL=${DB_POOL_SIZE:-20}
BUILD_DIR=${BUILD_DIR:-target}
HERE=bench/balance

die() { echo "balance.sh: $*" >&2; exit 1; }
for tool in wrk pgbench psql curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install wrk postgresql-client curl python3)"
done

# --- A JDK 21+ -----------------------------------------------------------------------------
JAVA=${JAVA:-java}
major() { "$1" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'; }
if ! command -v "$JAVA" >/dev/null || [ "$(major "$JAVA")" -lt 21 ]; then
  JAVA=$(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | while read -r j; do
    [ "$(major "$j")" -ge 21 ] && echo "$j"; done | sort -V | tail -1)
  [ -n "$JAVA" ] || die "no JDK 21+ found (set JAVA=/path/to/java)"
fi

# --- The jar -------------------------------------------------------------------------------
JAR=${JAR:-$(ls "$BUILD_DIR"/starpets-*.jar 2>/dev/null | head -1 || true)}
if [ -z "$JAR" ] || ! unzip -l "$JAR" 2>/dev/null | grep 'gg/starpets/balance/BalanceController' >/dev/null; then
  echo "== building the jar into $BUILD_DIR"
  ./mvnw -q -B -Dbuild.dir="$BUILD_DIR" -DskipTests package
  JAR=$(ls "$BUILD_DIR"/starpets-*.jar | head -1)
fi

# --- Processes, and their cleanup ----------------------------------------------------------
TMP=$(mktemp -d -t starpets-bench.XXXXXX)
PIDS=()
cleanup() {
  set +e
  # Copies 3, 2, then 1: the first one owns the embedded PostgreSQL and stops it on its way out.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null
    timeout 40 tail --pid="${PIDS[i]}" -f /dev/null 2>/dev/null || kill -KILL "${PIDS[i]}" 2>/dev/null
  done
  # If copy 1 had to be killed, its PostgreSQL is still up: stop that too (its pid is in its data dir).
  if [ -f "$TMP/pg/postmaster.pid" ]; then
    pg=$(head -1 "$TMP/pg/postmaster.pid")
    kill -INT "$pg" 2>/dev/null && timeout 20 tail --pid="$pg" -f /dev/null 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port)
PORTS=()

start_copy() { # start_copy N [extra env...]
  local n=$1; shift
  local port; port=$(free_port)
  env "$@" PORT="$port" INSTANCE_ID="bench-$n" SCHEDULER_ENABLED=false \
    "$JAVA" -Xmx768m -jar "$JAR" >"$TMP/app-$n.log" 2>&1 &
  PIDS+=($!)
  PORTS+=("$port")
  local deadline=$((SECONDS + 120))
  until curl -fs "http://127.0.0.1:$port/health" >/dev/null; do
    kill -0 "${PIDS[-1]}" 2>/dev/null || { tail -30 "$TMP/app-$n.log"; die "copy $n exited"; }
    [ $SECONDS -lt $deadline ] || die "copy $n not healthy after 120 s"
    sleep 0.5
  done
  echo "== copy $n up on port $port"
}

export PGPASSWORD=postgres
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d starpets -qAtX -v ON_ERROR_STOP=1)
top_up() { # a huge balance, so that every withdrawal of the run succeeds
  curl -fs -H 'Content-Type: application/json' -d '{"userId":1,"amount":1000000000}' \
    "http://127.0.0.1:${PORTS[0]}/balance/update" >/dev/null
}

declare -A RPS P50 P99 BAD

run_wrk() { # run_wrk label clients ports...
  local label=$1 clients=$2; shift 2
  local threads=$#
  [ "$threads" -lt 2 ] && threads=2
  local conns=$(((clients / threads) * threads))
  top_up
  BENCH_PORTS="$*" timeout $((WARMUP + 30)) wrk -t"$threads" -c"$conns" -d"${WARMUP}s" -s "$HERE/withdraw.lua" \
    "http://127.0.0.1:$1/balance/update" >/dev/null
  local out
  out=$(BENCH_PORTS="$*" timeout $((DURATION + 30)) wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 10s \
    -s "$HERE/withdraw.lua" "http://127.0.0.1:$1/balance/update" | grep '^RESULT')
  read -r _ rps p50 p99 status sock <<<"$out"
  RPS[$label]=$rps; P50[$label]=$p50; P99[$label]=$p99; BAD[$label]="$status non-2xx, $sock socket errors"
  echo "   $label: $rps req/s, p50 $p50 ms, p99 $p99 ms, ${BAD[$label]} ($conns connections)"
}

run_pgbench() { # run_pgbench label clients
  local label=$1 clients=$2
  "${PSQL[@]}" -c "update users set balance = 1000000000 where id = 1"
  timeout $((WARMUP + 30)) pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared -c "$clients" -j 2 \
    -T "$WARMUP" -f "$HERE/withdraw.sql" starpets >/dev/null 2>&1
  rm -f "$TMP"/pgbench_log*
  local out
  out=$(cd "$TMP" && timeout $((DURATION + 60)) pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared \
    -c "$clients" -j 2 -T "$DURATION" -l --log-prefix=pgbench_log -f "$OLDPWD/$HERE/withdraw.sql" starpets 2>&1)
  local tps; tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
  # Per-transaction log: column 3 is the latency in microseconds.
  read -r p50 p99 < <(cat "$TMP"/pgbench_log* | awk '{print $3}' | sort -n | awk '
    {v[NR]=$1} END {printf "%.2f %.2f\n", v[int(NR*0.50)]/1000, v[int(NR*0.99)]/1000}')
  RPS[$label]=$tps; P50[$label]=$p50; P99[$label]=$p99
  BAD[$label]="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out") failed"
  tps=$(printf '%.1f' "$tps")
  RPS[$label]=$tps
  echo "   $label: $tps tps, p50 $p50 ms, p99 $p99 ms, ${BAD[$label]}"
}

# --- 1. Copy 1 with the embedded PostgreSQL; the ceiling first, while only one pool is open ---
start_copy 1 EMBEDDED_DB_DIR="$TMP/pg" EMBEDDED_DB_PORT="$PG_PORT" DB_HOST=
echo "== PostgreSQL $("${PSQL[@]}" -c 'show server_version') on port $PG_PORT:" \
  "fsync=$("${PSQL[@]}" -c 'show fsync') synchronous_commit=$("${PSQL[@]}" -c 'show synchronous_commit')" \
  "max_connections=$("${PSQL[@]}" -c 'show max_connections')"
echo "== pgbench, the same statement on the same PostgreSQL (${DURATION}s each)"
for c in $POOL $CLIENTS; do run_pgbench "pgbench/$c" "$c"; done

echo "== HTTP, 1 instance (${DURATION}s each, after ${WARMUP}s warm-up)"
for c in $CLIENTS; do run_wrk "1x/$c" "$c" "${PORTS[0]}"; done

# --- 2. Copies 2 and 3 on the same PostgreSQL ----------------------------------------------
start_copy 2 DB_HOST=127.0.0.1 DB_PORT="$PG_PORT"
start_copy 3 DB_HOST=127.0.0.1 DB_PORT="$PG_PORT"
echo "== HTTP, 3 instances"
for c in $CLIENTS; do run_wrk "3x/$c" "$c" "${PORTS[@]}"; done

final=$("${PSQL[@]}" -c "select balance from users where id = 1")
[ "$(echo "$final >= 0" | bc 2>/dev/null || echo 1)" = 1 ] || die "negative balance: $final"

# --- 3. The table ----------------------------------------------------------------------------
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GB; $("$JAVA" -version 2>&1 | head -1);" \
  "DURATION=${DURATION}s WARMUP=${WARMUP}s DB_POOL_SIZE=${POOL}; final balance of user 1: $final"
row() { # row clients who label
  local ratio ratio_pool
  ratio=$(awk -v h="${RPS[$3]}" -v p="${RPS[pgbench/$1]}" 'BEGIN {printf "%.0f%%", 100 * h / p}')
  ratio_pool=$(awk -v h="${RPS[$3]}" -v p="${RPS[pgbench/$POOL]}" 'BEGIN {printf "%.0f%%", 100 * h / p}')
  printf '| %7s | %-13s | %13.0f | %8s | %8s | %18s | %19s | %-26s |\n' "$1" "$2" "${RPS[$3]}" \
    "${P50[$3]}" "${P99[$3]}" "$ratio" "$ratio_pool" "${BAD[$3]}"
}
printf '| %7s | %-13s | %13s | %8s | %8s | %18s | %19s | %-26s |\n' clients "served by" "withdrawals/s" \
  "p50 ms" "p99 ms" "HTTP/pgbench same c" "HTTP/pgbench c=$POOL" errors
echo "|--------:|---------------|--------------:|---------:|---------:|-------------------:|--------------------:|----------------------------|"
row "$POOL" "pgbench" "pgbench/$POOL"
for c in $CLIENTS; do
  row "$c" "pgbench" "pgbench/$c"
  row "$c" "HTTP, 1 copy" "1x/$c"
  row "$c" "HTTP, 3 copies" "3x/$c"
done
