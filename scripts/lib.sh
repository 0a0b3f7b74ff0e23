# Sourced by the scripts here: finds a JDK 21+ and the packaged jar.
# shellcheck shell=bash

# A java of version 21 or newer: $JAVA, else `java` on the PATH, else the newest under /usr/lib/jvm.
starpets_java() {
  local candidate version
  for candidate in "${JAVA:-}" "$(command -v java 2>/dev/null || true)" $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV); do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version=$("$candidate" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ "${version%%.*}" -ge 21 ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "no JDK 21 or newer found (set JAVA)" >&2
  return 1
}

# The service jar: $STARPETS_JAR, else target/starpets-*.jar, built if missing.
starpets_jar() {
  local root=$1 jar
  if [ -n "${STARPETS_JAR:-}" ]; then
    echo "$STARPETS_JAR"
    return 0
  fi
  jar=$(ls "$root"/target/starpets-*.jar 2>/dev/null | head -n 1 || true)
  if [ -z "$jar" ]; then
    (cd "$root" && ./mvnw -B -q -DskipTests package >&2)
    jar=$(ls "$root"/target/starpets-*.jar | head -n 1)
  fi
  echo "$jar"
}

# Waits until a command succeeds, at most $1 seconds.
starpets_wait() {
  local limit=$1 start
  shift
  start=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    if [ $(($(date +%s) - start)) -ge "$limit" ]; then
      return 1
    fi
    sleep 0.2
  done
}

# Stops a process: SIGTERM, then SIGKILL if it is still there after $2 seconds (40).
starpets_stop() {
  local pid=$1 grace=${2:-40}
  kill -TERM "$pid" 2>/dev/null || return 0
  timeout "$grace" tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null
}

# Stops the PostgreSQL of data directory $1 if it still runs (its instance was killed before stopping it).
starpets_stop_postgres() {
  local pid
  [ -f "$1/postmaster.pid" ] || return 0
  pid=$(head -1 "$1/postmaster.pid")
  kill -INT "$pid" 2>/dev/null && timeout 20 tail --pid="$pid" -f /dev/null 2>/dev/null
  return 0
}

# A benchmark's jar: $JAR, else $1/starpets-*.jar if it holds entry $2 (built from this checkout),
# else built into $1 now.
starpets_bench_jar() {
  local build_dir=$1 entry=$2 jar=${JAR:-}
  [ -n "$jar" ] || jar=$(ls "$build_dir"/starpets-*.jar 2>/dev/null | head -1 || true)
  if [ -z "$jar" ] || ! unzip -l "$jar" 2>/dev/null | grep "$entry" >/dev/null; then
    echo "== building the jar into $build_dir" >&2
    ./mvnw -q -B -Dbuild.dir="$build_dir" -DskipTests package >&2
    jar=$(ls "$build_dir"/starpets-*.jar | head -1)
  fi
  echo "$jar"
}

# Packages the jar (and compiles the test classes) into build directory $1 unless $1 already holds a
# jar newer than everything it is built from (src/, pom.xml, .mvn/): CI's checks run after
# `./mvnw verify` has just built it, and a package that changes nothing costs about 15 s.
starpets_package() {
  local build_dir=$1 jar
  jar=$(ls "$build_dir"/starpets-*.jar 2>/dev/null | head -n 1 || true)
  if [ -n "$jar" ] && [ -d "$build_dir/test-classes" ] \
    && [ -z "$(find src pom.xml .mvn -newer "$jar" -print -quit 2>/dev/null)" ]; then
    echo "-- $jar is newer than every source: not packaged again" >&2
    return 0
  fi
  ./mvnw -B -q -Dbuild.dir="$build_dir" -DskipTests package
}

# The classpath of a benchmark run from build directory $1: its test and main classes and every test
# dependency (asked of Maven once, again only when the pom changes).
starpets_test_classpath() {
  local build_dir=$1
  if [ ! -s "$build_dir/bench.classpath" ] || [ pom.xml -nt "$build_dir/bench.classpath" ]; then
    ./mvnw -B -q -Dbuild.dir="$build_dir" dependency:build-classpath -Dmdep.includeScope=test \
      -Dmdep.outputFile="$build_dir/bench.classpath" >/dev/null
  fi
  echo "$build_dir/test-classes:$build_dir/classes:$(cat "$build_dir/bench.classpath")"
}
