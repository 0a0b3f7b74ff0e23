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

# The service's module: its jar, classes and test classes are under starpets-service/<build directory>
# (target, or the -Dbuild.dir a script builds into: each module gets a directory of that name).
STARPETS_SERVICE_MODULE=starpets-service

# The service jar built into build directory $1 (a name, e.g. target), if there is one.
starpets_built_jar() {
  ls "${2:-.}/$STARPETS_SERVICE_MODULE/$1"/starpets-service-*.jar 2>/dev/null | head -n 1 || true
}

# The service jar: $STARPETS_JAR, else starpets-service/target/starpets-service-*.jar, built if missing.
starpets_jar() {
  local root=$1 jar
  if [ -n "${STARPETS_JAR:-}" ]; then
    echo "$STARPETS_JAR"
    return 0
  fi
  jar=$(starpets_built_jar target "$root")
  if [ -z "$jar" ]; then
    (cd "$root" && ./mvnw -B -q -DskipTests package >&2)
    jar=$(starpets_built_jar target "$root")
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

# A benchmark's jar: $JAR, else the one in build directory $1 if it holds entry $2 (built from this
# checkout), else built into $1 now.
starpets_bench_jar() {
  local build_dir=$1 entry=$2 jar=${JAR:-}
  [ -n "$jar" ] || jar=$(starpets_built_jar "$build_dir")
  if [ -z "$jar" ] || ! unzip -l "$jar" 2>/dev/null | grep "$entry" >/dev/null; then
    echo "== building the jar into $build_dir" >&2
    ./mvnw -q -B -Dbuild.dir="$build_dir" -DskipTests package >&2
    jar=$(starpets_built_jar "$build_dir")
  fi
  echo "$jar"
}

# Packages the jar (and compiles the test classes) into build directory $1 unless $1 already holds a
# jar newer than everything it is built from (the modules' sources and poms, .mvn/): CI's checks run
# after `./mvnw verify` has just built it, and a package that changes nothing costs about 15 s.
starpets_package() {
  local build_dir=$1 jar
  jar=$(starpets_built_jar "$build_dir")
  if [ -n "$jar" ] && [ -d "$STARPETS_SERVICE_MODULE/$build_dir/test-classes" ] \
    && [ -z "$(find starpets-*/src starpets-*/pom.xml pom.xml .mvn -newer "$jar" -print -quit 2>/dev/null)" ]; then
    echo "-- $jar is newer than every source: not packaged again" >&2
    return 0
  fi
  ./mvnw -B -q -Dbuild.dir="$build_dir" -DskipTests package
}

# The classpath of a benchmark run from build directory $1: the service's test and main classes and
# every test dependency, the other modules' as their build directories (asked of Maven once, again
# only when a pom changes).
starpets_test_classpath() {
  local build_dir=$1 out="$PWD/$STARPETS_SERVICE_MODULE/$1"
  if [ ! -s "$out/bench.classpath" ] || [ -n "$(find pom.xml starpets-*/pom.xml -newer "$out/bench.classpath" -print -quit)" ]; then
    # test-compile in the same run: the reactor then gives the other modules' build directories.
    ./mvnw -B -q -Dbuild.dir="$build_dir" -pl "$STARPETS_SERVICE_MODULE" -am test-compile dependency:build-classpath \
      -Dmdep.includeScope=test -Dmdep.outputFile="$out/bench.classpath" >/dev/null
  fi
  echo "$out/test-classes:$out/classes:$(cat "$out/bench.classpath")"
}
