#!/usr/bin/env bash
# Balance benchmark: withdrawals per second and p50/p99 latency of POST /balance/update, all from one
# user (one hot row), with 64 and 256 concurrent clients against 1 instance (and 256 against 3),
# side by side in one run with pgbench sending the single-statement equivalents straight to the
# same PostgreSQL: the bare conditional UPDATE (what a withdrawal was before the ledger) and the
# UPDATE with its ledger row. Everything on 127.0.0.1, bounded in time; every process started here
# is stopped on exit.
#
#   bench/balance.sh                      # about 7 minutes
#   DURATION=10 HTTP_CLIENTS="256" PG_CLIENTS="20" bench/balance.sh
#
# Settings (environment): DURATION seconds per measurement (15), WARMUP seconds before each HTTP
# measurement (10), WARMUP_FIRST before an instance's first one (40: the JIT needs it), PG_WARMUP before
# each pgbench one (5), HTTP_CLIENTS ("64 256"),
# PG_CLIENTS ("8 20 64 256"), JAR (starpets-service/target/starpets-service-*.jar, built if missing), BUILD_DIR (target); the
# instances take the app's own settings from the environment as usual (e.g. DB_POOL_SIZE,
# BALANCE_BATCH_SIZE).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-10}
WARMUP_FIRST=${WARMUP_FIRST:-40}
PG_WARMUP=${PG_WARMUP:-5}
HTTP_CLIENTS=${HTTP_CLIENTS:-"64 256"}
PG_CLIENTS=${PG_CLIENTS:-"8 20 64 256"}
BUILD_DIR=${BUILD_DIR:-target}
HERE=bench/balance
export BENCH_DIR=$PWD/$HERE

die() { echo "balance.sh: $*" >&2; exit 1; }
for tool in wrk pgbench psql curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install wrk postgresql-client curl python3)"
done

# --- A JDK 21+, and the process helpers -------------------------------------------------------
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
JAVA=$(starpets_java)

# --- The jar -------------------------------------------------------------------------------
JAR=$(starpets_bench_jar "$BUILD_DIR" gg/starpets/balance/ChangeBatcher)

# --- Tokens: the balance API needs a balance client's, /metrics a viewer's (docs/security.md) ---
BALANCE_TOKEN=bench-balance-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
VIEWER_TOKEN=bench-viewer-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
export STARPETS_BALANCE_TOKENS="bench:$BALANCE_TOKEN" STARPETS_VIEWER_TOKENS="bench-metrics:$VIEWER_TOKEN"
export STARPETS_OPERATOR_TOKENS=""
# The wrk scripts send it (withdraw.lua).
export BENCH_TOKEN=$BALANCE_TOKEN

# --- Processes, and their cleanup ----------------------------------------------------------
TMP=$(mktemp -d -t starpets-bench.XXXXXX)
PIDS=()
cleanup() {
  set +e
  # Instances 3, 2, then 1: the first one owns the embedded PostgreSQL and stops it on its way out.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    starpets_stop "${PIDS[i]}"
  done
  # If instance 1 had to be killed, its PostgreSQL is still up: stop that too.
  starpets_stop_postgres "$TMP/pg"
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
# StarPets' tables are in its schema (DB_SCHEMA, default starpets): psql and pgbench find them unqualified.
export PGOPTIONS="-c search_path=starpets"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d starpets -qAtX -v ON_ERROR_STOP=1)
top_up() { # a huge balance, so that every withdrawal of the run succeeds
  curl -fs -H 'Content-Type: application/json' -H "Authorization: Bearer $BALANCE_TOKEN" \
    -d '{"userId":1,"amount":1000000000}' "http://127.0.0.1:${PORTS[0]}/balance/update" >/dev/null
}
# Batches applied so far by the instances on these ports: "statements changes".
batches() {
  local port n=0 sum=0 line
  for port in "$@"; do
    line=$(curl -fs -H "Authorization: Bearer $VIEWER_TOKEN" "http://127.0.0.1:$port/metrics" | awk '
      /^starpets_balance_batch_size_count/ {c+=$NF} /^starpets_balance_batch_size_sum/ {s+=$NF}
      END {printf "%d %d", c, s}')
    n=$((n + ${line% *})); sum=$((sum + ${line#* }))
  done
  echo "$n $sum"
}

declare -A RPS P50 P99 BAD BATCH OTHERS WARMED

# The machine is shared: each measurement also says how much CPU other processes took meanwhile
# (all busy time, less the instances, their PostgreSQL and the load generator), in cores.
HZ=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
proc_ticks() { # proc_ticks pid [with-children]: its CPU ticks (and its reaped children's)
  [ -r "/proc/$1/stat" ] || { echo 0; return; }
  sed 's/^.*) //' "/proc/$1/stat" | awk -v c="${2:-}" '{print $12 + $13 + (c ? $14 + $15 : 0)}'
}
ours_ticks() { # the instances, PostgreSQL's postmaster, its live backends and (through it) the ended ones
  local t=0 p pm
  for p in "${PIDS[@]}"; do t=$((t + $(proc_ticks "$p"))); done
  pm=$(head -1 "$TMP/pg/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pm" ]; then
    t=$((t + $(proc_ticks "$pm" children)))
    for p in $(pgrep -P "$pm" || true); do t=$((t + $(proc_ticks "$p"))); done
  fi
  echo "$t"
}
# measure label command...: runs the load generator, keeps its output in $TMP/out, notes OTHERS[label].
measure() {
  local label=$1; shift
  local o0 b0 s0 o1 b1 s1 gen
  o0=$(ours_ticks); b0=$(busy_ticks); s0=$(date +%s.%N)
  { TIMEFORMAT='%U %S'; time "$@" >"$TMP/out" 2>&1; } 2>"$TMP/gen.time"
  o1=$(ours_ticks); b1=$(busy_ticks); s1=$(date +%s.%N)
  gen=$(awk -v hz="$HZ" '{print int(($1 + $2) * hz)}' "$TMP/gen.time")
  OTHERS[$label]=$(awk -v b=$((b1 - b0)) -v o=$((o1 - o0)) -v g="$gen" -v s0="$s0" -v s1="$s1" -v hz="$HZ" \
    'BEGIN {x = (b - o - g) / hz / (s1 - s0); printf "%.2f", (x < 0 ? 0 : x)}')
}

run_wrk() { # run_wrk label clients script ports...
  local label=$1 clients=$2 script=$3; shift 3
  local threads=$#
  [ "$threads" -lt 2 ] && threads=2
  local conns=$(((clients / threads) * threads))
  top_up
  # An instance's first measurement gets a longer warm-up: its JIT needs about half a minute of this load
  # before the CPU a request takes settles (60 us after 10 s, 43 us after 40 s, measured).
  local warmup=$WARMUP port
  for port in "$@"; do
    [ -n "${WARMED[$port]:-}" ] || warmup=$WARMUP_FIRST
    WARMED[$port]=1
  done
  BENCH_PORTS="$*" timeout $((warmup + 30)) wrk -t"$threads" -c"$conns" -d"${warmup}s" -s "$HERE/$script" \
    "http://127.0.0.1:$1/balance/update" >/dev/null
  local before after out
  before=$(batches "$@")
  measure "$label" env BENCH_PORTS="$*" timeout $((DURATION + 30)) wrk -t"$threads" -c"$conns" -d"${DURATION}s" \
    --timeout 10s -s "$HERE/$script" "http://127.0.0.1:$1/balance/update"
  out=$(grep '^RESULT' "$TMP/out")
  after=$(batches "$@")
  read -r _ rps p50 p99 status sock <<<"$out"
  RPS[$label]=$rps; P50[$label]=$p50; P99[$label]=$p99; BAD[$label]="$status non-2xx, $sock socket errors"
  BATCH[$label]=$(awk -v b="$before" -v a="$after" 'BEGIN {split(b, x, " "); split(a, y, " ");
    n = y[1] - x[1]; printf "%.1f", (n > 0 ? (y[2] - x[2]) / n : 0)}')
  echo "   $label: $rps req/s, p50 $p50 ms, p99 $p99 ms, ${BAD[$label]} ($conns connections," \
    "${BATCH[$label]} changes per statement, other processes ${OTHERS[$label]} cores)"
}

run_pgbench() { # run_pgbench label clients script
  local label=$1 clients=$2 script=$3
  "${PSQL[@]}" -c "update users set balance = 1000000000 where id = 1"
  timeout $((PG_WARMUP + 30)) pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared -c "$clients" -j 2 \
    -T "$PG_WARMUP" -f "$HERE/$script" starpets >/dev/null 2>&1
  rm -f "$TMP"/pgbench_log*
  local out
  measure "$label" env -C "$TMP" timeout $((DURATION + 60)) pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -n \
    -M prepared -c "$clients" -j 2 -T "$DURATION" -l --log-prefix=pgbench_log -f "$PWD/$HERE/$script" starpets
  out=$(cat "$TMP/out")
  local tps; tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
  # Per-transaction log: column 3 is the latency in microseconds.
  read -r p50 p99 < <(cat "$TMP"/pgbench_log* | awk '{print $3}' | sort -n | awk '
    {v[NR]=$1} END {printf "%.2f %.2f\n", v[int(NR*0.50)]/1000, v[int(NR*0.99)]/1000}')
  RPS[$label]=$(printf '%.1f' "$tps"); P50[$label]=$p50; P99[$label]=$p99; BATCH[$label]=1
  BAD[$label]="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out") failed"
  echo "   $label: ${RPS[$label]} tps, p50 $p50 ms, p99 $p99 ms, ${BAD[$label]}, other processes ${OTHERS[$label]} cores"
}

# --- 1. Instance 1 with the embedded PostgreSQL; the ceilings first, while only one pool is open ---
start_copy 1 EMBEDDED_DB_DIR="$TMP/pg" EMBEDDED_DB_PORT="$PG_PORT" DB_HOST=
echo "== PostgreSQL $("${PSQL[@]}" -c 'show server_version') on port $PG_PORT:" \
  "fsync=$("${PSQL[@]}" -c 'show fsync') synchronous_commit=$("${PSQL[@]}" -c 'show synchronous_commit')" \
  "max_connections=$("${PSQL[@]}" -c 'show max_connections')"
echo "== pgbench, one statement per withdrawal, on the same PostgreSQL (${DURATION}s each)"
for c in $PG_CLIENTS; do run_pgbench "update/$c" "$c" withdraw.sql; done
for c in $PG_CLIENTS; do run_pgbench "ledger/$c" "$c" withdraw-ledger.sql; done

# The HTTP runs are checked against the ledger: from here on, every change goes through the service.
"${PSQL[@]}" -c "update users set balance = 0 where id = 1"
START_ID=$("${PSQL[@]}" -c "select coalesce(max(id), 0) from balance_changes")

echo "== HTTP, 1 instance (${DURATION}s each, after ${WARMUP}s warm-up, ${WARMUP_FIRST}s for a fresh copy)"
for c in $HTTP_CLIENTS; do run_wrk "1x/$c" "$c" withdraw.lua "${PORTS[0]}"; done
run_wrk "1x/256 keyed" 256 withdraw-keyed.lua "${PORTS[0]}"

# --- 2. Instances 2 and 3 on the same PostgreSQL ----------------------------------------------
start_copy 2 DB_HOST=127.0.0.1 DB_PORT="$PG_PORT"
start_copy 3 DB_HOST=127.0.0.1 DB_PORT="$PG_PORT"
echo "== HTTP, 3 instances"
run_wrk "3x/256" 256 withdraw.lua "${PORTS[@]}"

final=$("${PSQL[@]}" -c "select balance from users where id = 1")
check=$("${PSQL[@]}" -c "select count(*) || ' rows, sum ' || coalesce(sum(amount), 0) || ', ' ||
  case when coalesce(sum(amount), 0) = $final then 'balance = ledger' else 'BALANCE <> LEDGER' end
  from balance_changes where user_id = 1 and id > $START_ID")
[[ $check == *"balance = ledger"* ]] || die "the ledger does not add up to the balance: $check (balance $final)"
keys=$("${PSQL[@]}" -c "select count(*) from balance_idempotency_keys")

# --- 3. The table ----------------------------------------------------------------------------
best() { # best prefix: the highest pgbench rate among labels prefix/*
  local label top="" topv=0
  for label in "${!RPS[@]}"; do
    [[ $label == "$1"/* ]] || continue
    awk -v a="${RPS[$label]}" -v b="$topv" 'BEGIN {exit !(a > b)}' && { top=$label; topv=${RPS[$label]}; }
  done
  echo "$top"
}
BEST_UPDATE=$(best update)
BEST_LEDGER=$(best ledger)
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GB; $("$JAVA" -version 2>&1 | head -1);" \
  "DURATION=${DURATION}s WARMUP=${WARMUP}s WARMUP_FIRST=${WARMUP_FIRST}s DB_POOL_SIZE=${DB_POOL_SIZE:-20} BALANCE_BATCH_SIZE=${BALANCE_BATCH_SIZE:-500}"
echo "HTTP runs: balance of user 1 went from 0 to $final; ledger since: $check; idempotency keys stored: $keys"
echo "pgbench best: $BEST_UPDATE (${RPS[$BEST_UPDATE]}/s), $BEST_LEDGER (${RPS[$BEST_LEDGER]}/s)"
row() { # row label
  local vs_update vs_ledger
  vs_update=$(awk -v h="${RPS[$1]}" -v p="${RPS[$BEST_UPDATE]}" 'BEGIN {printf "%.0f%%", 100 * h / p}')
  vs_ledger=$(awk -v h="${RPS[$1]}" -v p="${RPS[$BEST_LEDGER]}" 'BEGIN {printf "%.0f%%", 100 * h / p}')
  printf '| %-15s | %13.0f | %8s | %8s | %9s | %12s | %12s | %6s | %-26s |\n' "$1" "${RPS[$1]}" "${P50[$1]}" \
    "${P99[$1]}" "${BATCH[$1]}" "$vs_update" "$vs_ledger" "${OTHERS[$1]}" "${BAD[$1]}"
}
printf '| %-15s | %13s | %8s | %8s | %9s | %12s | %12s | %6s | %-26s |\n' "run" "withdrawals/s" "p50 ms" "p99 ms" \
  "per stmt" "/ best upd." "/ best ledg." "others" errors
echo "|-----------------|--------------:|---------:|---------:|----------:|-------------:|-------------:|-------:|----------------------------|"
for c in $PG_CLIENTS; do row "update/$c"; done
for c in $PG_CLIENTS; do row "ledger/$c"; done
for c in $HTTP_CLIENTS; do row "1x/$c"; done
row "1x/256 keyed"
row "3x/256"
