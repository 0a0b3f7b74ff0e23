#!/usr/bin/env bash
# The chaos suite's exec witness (docs/benchmarks-chaos.md): a real program, run by the `exec` handler,
# that writes down every step it takes in a file of its own, outside the JVM that started it, for as
# long as it is given, whatever that JVM does (frozen, killed). One line per step, each written with one
# unbuffered write(2) (a SIGKILL loses nothing already written); the time is the machine's clock in µs,
# as for every other witness. It asks nobody before a step: only being stopped stops it.
#   chaos-exec-witness.sh <dir> <duration ms> <step ms>
# Line: <µs> step|end <task> <run id> <fence> <pid> <instance> <outcome> exec <JVM pid> x:<run id>:<pid>
# Ends with `end done` after its duration, `end terminated|interrupted|hangup` on SIGTERM|SIGINT|SIGHUP.
set -u
export LC_ALL=C # a '.' in EPOCHREALTIME
dir=$1
duration_us=$(($2 * 1000))
step_s=$(printf '%d.%03d' $(($3 / 1000)) $(($3 % 1000)))
task=${STARPETS_TASK:?run by the exec handler}
run=${STARPETS_RUN_ID:?}
fence=${STARPETS_FENCE:?}
pid=$$

# The JVM that started it: the nearest ancestor whose command line names an instance (a supervisor
# process may sit in between). Read once, now: an orphan's parent changes.
host=0
instance=-
p=$PPID
for _ in 1 2 3 4 5 6; do
  [ -r "/proc/$p/cmdline" ] || break
  mapfile -d '' args <"/proc/$p/cmdline" 2>/dev/null || break
  for a in "${args[@]}"; do
    if [[ $a == --starpets.instance-id=* ]]; then
      host=$p
      instance=${a#--starpets.instance-id=}
      break 2
    fi
  done
  read -r stat <"/proc/$p/stat" || break
  stat=${stat##*) } # after the command name, which may hold spaces: state, then the parent's pid
  read -r _ p _ <<<"$stat"
done

exec 3>>"$dir/witness-exec-$task-$run-$pid.log"
line() { # event, outcome
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\texec\t%s\tx:%s:%s\n' "${EPOCHREALTIME/./}" "$1" "$task" "$run" "$fence" \
    "$pid" "$instance" "$2" "$host" "$run" "$pid" >&3
}
trap 'line end terminated; exit 143' TERM
trap 'line end interrupted; exit 130' INT
trap 'line end hangup; exit 129' HUP

# Sleeps without a child process: a read with a timeout on a pipe nobody writes to (a trapped signal ends it).
exec {pause}<> <(:)
start=${EPOCHREALTIME/./}
while ((${EPOCHREALTIME/./} - start < duration_us)); do
  line step ""
  read -r -t "$step_s" -u "$pause" _ || true
done
line end done
